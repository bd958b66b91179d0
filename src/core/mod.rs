//! The pure core: no `worker` imports, everything testable natively.

pub mod auth;
pub mod backoff;
pub mod campaign;
pub mod catalog;
pub mod classify;
pub mod click;
pub mod config;
pub mod conversion;
pub mod csv;
pub mod dest;
pub mod error;
pub mod funnel;
pub mod health;
pub mod ids;
pub mod json;
pub mod link;
pub mod paging;
pub mod redirect;
pub mod report;
pub mod route;
pub mod rules;
pub mod stats;
pub mod structure;
pub mod time;
pub mod token;
pub mod webhook;
