//! The configuration, read from the environment once per isolate (vars and
//! secrets cannot change under a running isolate: a new deployment or
//! `wrangler dev` reload starts new isolates) and parsed by the pure
//! `core::config::Config::parse`; each problem it reports is logged once.

pub use crate::core::config::Config;
use worker::Env;

thread_local! {
    static LOADED: std::cell::OnceCell<std::rc::Rc<Config>> = const { std::cell::OnceCell::new() };
}

/// The isolate's configuration, read from `env` on first use.
pub fn get(env: &Env) -> std::rc::Rc<Config> {
    LOADED.with(|c| {
        c.get_or_init(|| {
            let (cfg, problems) = Config::parse(|name| {
                env.var(name)
                    .ok()
                    .map(|v| v.to_string())
                    .or_else(|| env.secret(name).ok().map(|s| s.to_string()))
            });
            for p in problems {
                crate::edge::log::event("config_invalid", &format!("{} {}", p.name, p.message));
            }
            // Faults from `FAULTS` are fixed for the isolate's life, like
            // every other setting: registered once, here.
            crate::edge::faults::configure(&cfg.faults);
            std::rc::Rc::new(cfg)
        })
        .clone()
    })
}
