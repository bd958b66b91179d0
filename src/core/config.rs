//! The Worker's settings, parsed from its environment variables and secrets
//! by one pure function. A value that cannot be used is not silently
//! bent: the default (or the nearest allowed value) applies and the problem
//! is reported, so the edge can log it once per isolate.

use crate::core::auth::JwtConfig;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub jwt: JwtConfig,
    /// Rollup objects per campaign (1–64).
    pub rollup_shards: u32,
    /// How long the redirect's isolate cache keeps a link or a rule set (0–60,000 ms).
    pub cache_ttl_ms: i64,
    /// Hosts this service answers short links on (`SHORT_HOSTS`, lower-case):
    /// destinations pointing here would loop. The request's own host is added
    /// per request (`own_hosts`).
    pub own_hosts: Vec<String>,
    /// Browser origins besides its own that may call `POST /mcp`
    /// (`MCP_ALLOWED_ORIGINS`, comma list, lower-case).
    pub mcp_origins: Vec<String>,
    pub allow_http_webhooks: bool,
    /// Local development: enables `POST /v2/dev/token` (never set in production).
    pub dev_sign_in: bool,
    /// The first webhook retry's delay (seconds, 0.001–60, default 5); the
    /// whole retry schedule (`core::webhook::SCHEDULE_SECS`) scales with it.
    pub webhook_retry_base_secs: f64,
    /// Tries per webhook event (1–10, default 10: the whole schedule); fewer
    /// only to make tests short.
    pub webhook_max_tries: u32,
    /// Injected faults (tests only).
    pub faults: Vec<String>,
}

/// A setting that was present but could not be used as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub name: &'static str,
    pub message: String,
}

impl Config {
    /// Parse the settings; `var` returns a variable or secret by name.
    pub fn parse(var: impl Fn(&str) -> Option<String>) -> (Config, Vec<Problem>) {
        let mut problems = Vec::new();
        let list = |name: &str, lower: bool| -> Vec<String> {
            var(name)
                .unwrap_or_default()
                .split(',')
                .map(|h| {
                    let h = h.trim();
                    if lower {
                        h.to_ascii_lowercase()
                    } else {
                        h.to_string()
                    }
                })
                .filter(|h| !h.is_empty())
                .collect()
        };
        let flag =
            |name: &str| var(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
        let text = |name: &str| var(name).filter(|s| !s.is_empty());
        let cfg = Config {
            jwt: JwtConfig {
                secret: var("JWT_SECRET").unwrap_or_default().into_bytes(),
                issuer: text("JWT_ISSUER"),
                audience: text("JWT_AUDIENCE"),
            },
            rollup_shards: number(&var, "ROLLUP_SHARDS", 1u32, 1, 64, &mut problems),
            cache_ttl_ms: number(&var, "CACHE_TTL_MS", 5000i64, 0, 60_000, &mut problems),
            own_hosts: list("SHORT_HOSTS", true),
            mcp_origins: list("MCP_ALLOWED_ORIGINS", true),
            allow_http_webhooks: flag("ALLOW_HTTP_WEBHOOKS"),
            dev_sign_in: flag("DEV_SIGN_IN"),
            webhook_retry_base_secs: number(
                &var,
                "WEBHOOK_RETRY_BASE_SECS",
                5.0f64,
                0.001,
                60.0,
                &mut problems,
            ),
            webhook_max_tries: number(&var, "WEBHOOK_MAX_TRIES", 10u32, 1, 10, &mut problems),
            faults: list("FAULTS", false),
        };
        if cfg.jwt.secret.is_empty() {
            problems.push(Problem {
                name: "JWT_SECRET",
                message: "is not set: every bearer token will be refused".into(),
            });
        }
        (cfg, problems)
    }

    /// The configured short-link hosts plus the host this request came to.
    pub fn own_hosts<'a>(&'a self, request_host: Option<&'a str>) -> Vec<&'a str> {
        let mut v: Vec<&str> = self.own_hosts.iter().map(String::as_str).collect();
        v.extend(request_host);
        v
    }
}

/// A number in `[min, max]`: absent → `default`; unparsable → `default`,
/// out of range → the nearest bound, each with a problem.
fn number<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
    max: T,
    problems: &mut Vec<Problem>,
) -> T
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display,
{
    let Some(raw) = var(name) else {
        return default;
    };
    match raw.trim().parse::<T>().ok().filter(not_nan).ok_or(()) {
        Ok(v) if v < min || v > max => {
            let used = if v < min { min } else { max };
            problems.push(Problem {
                name,
                message: format!("{v} is outside {min}–{max}; using {used}"),
            });
            used
        }
        Ok(v) => v,
        Err(_) => {
            problems.push(Problem {
                name,
                message: format!(
                    "'{}' is not a number; using {default}",
                    raw.chars().take(32).collect::<String>()
                ),
            });
            default
        }
    }
}

/// False only for a NaN, which no range holds and `parse::<f64>` accepts.
#[allow(clippy::eq_op)]
fn not_nan<T: PartialEq>(v: &T) -> bool {
    v == v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> (Config, Vec<Problem>) {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let (c, p) = parse(&[("JWT_SECRET", "s3cret")]);
        assert_eq!(p, vec![]);
        assert_eq!(
            (
                c.rollup_shards,
                c.cache_ttl_ms,
                c.webhook_retry_base_secs,
                c.webhook_max_tries
            ),
            (1, 5000, 5.0, 10)
        );
        assert_eq!((c.allow_http_webhooks, c.dev_sign_in), (false, false));
        assert!(c.own_hosts.is_empty() && c.faults.is_empty());
        assert_eq!((c.jwt.issuer, c.jwt.audience), (None, None));
    }

    #[test]
    fn values_lists_and_flags() {
        let (c, p) = parse(&[
            ("JWT_SECRET", "x"),
            ("JWT_ISSUER", "https://id.example"),
            ("JWT_AUDIENCE", ""),
            ("ROLLUP_SHARDS", " 4 "),
            ("CACHE_TTL_MS", "0"),
            ("SHORT_HOSTS", " Go.Example , ,s.example"),
            ("ALLOW_HTTP_WEBHOOKS", "1"),
            ("DEV_SIGN_IN", "false"),
            ("FAULTS", "rollup, d1_clicks"),
        ]);
        assert_eq!(p, vec![]);
        assert_eq!((c.rollup_shards, c.cache_ttl_ms), (4, 0));
        assert_eq!(c.own_hosts, ["go.example", "s.example"]);
        assert_eq!(
            c.own_hosts(Some("h.example")),
            ["go.example", "s.example", "h.example"]
        );
        assert_eq!((c.allow_http_webhooks, c.dev_sign_in), (true, false));
        assert_eq!(c.faults, ["rollup", "d1_clicks"]);
        assert_eq!(c.jwt.issuer.as_deref(), Some("https://id.example"));
        assert_eq!(c.jwt.audience, None);
    }

    #[test]
    fn bad_values_are_reported_not_silently_bent() {
        let (c, p) = parse(&[
            ("ROLLUP_SHARDS", "100"),
            ("CACHE_TTL_MS", "soon"),
            ("WEBHOOK_RETRY_BASE_SECS", "-5"),
        ]);
        assert_eq!(
            (c.rollup_shards, c.cache_ttl_ms, c.webhook_retry_base_secs),
            (64, 5000, 0.001)
        );
        let names: Vec<&str> = p.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "ROLLUP_SHARDS",
                "CACHE_TTL_MS",
                "WEBHOOK_RETRY_BASE_SECS",
                "JWT_SECRET"
            ]
        );
        assert_eq!(p[0].message, "100 is outside 1–64; using 64");
        let (c, _) = parse(&[("ROLLUP_SHARDS", "0")]);
        assert_eq!(c.rollup_shards, 1);
        let (c, p) = parse(&[
            ("JWT_SECRET", "x"),
            ("WEBHOOK_RETRY_BASE_SECS", "NaN"),
            ("WEBHOOK_MAX_TRIES", "0"),
        ]);
        assert_eq!((c.webhook_retry_base_secs, c.webhook_max_tries), (5.0, 1));
        assert_eq!(p.len(), 2);
        let (c, p) = parse(&[
            ("JWT_SECRET", "x"),
            ("WEBHOOK_RETRY_BASE_SECS", "0.05"),
            ("WEBHOOK_MAX_TRIES", "4"),
        ]);
        assert_eq!(
            (c.webhook_retry_base_secs, c.webhook_max_tries, p),
            (0.05, 4, vec![])
        );
    }
}
