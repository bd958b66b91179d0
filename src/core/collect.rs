//! Size-conscious replacements for a few std conveniences (a leaf: imports
//! nothing of ours). `BTreeMap`/`BTreeSet`'s `FromIterator` and every
//! `sort_by` instantiate a stable sort per element type (~4 KB of wasm each);
//! these build the same values with code the module already has.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// The map `collect()` builds: a later pair with an equal key wins.
pub fn btree_map<K: Ord, V>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        m.insert(k, v);
    }
    m
}

/// The set `collect()` builds.
pub fn btree_set<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    let mut s = BTreeSet::new();
    for t in items {
        s.insert(t);
    }
    s
}

/// A stable sort, like `v.sort_by(cmp)`: the indices are sorted (one sort
/// instantiation shared by every caller), then the elements moved into place.
pub fn sort_by<T>(v: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    let order = sorted_indices(v.len(), &|a, b| match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => Ordering::Equal,
    });
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(
        order
            .iter()
            .filter_map(|&i| slots.get_mut(i).and_then(Option::take)),
    );
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
        assert_eq!(btree_map(pairs.clone()), pairs.into_iter().collect());
        let items = vec!["x", "a", "x", "m"];
        assert_eq!(btree_set(items.clone()), items.into_iter().collect());
    }
}
