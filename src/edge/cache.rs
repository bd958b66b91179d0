//! Per-isolate cache for the redirect's reads: a link (joined with its
//! campaign's status) and the rules of a handle. Entries live at most
//! `CACHE_TTL_MS` (default 5 s): a change made through another isolate is
//! visible within that bound; a change made through this isolate clears the
//! cache at once (`invalidate`). Unknown slugs are cached too (negative
//! entries), so a flood of bad links cannot turn into a flood of D1 reads.

use crate::core::classify::{classify_ua, UaClass};
use crate::core::link::TrackingPolicy;
use crate::core::rules::Rule;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What the redirect needs to know about a link.
#[derive(Debug, Clone)]
pub struct LinkEntry {
    pub destination_url: String,
    pub campaign_id: Option<String>,
    /// The campaign's status (`ACTIVE` tracks), None without a campaign.
    pub campaign_status: Option<String>,
    pub policy: TrackingPolicy,
}

const MAX_ENTRIES: usize = 10_000;

type Stamped<T> = (i64, T);

thread_local! {
    static LINKS: RefCell<HashMap<(String, String), Stamped<Option<Rc<LinkEntry>>>>> = RefCell::new(HashMap::new());
    static RULES: RefCell<HashMap<String, Stamped<Rc<Vec<Rule>>>>> = RefCell::new(HashMap::new());
}

pub fn invalidate() {
    LINKS.with(|m| m.borrow_mut().clear());
    RULES.with(|m| m.borrow_mut().clear());
}

fn fresh(stamp: i64, now: i64, ttl: i64) -> bool {
    now - stamp < ttl && now >= stamp
}

/// `Some(entry)` on a fresh hit (entry itself None = known-missing link).
pub fn get_link(handle: &str, slug: &str, now: i64, ttl: i64) -> Option<Option<Rc<LinkEntry>>> {
    LINKS.with(|m| {
        m.borrow()
            .get(&(handle.to_string(), slug.to_string()))
            .filter(|(t, _)| fresh(*t, now, ttl))
            .map(|(_, e)| e.clone())
    })
}

pub fn put_link(handle: &str, slug: &str, now: i64, entry: Option<Rc<LinkEntry>>) {
    LINKS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert((handle.to_string(), slug.to_string()), (now, entry));
    })
}

pub fn get_rules(handle: &str, now: i64, ttl: i64) -> Option<Rc<Vec<Rule>>> {
    RULES.with(|m| {
        m.borrow()
            .get(handle)
            .filter(|(t, _)| fresh(*t, now, ttl))
            .map(|(_, r)| r.clone())
    })
}

pub fn put_rules(handle: &str, now: i64, rules: Rc<Vec<Rule>>) {
    RULES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert(handle.to_string(), (now, rules));
    })
}

thread_local! {
    static UAS: RefCell<HashMap<String, UaClass>> = RefCell::new(HashMap::new());
}

/// UA strings longer than this are classified every time, never kept.
const MAX_UA_KEY: usize = 512;
const MAX_UAS: usize = 1_000;

/// `classify_ua`, memoized per isolate: it is a pure function of the string,
/// and a handful of browser versions make most of the traffic (bounded:
/// 1,000 strings of at most 512 bytes; the memo is dropped when full).
pub fn ua_class(ua: &str) -> UaClass {
    if let Some(c) = UAS.with(|m| m.borrow().get(ua).copied()) {
        return c;
    }
    let c = classify_ua(ua);
    if ua.len() <= MAX_UA_KEY {
        UAS.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MAX_UAS {
                m.clear();
            }
            m.insert(ua.to_string(), c);
        });
    }
    c
}
