//! Fault injection for tests: `FAULTS` (comma list) in the configuration, or,
//! in local development only (`DEV_SIGN_IN`), switched at run time with
//! `POST /v2/dev/faults {"faults": [...]}`. Known faults: `rollup` (every
//! rollup call fails) and `d1_clicks` (click ledger writes fail).

use std::cell::RefCell;

thread_local! {
    static ACTIVE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static CONFIGURED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Called at every entry point with the `FAULTS` configuration.
pub fn configure(faults: &[String]) {
    CONFIGURED.with(|c| {
        if c.borrow().as_slice() != faults {
            *c.borrow_mut() = faults.to_vec();
        }
    });
}

pub const KNOWN: [&str; 2] = ["rollup", "d1_clicks"];

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
