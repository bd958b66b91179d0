//! The per-request context every handler receives. A leaf: handlers import
//! it, it imports none of them.

use crate::core::auth::Principal;
use crate::edge::config::Config;
use crate::edge::db::Db;
use worker::{Context, Env};

/// Everything a handler may need, built once per request.
pub struct Ctx {
    pub env: Env,
    pub cfg: std::rc::Rc<Config>,
    /// The host this request came to (lower-case): a short-link host too.
    pub host: Option<String>,
    pub db: Db,
    pub wctx: Context,
    pub principal: Option<Principal>,
}

impl Ctx {
    /// This service's short-link hosts: configured ones and the request's.
    pub fn own_hosts(&self) -> Vec<&str> {
        self.cfg.own_hosts(self.host.as_deref())
    }
}
