//! Per-isolate cache for the redirect's reads: a link (joined with its
//! campaign's status) and the rules of a handle. Entries live at most
//! `CACHE_TTL_MS` (default 5 s): a change made through another isolate is
//! visible within that bound; a change made through this isolate clears the
//! cache at once (`invalidate`). Unknown slugs are cached too (negative
//! entries), so a flood of bad links cannot turn into a flood of D1 reads.
//! Branded hosts (host → claiming handle) are cached the same way, unclaimed
//! hosts too. Concurrent misses for one entry share one D1 read
//! (`core::flight`): a burst of clicks on a link a fresh isolate has not seen
//! is one read of the link and one of the rules. A read that started before
//! a write through this isolate (`invalidate`) stores nothing.

use crate::core::access::PasswordHash;
use crate::core::campaign::Status;
use crate::core::classify::{classify_ua, UaClass};
use crate::core::error::ApiResult;
use crate::core::experiment::Active;
use crate::core::flight::{Flights, Park, Turn, MAX_FLIGHT_MS};
use crate::core::ids::{random_hex, Handle};
use crate::core::link::{TrackingMode, TrackingPolicy};
use crate::core::rules::{sort_rules, Rule};
use crate::core::time::DAY_MS;
use crate::core::unique::Keyer;
use crate::edge::db::{int, text, Db};
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// What the redirect needs to know about a link.
#[derive(Debug, Clone)]
pub struct LinkEntry {
    pub destination_url: String,
    pub campaign_id: Option<String>,
    /// The campaign's status (`ACTIVE` tracks), None without a campaign.
    pub campaign_status: Option<Status>,
    pub policy: TrackingPolicy,
    /// The link's RUNNING experiment, or its latest CONCLUDED one.
    pub experiment: Option<Active>,
    pub expires_at: Option<i64>,
    pub expired_url: Option<String>,
    /// Set: the link is password protected (an unreadable stored hash
    /// keeps it locked: nothing then opens it, which fails closed).
    pub password: Option<Option<PasswordHash>>,
}

impl LinkEntry {
    /// Whether a click on it is recorded: an ACTIVE campaign and a link that
    /// tracks.
    pub fn tracks(&self) -> bool {
        self.campaign_status.is_some_and(Status::is_tracking)
            && self.policy.mode != TrackingMode::Off
    }
}

#[derive(Deserialize)]
struct LinkJoinRow {
    destination_url: String,
    campaign_id: Option<String>,
    mode: String,
    append_context: i64,
    context_param_name: String,
    forward_query: i64,
    campaign_status: Option<String>,
    /// `id \x1f status \x1f variants_json \x1f winner` of the link's experiment.
    experiment: Option<String>,
    expires_at: Option<i64>,
    expired_url: Option<String>,
    password_hash: Option<String>,
}

/// A link as the redirect needs it (None: no such link), from the cache or
/// else D1 (then cached, a missing link too).
/// Concurrent misses for the link share one read (`core::flight`).
pub async fn link(
    db: &Db,
    ttl: i64,
    h: &str,
    slug: &str,
    now: i64,
) -> ApiResult<Option<Rc<LinkEntry>>> {
    if let Some(hit) = get_link(h, slug, now, ttl) {
        return Ok(hit);
    }
    let flights = flights();
    let _lands = match flights.turn(&format!("l {h}/{slug}"), now) {
        Turn::Lead(lands) => Some(lands),
        turn => {
            turn.wait().await;
            if let Some(hit) = get_link(h, slug, now, ttl) {
                return Ok(hit);
            }
            None
        }
    };
    read_link(db, h, slug, now).await
}

/// The link's row from D1, cached (a missing link too).
async fn read_link(db: &Db, h: &str, slug: &str, now: i64) -> ApiResult<Option<Rc<LinkEntry>>> {
    let generation = count_read(0);
    let row = db
        .first::<LinkJoinRow>(
            "SELECT l.destination_url, l.campaign_id, l.mode, l.append_context, l.context_param_name, l.forward_query, \
             l.expires_at, l.expired_url, l.password_hash, c.status AS campaign_status, \
             (SELECT e.experiment_id || char(31) || e.status || char(31) || e.variants_json || char(31) || \
              coalesce(e.winner, '') FROM experiments e WHERE e.handle = l.handle AND e.slug = l.slug \
              AND e.status IN ('RUNNING', 'CONCLUDED') ORDER BY e.status = 'RUNNING' DESC, e.updated_at DESC \
              LIMIT 1) AS experiment \
             FROM links l LEFT JOIN campaigns c \
             ON c.handle = l.handle AND c.campaign_id = l.campaign_id WHERE l.handle = ? AND l.slug = ?",
            &[text(h), text(slug)],
        )
        .await?;
    let entry = row.map(|r| {
        Rc::new(LinkEntry {
            policy: TrackingPolicy {
                mode: TrackingMode::parse(&r.mode).unwrap_or(TrackingMode::Direct),
                append_context_param: r.append_context != 0,
                context_param_name: r.context_param_name,
                forward_query: r.forward_query != 0,
            },
            destination_url: r.destination_url,
            campaign_id: r.campaign_id,
            campaign_status: r.campaign_status.as_deref().and_then(Status::parse),
            experiment: r.experiment.as_deref().and_then(|packed| {
                let mut f = packed.split('\u{1f}');
                let (id, status, variants, winner) = (f.next()?, f.next()?, f.next()?, f.next()?);
                Active::from_stored(id, status, variants, (!winner.is_empty()).then_some(winner))
            }),
            expires_at: r.expires_at,
            expired_url: r.expired_url,
            password: r.password_hash.map(|h| PasswordHash::from_stored(&h)),
        })
    });
    if current(generation) {
        put_link(h, slug, now, entry.clone());
    }
    Ok(entry)
}

#[derive(Deserialize, PartialEq, Eq)]
struct RuleRow {
    rule_id: String,
    enabled: i64,
    priority: i64,
    when_json: String,
    variant_id: String,
    variant_url: String,
}

/// A handle's rules in evaluation order, with the rows they were built from.
/// When the entry is stale and D1 returns the same rows, the rules (their
/// compiled patterns) are kept: patterns are compiled once per isolate and
/// rule set, not every `CACHE_TTL_MS`.
struct RuleSet {
    rows: Vec<RuleRow>,
    rules: Rc<Vec<Rule>>,
}

/// The handle's rules in evaluation order, from the cache or else D1.
/// Concurrent misses for the handle's rules share one read (`core::flight`).
pub async fn rules(db: &Db, ttl: i64, h: &str, now: i64) -> ApiResult<Rc<Vec<Rule>>> {
    if let Some(r) = get_rules(h, now, ttl) {
        return Ok(r);
    }
    let flights = flights();
    let _lands = match flights.turn(&format!("r {h}"), now) {
        Turn::Lead(lands) => Some(lands),
        turn => {
            turn.wait().await;
            if let Some(hit) = get_rules(h, now, ttl) {
                return Ok(hit);
            }
            None
        }
    };
    read_rules(db, h, now).await
}

/// The handle's rules from D1, cached (compiled again only when they changed).
async fn read_rules(db: &Db, h: &str, now: i64) -> ApiResult<Rc<Vec<Rule>>> {
    let generation = count_read(1);
    let rows = db
        .all::<RuleRow>(
            "SELECT rule_id, enabled, priority, when_json, variant_id, variant_url FROM rules \
             WHERE handle = ? ORDER BY rule_id",
            &[text(h)],
        )
        .await?;
    let unchanged = RULES.with(|m| {
        m.borrow()
            .get(h)
            .filter(|(_, set)| set.rows == rows)
            .map(|(_, set)| set.rules.clone())
    });
    let rules = match unchanged {
        Some(rules) => rules,
        None => {
            let mut rules: Vec<Rule> = rows
                .iter()
                .filter_map(|r| {
                    Rule::from_stored(
                        &r.rule_id,
                        r.enabled != 0,
                        r.priority,
                        &r.when_json,
                        &r.variant_id,
                        r.variant_url.clone(),
                    )
                })
                .collect();
            sort_rules(&mut rules);
            Rc::new(rules)
        }
    };
    if current(generation) {
        put_rules(
            h,
            now,
            RuleSet {
                rows,
                rules: rules.clone(),
            },
        );
    }
    Ok(rules)
}

const MAX_ENTRIES: usize = 10_000;

thread_local! {
    /// The cache's D1 reads in flight (links, rules and hosts; keys prefixed).
    static FLIGHTS: Rc<Flights<JsPark>> = Rc::new(Flights::default());
    /// D1 reads this isolate made to fill the cache: links, rules, hosts.
    static READS: Cell<[u64; 3]> = const { Cell::new([0; 3]) };
    /// Bumped by every `invalidate`.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

fn flights() -> Rc<Flights<JsPark>> {
    FLIGHTS.with(Rc::clone)
}

/// A cache miss waiting for another request's read parks on a JS promise of
/// its own, which the leader's landing resolves: workerd then resumes the
/// waiter in its own request's context (a Rust waker woken by the leader
/// would run the waiter inside the leader's I/O context, and its response
/// body would belong to the wrong request).
struct JsPark;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: i32) -> wasm_bindgen::JsValue;
}

/// The parked request's promise, settled.
struct Resolved(wasm_bindgen_futures::JsFuture);

impl std::future::Future for Resolved {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Park for JsPark {
    type Ticket = Option<js_sys::Function>;
    type Wait = Resolved;
    fn park() -> (Self::Ticket, Self::Wait) {
        let mut resolve = None;
        let promise = js_sys::Promise::new(&mut |res, _| {
            // The waiter's own deadline, in its own request: a leader whose
            // request was cancelled never lands (`core::flight`).
            let _ = set_timeout(&res, MAX_FLIGHT_MS as i32);
            resolve = Some(res);
        });
        (
            resolve,
            Resolved(wasm_bindgen_futures::JsFuture::from(promise)),
        )
    }
    fn unpark(resolve: Self::Ticket) {
        if let Some(f) = resolve {
            let _ = f.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }
    }
}

/// Counts a read about to be made; returns the cache's generation, which
/// the read must still see to store what it read (`current`).
fn count_read(kind: usize) -> u64 {
    READS.with(|r| {
        let mut n = r.get();
        n[kind] += 1;
        r.set(n);
    });
    GENERATION.with(Cell::get)
}

/// Whether no write through this isolate cleared the cache since
/// `generation`: a read that started before a write must not store the
/// rows it got from before it.
fn current(generation: u64) -> bool {
    GENERATION.with(Cell::get) == generation
}

/// D1 reads made to fill this isolate's cache so far: `[links, rules, hosts]`
/// (`GET /v2/dev/memory`, for the tests of single flight).
pub fn reads() -> [u64; 3] {
    READS.with(Cell::get)
}

type Stamped<T> = (i64, T);
/// Links by `(handle, slug)`; `None`: known to be missing.
type LinkMap = HashMap<(String, String), Stamped<Option<Rc<LinkEntry>>>>;

thread_local! {
    static LINKS: RefCell<LinkMap> = RefCell::new(HashMap::new());
    static RULES: RefCell<HashMap<String, Stamped<RuleSet>>> = RefCell::new(HashMap::new());
}

pub fn invalidate() {
    // Reads in flight now read from before the write: they store nothing,
    // and misses from now on start a read of their own.
    GENERATION.with(|g| g.set(g.get() + 1));
    flights().forget_all();
    LINKS.with(|m| m.borrow_mut().clear());
    RULES.with(|m| m.borrow_mut().clear());
    HOSTS.with(|m| m.borrow_mut().clear());
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

fn put_link(handle: &str, slug: &str, now: i64, entry: Option<Rc<LinkEntry>>) {
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
            .map(|(_, set)| set.rules.clone())
    })
}

fn put_rules(handle: &str, now: i64, rules: RuleSet) {
    RULES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert(handle.to_string(), (now, rules));
    })
}

/// Branded hosts by name: the claiming handle; `None`: not claimed.
type HostMap = HashMap<String, Stamped<Option<Handle>>>;

thread_local! {
    static HOSTS: RefCell<HostMap> = RefCell::new(HashMap::new());
}

/// `Some(handle)` on a fresh hit (handle itself None = known unclaimed).
pub fn get_host(host: &str, now: i64, ttl: i64) -> Option<Option<Handle>> {
    HOSTS.with(|m| {
        m.borrow()
            .get(host)
            .filter(|(t, _)| fresh(*t, now, ttl))
            .map(|(_, h)| h.clone())
    })
}

#[derive(Deserialize)]
struct HostRow {
    handle: String,
}

/// The handle that claimed `host` (a well-formed, lower-case host name), from
/// the cache or else D1 (then cached, an unclaimed host too).
/// Concurrent misses for the host share one read (`core::flight`).
pub async fn host(db: &Db, ttl: i64, host: &str, now: i64) -> ApiResult<Option<Handle>> {
    if let Some(hit) = get_host(host, now, ttl) {
        return Ok(hit);
    }
    let flights = flights();
    let _lands = match flights.turn(&format!("h {host}"), now) {
        Turn::Lead(lands) => Some(lands),
        turn => {
            turn.wait().await;
            if let Some(hit) = get_host(host, now, ttl) {
                return Ok(hit);
            }
            None
        }
    };
    read_host(db, host, now).await
}

/// The host's claim from D1, cached (an unclaimed host too).
async fn read_host(db: &Db, host: &str, now: i64) -> ApiResult<Option<Handle>> {
    let generation = count_read(2);
    let handle = db
        .first::<HostRow>("SELECT handle FROM hosts WHERE host = ?", &[text(host)])
        .await?
        .and_then(|r| Handle::parse(&r.handle));
    if current(generation) {
        HOSTS.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(host.to_string(), (now, handle.clone()));
        });
    }
    Ok(handle)
}

thread_local! {
    /// Today's visitor-key secret, keyed: `(day start, keyer)`.
    static DAY_KEY: RefCell<Option<(i64, Rc<Keyer>)>> = const { RefCell::new(None) };
}

/// Today's secret for visitor keys, if this isolate has it already.
pub fn day_key_cached(now: i64) -> Option<Rc<Keyer>> {
    let day = now - now.rem_euclid(DAY_MS);
    DAY_KEY.with(|k| {
        k.borrow()
            .as_ref()
            .filter(|(d, _)| *d == day)
            .map(|(_, s)| s.clone())
    })
}

#[derive(Deserialize)]
struct SecretRow {
    secret: String,
}

/// Today's secret for visitor keys: from this isolate, else D1, where the
/// first isolate of the day creates it (every isolate everywhere then reads
/// the same one, so a visitor hashes alike wherever they click). The
/// scheduled job deletes it when its day is over.
pub async fn day_key(db: &Db, now: i64) -> ApiResult<Rc<Keyer>> {
    if let Some(k) = day_key_cached(now) {
        return Ok(k);
    }
    let day = now - now.rem_euclid(DAY_MS);
    // A fresh isolate's first clicks of the day share one read.
    let flights = flights();
    let _lands = match flights.turn(&format!("d {day}"), now) {
        Turn::Lead(lands) => Some(lands),
        turn => {
            turn.wait().await;
            if let Some(hit) = day_key_cached(now) {
                return Ok(hit);
            }
            None
        }
    };
    read_day_key(db, day).await
}

/// The day's secret from D1 (stored first when this is the day's first
/// read anywhere), keyed and kept for the isolate.
async fn read_day_key(db: &Db, day: i64) -> ApiResult<Rc<Keyer>> {
    let fresh = random_hex(32)?;
    let results = db
        .batch(vec![
            db.stmt(
                "INSERT INTO visitor_keys (day, secret) VALUES (?, ?) ON CONFLICT (day) DO NOTHING",
                &[int(day), text(&fresh)],
            )?,
            db.stmt("SELECT secret FROM visitor_keys WHERE day = ?", &[int(day)])?,
        ])
        .await?;
    let secret = results
        .get(1)
        .map(|r| r.results::<SecretRow>())
        .transpose()?
        .and_then(|rows| rows.into_iter().next())
        .map(|r| r.secret)
        .unwrap_or(fresh);
    let keyer = Rc::new(Keyer::new(secret.as_bytes()));
    DAY_KEY.with(|k| *k.borrow_mut() = Some((day, keyer.clone())));
    Ok(keyer)
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
