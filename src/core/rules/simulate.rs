//! The simulated visitor of `POST …/rules/explain`: the body parsed into the
//! same facts the redirect derives from a request.

use super::facts::primary_language;
use super::Visitor;
use crate::core::classify::{classify_device, classify_source, referrer_host, Device};
use crate::core::dest::query_param;
use crate::core::error::ApiError;
use crate::core::ids::{is_country_code, Slug};
use crate::core::json::Obj;
use crate::core::time::{parse_rfc3339, rfc3339};
use serde_json::{json, Map, Value};
use url::form_urlencoded;

const MAX_FACT: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulated {
    pub slug: Slug,
    pub device: Device,
    pub country: String,
    pub source: String,
    /// As given (a language tag or a whole `Accept-Language` value).
    pub language: Option<String>,
    /// A raw query string, without `?`.
    pub query: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: String,
    pub at_ms: i64,
}

impl Simulated {
    /// `{slug, country?, device?, source?, userAgent?, language?, query?,
    /// referrer?, at?}`. `query` is an object `{name: value}` (or a raw query
    /// string); `at` (RFC 3339) defaults to `now_ms`. Without `device` it is
    /// classified from `userAgent`; without `source`, from the query's
    /// `utm_source`/`src` and the referrer, as the redirect does.
    pub fn parse(body: &Map<String, Value>, now_ms: i64) -> Result<Simulated, ApiError> {
        let o = Obj::new(body);
        o.only(&[
            "slug",
            "country",
            "device",
            "source",
            "userAgent",
            "query",
            "language",
            "referrer",
            "at",
        ])?;
        let slug = Slug::parse_field(o.req_str("slug")?, "slug")?;
        let bounded = |k: &str| -> Result<Option<String>, ApiError> {
            match o.str(k)? {
                Some(s) if s.len() > MAX_FACT => {
                    Err(o.err(k, &format!("must be at most {MAX_FACT} bytes")))
                }
                other => Ok(other.map(str::to_string)),
            }
        };
        let user_agent = bounded("userAgent")?.unwrap_or_default();
        let device = match o.str("device")? {
            Some(d) => Device::parse(d)
                .ok_or_else(|| o.err("device", "must be MOBILE, DESKTOP or TABLET"))?,
            None => classify_device(&user_agent),
        };
        let country = match o.str("country")? {
            Some(c) if is_country_code(c) => c.to_string(),
            Some(_) => {
                return Err(o.err("country", "must be an ISO 3166-1 alpha-2 code such as US"))
            }
            None => "XX".to_string(),
        };
        let query =
            match body.get("query") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.len() <= MAX_FACT => {
                    Some(s.trim_start_matches('?').to_string())
                }
                Some(Value::Object(m)) => Some(query_string(&o, m)?),
                Some(_) => return Err(o.err(
                    "query",
                    "must be an object of parameter names to string values (or null for present)",
                )),
            };
        let referrer = bounded("referrer")?;
        let utm = query
            .as_deref()
            .and_then(|q| query_param(q, "utm_source").or_else(|| query_param(q, "src")));
        let ref_host = referrer.as_deref().and_then(referrer_host);
        let source = classify_source(o.str("source")?.or(utm.as_deref()), ref_host.as_deref());
        let at_ms = match o.str("at")? {
            Some(s) => parse_rfc3339(s).ok_or_else(|| {
                o.err(
                    "at",
                    "must be an RFC 3339 time such as 2026-12-24T18:00:00Z",
                )
            })?,
            None => now_ms,
        };
        Ok(Simulated {
            slug,
            device,
            country,
            source,
            language: bounded("language")?,
            query,
            referrer,
            user_agent,
            at_ms,
        })
    }

    pub fn visitor<'a>(&'a self, campaign_id: Option<&'a str>) -> Visitor<'a> {
        Visitor {
            slug: self.slug.as_str(),
            campaign_id,
            device: self.device,
            country: &self.country,
            source: &self.source,
            language: self.language.as_deref().and_then(primary_language),
            query: self.query.as_deref(),
            referrer: self.referrer.as_deref(),
            user_agent: &self.user_agent,
            at_ms: self.at_ms,
        }
    }

    /// The facts as evaluated (`language` as its primary subtag, lower-case).
    pub fn to_json(&self, campaign_id: Option<&str>) -> Value {
        let language = self
            .language
            .as_deref()
            .and_then(primary_language)
            .map(str::to_ascii_lowercase);
        json!({
            "slug": self.slug.as_str(),
            "campaignId": campaign_id,
            "device": self.device.as_str(),
            "country": self.country,
            "source": self.source,
            "language": language,
            "query": self.query,
            "referrer": self.referrer,
            "userAgent": self.user_agent,
            "at": rfc3339(self.at_ms),
        })
    }
}

/// `{name: value | null}` → `name=value&name` (form-encoded).
fn query_string(o: &Obj<'_>, m: &Map<String, Value>) -> Result<String, ApiError> {
    let mut out = String::new();
    for (name, v) in m {
        if !out.is_empty() {
            out.push('&');
        }
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        out.push_str(&enc(name));
        match v {
            Value::Null => {}
            Value::String(s) => {
                out.push('=');
                out.push_str(&enc(s));
            }
            _ => return Err(o.err("query", "values must be strings (or null for present)")),
        }
    }
    if out.len() > MAX_FACT {
        return Err(o.err(
            "query",
            &format!("must be at most {MAX_FACT} bytes encoded"),
        ));
    }
    Ok(out)
}
