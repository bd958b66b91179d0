//! Fault injection for tests: `FAULTS` (comma list) in the configuration, or,
//! in local development only (`DEV_SIGN_IN`), switched at run time with
//! `POST /v2/dev/faults {"faults": [...]}`. Known faults: `rollup` (every
//! rollup call fails), `rollup_writes` (applying events fails, reads work), `d1_clicks` (click ledger writes fail),
//! `d1_clicks_unacked` (click ledger writes commit, then report a failure, as
//! a lost acknowledgement would), `d1_clicks_lost` (click ledger writes are
//! skipped but reported written: a drift between rollup and ledger) and `panic`
//! (the next `GET /healthz` or short-link redirect panics: the wasm instance
//! aborts, and the next request must meet a fresh one).

use std::cell::RefCell;

thread_local! {
    static ACTIVE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static CONFIGURED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Called once per isolate with the `FAULTS` configuration (`config::get`).
pub fn configure(faults: &[String]) {
    CONFIGURED.with(|c| {
        if c.borrow().as_slice() != faults {
            *c.borrow_mut() = faults.to_vec();
        }
    });
}

pub const KNOWN: [&str; 6] = [
    "rollup",
    "rollup_writes",
    "d1_clicks",
    "d1_clicks_unacked",
    "d1_clicks_lost",
    "panic",
];

/// The `panic` fault: panics once when it is set (tests of panic recovery).
pub fn maybe_panic() {
    if active("panic") {
        ACTIVE.with(|a| a.borrow_mut().retain(|f| f != "panic"));
        panic!("injected fault: panic");
    }
}

pub fn set(faults: Vec<String>) {
    ACTIVE.with(|a| *a.borrow_mut() = faults);
}

pub fn active(name: &str) -> bool {
    CONFIGURED.with(|c| c.borrow().iter().any(|f| f == name))
        || ACTIVE.with(|a| a.borrow().iter().any(|f| f == name))
}

pub fn list() -> Vec<String> {
    ACTIVE.with(|a| a.borrow().clone())
}
