//! Size-conscious replacements for a few std conveniences (a leaf: imports
//! nothing of ours). `BTreeSet`'s `FromIterator` and every `sort_by`
//! instantiate a stable sort per element type (~4 KB of wasm each), and each
//! `BTreeMap<K, V>` its own node code (insert with splits, search, iteration,
//! drop: ~6 KB each); these build the same values with far less code.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::marker::PhantomData;

/// An ordered map kept as one `Vec` of pairs sorted by key, for the small
/// maps of this crate (counters per dimension value, currencies, reasons,
/// roles: tens to hundreds of keys): lookups are a binary search, an insert
/// shifts the pairs after it (O(n): keys inserted out of order cost O(n²),
/// so it is for small maps only), iteration is in key order like
/// `BTreeMap`'s, and serde sees a map (a JSON object), so stored JSON is the
/// same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        self.0.get(i).map(|(_, v)| v)
    }
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        self.0.get_mut(i).map(|(_, v)| v)
    }
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }
    /// Insert or replace; the value replaced, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => self.0.get_mut(i).map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }
    /// `BTreeMap::entry`'s common uses: `.entry(k).or_default()`,
    /// `.or_insert(v)`, `.or_insert_with(f)`.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        Entry { map: self, key }
    }
    /// The value of `key`, inserted from `make` first when absent.
    fn slot(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key, make()));
                i
            }
        };
        // `i` is in bounds: found, or just inserted there.
        &mut self.0[i].1
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }
}

/// A key of a [`SortedMap`] about to be read or inserted.
pub struct Entry<'a, K, V> {
    map: &'a mut SortedMap<K, V>,
    key: K,
}

impl<'a, K: Ord, V> Entry<'a, K, V> {
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        self.map.slot(self.key, make)
    }
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.map.slot(self.key, || value)
    }
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.map.slot(self.key, V::default)
    }
}

impl<K: Ord, V> Extend<(K, V)> for SortedMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }
}

/// Like `BTreeMap`'s: a later pair with an equal key wins (no sort).
impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut m = SortedMap::new();
        m.extend(pairs);
        m
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for SortedMap<K, V> {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// `map[key]`, for tests (panics on a missing key, like `BTreeMap`'s; not
/// compiled into the Worker, so no request path can panic through it).
#[cfg(test)]
impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for SortedMap<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no such key in the map"),
        }
    }
}

impl<K: Serialize, V: Serialize> Serialize for SortedMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for SortedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Pairs<K, V> {
            type Value = SortedMap<K, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut m = SortedMap::new();
                while let Some((k, v)) = a.next_entry()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(Pairs(PhantomData))
    }
}

/// A set: a [`SortedMap`] to nothing (`insert(t, ()).is_none()` = new).
pub type SortedSet<T> = SortedMap<T, ()>;

/// The set `collect()` builds.
pub fn sorted_set<T: Ord>(items: impl IntoIterator<Item = T>) -> SortedSet<T> {
    items.into_iter().map(|t| (t, ())).collect()
}

/// A stable sort, like `v.sort_by(cmp)`: the indices are sorted (one sort
/// instantiation shared by every caller), then the elements swapped into
/// place.
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = sorted_indices(v.len(), &|a, b| match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => Ordering::Equal,
    });
    // `to[j]`: the position the element now at `j` goes to. Each swap puts
    // the element at `i` where it belongs (and brings that place's element,
    // with its destination, to `i`), so every cycle of the permutation ends.
    let mut to = vec![0; order.len()];
    for (k, &j) in order.iter().enumerate() {
        if let Some(slot) = to.get_mut(j) {
            *slot = k;
        }
    }
    for i in 0..to.len() {
        while let Some(&d) = to.get(i) {
            if d == i || d >= v.len() {
                break;
            }
            v.swap(i, d);
            to.swap(i, d);
        }
    }
}

#[inline(never)]
fn sorted_indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| cmp(a, b));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn sort_by_is_stable_and_matches_std() {
        let mut a: Vec<(i32, usize)> = (0..200).map(|i| ((i * 7919) % 13, i as usize)).collect();
        let mut b = a.clone();
        sort_by(&mut a, |x, y| y.0.cmp(&x.0));
        b.sort_by_key(|y| std::cmp::Reverse(y.0));
        assert_eq!(a, b);
        let mut e: Vec<i32> = Vec::new();
        sort_by(&mut e, |x, y| x.cmp(y));
        assert!(e.is_empty());
    }

    #[test]
    fn builders_match_collect() {
        let pairs = vec![("b", 1), ("a", 2), ("b", 3)];
        let std: std::collections::BTreeMap<_, _> = pairs.clone().into_iter().collect();
        let ours: SortedMap<_, _> = pairs.into_iter().collect();
        assert_eq!(
            ours.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            std.into_iter().collect::<Vec<_>>()
        );
        let items = vec!["x", "a", "x", "m"];
        let std: BTreeSet<_> = items.clone().into_iter().collect();
        assert!(sorted_set(items).keys().copied().eq(std));
    }

    /// Random inserts, replacements and lookups agree with `BTreeMap`, and
    /// the JSON is the same object.
    #[test]
    fn sorted_map_matches_btree_map() {
        let mut ours: SortedMap<String, i64> = SortedMap::new();
        let mut std = std::collections::BTreeMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..2000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = format!("k{}", x % 97);
            match x % 3 {
                0 => assert_eq!(ours.insert(k.clone(), i), std.insert(k, i)),
                1 => *ours.entry(k.clone()).or_default() += i,
                _ => {
                    assert_eq!(ours.get(k.as_str()), std.get(k.as_str()));
                    assert_eq!(ours.contains_key(k.as_str()), std.contains_key(k.as_str()));
                    continue;
                }
            }
            if x % 3 == 1 {
                *std.entry(format!("k{}", x % 97)).or_default() += i;
            }
        }
        assert_eq!(ours.len(), std.len());
        assert!(ours.iter().map(|(k, v)| (k.clone(), *v)).eq(std.clone()));
        let json = serde_json::to_string(&ours).unwrap();
        assert_eq!(json, serde_json::to_string(&std).unwrap());
        let back: SortedMap<String, i64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ours);
        assert_eq!(
            ours[std.keys().next().unwrap().as_str()],
            *std.values().next().unwrap()
        );
    }

    /// Like `BTreeMap`'s: keys in any order, a repeated key's later value
    /// wins; `or_insert` and `or_insert_with` keep an existing value.
    #[test]
    fn sorted_map_from_unsorted_json_and_entries() {
        let m: SortedMap<String, i64> = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":2,"b":3}"#);
        let mut m = m;
        assert_eq!(*m.entry("a".into()).or_insert(9), 2);
        assert_eq!(*m.entry("c".into()).or_insert_with(|| 7), 7);
        assert_eq!(*m.entry("c".into()).or_insert_with(|| 8), 7);
        assert_eq!(*m.entry("d".into()).or_default(), 0);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"a":2,"b":3,"c":7,"d":0}"#
        );
    }

    /// `sort_by` on random slices with many ties: the same order as std's
    /// stable sort, at every length from 0 to 300.
    #[test]
    fn sort_by_matches_std_on_random_slices() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for n in 0..300usize {
            let mut a: Vec<(u64, usize)> = (0..n)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 7, i)
                })
                .collect();
            let mut b = a.clone();
            sort_by(&mut a, |p, q| p.0.cmp(&q.0));
            b.sort_by_key(|p| p.0);
            assert_eq!(a, b, "n = {n}");
        }
    }
}
