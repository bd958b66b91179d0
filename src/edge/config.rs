//! Configuration, read from the environment into a typed struct once per
//! isolate (vars and secrets cannot change under a running isolate: a new
//! deployment or `wrangler dev` reload starts new isolates).

use crate::core::auth::JwtConfig;
use worker::Env;

#[derive(Clone)]
pub struct Config {
    pub jwt: JwtConfig,
    pub rollup_shards: u32,
    pub cache_ttl_ms: i64,
    /// Hosts this service answers short links on (`SHORT_HOSTS`, lower-case):
    /// destinations pointing here would loop. The request's own host is added
    /// per request (`own_hosts`).
    pub own_hosts: Vec<String>,
    pub allow_http_webhooks: bool,
    /// Local development: enables `POST /v2/dev/token` (never set in production).
    pub dev_sign_in: bool,
    /// First webhook retry delay (seconds); doubles per try.
    pub webhook_retry_base_secs: u32,
    /// Injected faults (tests only), see `faults.rs`.
    pub faults: Vec<String>,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .or_else(|| env.secret(name).ok().map(|s| s.to_string()))
}

fn flag(env: &Env, name: &str) -> bool {
    var(env, name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

thread_local! {
    static LOADED: std::cell::OnceCell<std::rc::Rc<Config>> = const { std::cell::OnceCell::new() };
}

impl Config {
    /// The isolate's configuration, read from `env` on first use.
    pub fn get(env: &Env) -> std::rc::Rc<Config> {
        LOADED.with(|c| {
            c.get_or_init(|| {
                let cfg = Config::from_env(env);
                // Faults from `FAULTS` are fixed for the isolate's life, like
                // every other setting: registered once, here.
                crate::edge::faults::configure(&cfg.faults);
                std::rc::Rc::new(cfg)
            })
            .clone()
        })
    }

    fn from_env(env: &Env) -> Config {
        let own_hosts: Vec<String> = var(env, "SHORT_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        Config {
            jwt: JwtConfig {
                secret: var(env, "JWT_SECRET").unwrap_or_default().into_bytes(),
                issuer: var(env, "JWT_ISSUER").filter(|s| !s.is_empty()),
                audience: var(env, "JWT_AUDIENCE").filter(|s| !s.is_empty()),
            },
            rollup_shards: var(env, "ROLLUP_SHARDS")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1u32)
                .clamp(1, 64),
            cache_ttl_ms: var(env, "CACHE_TTL_MS")
                .and_then(|s| s.parse().ok())
                .unwrap_or(5000i64)
                .clamp(0, 60_000),
            own_hosts,
            allow_http_webhooks: flag(env, "ALLOW_HTTP_WEBHOOKS"),
            dev_sign_in: flag(env, "DEV_SIGN_IN"),
            webhook_retry_base_secs: var(env, "WEBHOOK_RETRY_BASE_SECS")
                .and_then(|s| s.parse().ok())
                .unwrap_or(60u32)
                .min(3600),
            faults: var(env, "FAULTS")
                .unwrap_or_default()
                .split(',')
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect(),
        }
    }

    /// The configured short-link hosts plus the host this request came to.
    pub fn own_hosts<'a>(&'a self, request_host: Option<&'a str>) -> Vec<&'a str> {
        let mut v: Vec<&str> = self.own_hosts.iter().map(String::as_str).collect();
        v.extend(request_host);
        v
    }
}
