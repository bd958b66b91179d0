//! A rule's `when`: its conditions, parsed valid, and their evaluation.

use super::facts::{is_language_subtag, query_has, Days, Hours};
use super::pattern::Pattern;
use super::{Condition, Visitor};
use crate::core::classify::Device;
use crate::core::error::ApiError;
use crate::core::ids::{is_country_code, CampaignId, Slug};
use crate::core::json::Obj;
use crate::core::time::{parse_rfc3339, rfc3339};
use serde_json::{json, Map, Value};

const MAX_LIST: usize = 100;
const MAX_QUERY_PARAMS: usize = 20;
const MAX_QUERY_NAME: usize = 64;
const MAX_QUERY_VALUE: usize = 256;

const FIELDS: [&str; 13] = [
    "campaignIn",
    "deviceIn",
    "countryIn",
    "sourceIn",
    "slugIn",
    "languageIn",
    "queryHas",
    "activeFrom",
    "activeUntil",
    "daysOfWeek",
    "hoursUtc",
    "referrerMatches",
    "userAgentMatches",
];

/// `queryHas`: `(name, Some(value))` equal, `(name, None)` present.
pub type QueryHas = Vec<(String, Option<String>)>;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct When {
    pub campaign_in: Option<Vec<String>>,
    pub device_in: Option<Vec<Device>>,
    pub country_in: Option<Vec<String>>,
    pub source_in: Option<Vec<String>>,
    pub slug_in: Option<Vec<String>>,
    /// Primary language subtags, lower-case.
    pub language_in: Option<Vec<String>>,
    pub query_has: Option<QueryHas>,
    /// Epoch ms, inclusive.
    pub active_from: Option<i64>,
    /// Epoch ms, exclusive.
    pub active_until: Option<i64>,
    pub days_of_week: Option<Days>,
    pub hours_utc: Option<Hours>,
    pub referrer_matches: Option<Pattern>,
    pub user_agent_matches: Option<Pattern>,
}

fn holds<T>(cond: &Option<T>, test: impl FnOnce(&T) -> bool) -> bool {
    cond.as_ref().is_none_or(test)
}

impl When {
    /// `None` when every present condition holds, else the first failing one
    /// in the order of [`Condition`] (the regular expressions last: they run
    /// only when everything else holds).
    pub fn first_failure(&self, v: &Visitor<'_>) -> Option<Condition> {
        // In order: a condition is only evaluated when all before it hold.
        if !holds(&self.campaign_in, |l| {
            v.campaign_id.is_some_and(|c| l.iter().any(|x| x == c))
        }) {
            return Some(Condition::CampaignIn);
        }
        if !holds(&self.device_in, |l| l.contains(&v.device)) {
            return Some(Condition::DeviceIn);
        }
        if !holds(&self.country_in, |l| l.iter().any(|x| x == v.country)) {
            return Some(Condition::CountryIn);
        }
        if !holds(&self.source_in, |l| l.iter().any(|x| x == v.source)) {
            return Some(Condition::SourceIn);
        }
        if !holds(&self.slug_in, |l| l.iter().any(|x| x == v.slug)) {
            return Some(Condition::SlugIn);
        }
        if !holds(&self.language_in, |l| {
            v.language
                .is_some_and(|lang| l.iter().any(|x| x.eq_ignore_ascii_case(lang)))
        }) {
            return Some(Condition::LanguageIn);
        }
        if !holds(&self.query_has, |l| {
            l.iter()
                .all(|(n, val)| query_has(v.query, n, val.as_deref()))
        }) {
            return Some(Condition::QueryHas);
        }
        if !holds(&self.active_from, |t| v.at_ms >= *t) {
            return Some(Condition::ActiveFrom);
        }
        if !holds(&self.active_until, |t| v.at_ms < *t) {
            return Some(Condition::ActiveUntil);
        }
        if !holds(&self.days_of_week, |d| d.contains_time(v.at_ms)) {
            return Some(Condition::DaysOfWeek);
        }
        if !holds(&self.hours_utc, |h| h.contains_time(v.at_ms)) {
            return Some(Condition::HoursUtc);
        }
        // A missing Referer is matched as the empty string.
        if !holds(&self.referrer_matches, |p| {
            p.is_match(v.referrer.unwrap_or(""))
        }) {
            return Some(Condition::ReferrerMatches);
        }
        if !holds(&self.user_agent_matches, |p| p.is_match(v.user_agent)) {
            return Some(Condition::UserAgentMatches);
        }
        None
    }

    /// Whether the conditions need the visitor's `Accept-Language`.
    pub fn reads_language(&self) -> bool {
        self.language_in.is_some()
    }

    pub(super) fn parse(m: &Map<String, Value>) -> Result<When, ApiError> {
        let o = Obj::nested(m, "when");
        o.only(&FIELDS)?;
        let list = |k: &str| -> Result<Option<Vec<&str>>, ApiError> {
            match o.str_array(k, MAX_LIST)? {
                Some(v) if v.is_empty() => {
                    Err(o.err(k, "must not be empty (omit it to match everything)"))
                }
                other => Ok(other),
            }
        };
        // Each entry of list `k` through `f`, or `msg` naming the field.
        let each = |k: &str,
                    msg: &str,
                    f: &dyn Fn(&str) -> Option<String>|
         -> Result<Option<Vec<String>>, ApiError> {
            list(k)?
                .map(|v| {
                    v.into_iter()
                        .map(|s| f(s).ok_or_else(|| o.err(k, msg)))
                        .collect()
                })
                .transpose()
        };
        let campaign_in = each("campaignIn", "must list campaign ids", &|s| {
            CampaignId::parse(s).ok().map(CampaignId::into_string)
        })?;
        let device_in = list("deviceIn")?
            .map(|v| {
                v.into_iter()
                    .map(|s| {
                        Device::parse(s)
                            .ok_or_else(|| o.err("deviceIn", "must list MOBILE, DESKTOP or TABLET"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let country_in = each(
            "countryIn",
            "must list ISO 3166-1 alpha-2 codes such as US",
            &|s| is_country_code(s).then(|| s.to_string()),
        )?;
        let source_in = each(
            "sourceIn",
            "must list lower-case sources such as email or social",
            &|s| {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    });
                ok.then(|| s.to_string())
            },
        )?;
        let slug_in = each("slugIn", "must list slugs", &|s| {
            Slug::parse(s).map(Slug::into_string)
        })?;
        let language_in = each(
            "languageIn",
            "must list primary language subtags of 2-3 lower-case letters such as en or de",
            &|s| is_language_subtag(s).then(|| s.to_string()),
        )?;
        let time = |k: &str| -> Result<Option<i64>, ApiError> {
            o.str(k)?
                .map(|s| {
                    parse_rfc3339(s).ok_or_else(|| {
                        o.err(k, "must be an RFC 3339 time such as 2026-12-24T00:00:00Z")
                    })
                })
                .transpose()
        };
        let (active_from, active_until) = (time("activeFrom")?, time("activeUntil")?);
        if let (Some(f), Some(u)) = (active_from, active_until) {
            if f >= u {
                return Err(o.err("activeUntil", "must be later than activeFrom"));
            }
        }
        let days_of_week = list("daysOfWeek")?
            .map(|v| {
                Days::parse(v).ok_or_else(|| {
                    o.err(
                        "daysOfWeek",
                        "must list MON, TUE, WED, THU, FRI, SAT or SUN",
                    )
                })
            })
            .transpose()?;
        let pattern = |k: &str| -> Result<Option<Pattern>, ApiError> {
            o.str(k)?
                .map(|s| Pattern::compile(s).map_err(|why| o.err(k, &why)))
                .transpose()
        };
        Ok(When {
            campaign_in,
            device_in,
            country_in,
            source_in,
            slug_in,
            language_in,
            query_has: parse_query_has(&o)?,
            active_from,
            active_until,
            days_of_week,
            hours_utc: parse_hours(&o, m)?,
            referrer_matches: pattern("referrerMatches")?,
            user_agent_matches: pattern("userAgentMatches")?,
        })
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.into(), v);
        };
        if let Some(v) = &self.campaign_in {
            put("campaignIn", json!(v));
        }
        if let Some(v) = &self.device_in {
            put(
                "deviceIn",
                json!(v.iter().map(|d| d.as_str()).collect::<Vec<_>>()),
            );
        }
        if let Some(v) = &self.country_in {
            put("countryIn", json!(v));
        }
        if let Some(v) = &self.source_in {
            put("sourceIn", json!(v));
        }
        if let Some(v) = &self.slug_in {
            put("slugIn", json!(v));
        }
        if let Some(v) = &self.language_in {
            put("languageIn", json!(v));
        }
        if let Some(v) = &self.query_has {
            // Inserted one by one: `collect()` into a map sorts first (a
            // stable sort instantiated for this one pair type).
            let mut q = Map::new();
            for (n, x) in v {
                q.insert(n.clone(), json!(x));
            }
            put("queryHas", Value::Object(q));
        }
        if let Some(t) = self.active_from {
            put("activeFrom", json!(rfc3339(t)));
        }
        if let Some(t) = self.active_until {
            put("activeUntil", json!(rfc3339(t)));
        }
        if let Some(d) = self.days_of_week {
            put("daysOfWeek", json!(d.names()));
        }
        if let Some(h) = self.hours_utc {
            put("hoursUtc", json!([h.start, h.end]));
        }
        if let Some(p) = &self.referrer_matches {
            put("referrerMatches", json!(p.as_str()));
        }
        if let Some(p) = &self.user_agent_matches {
            put("userAgentMatches", json!(p.as_str()));
        }
        Value::Object(m)
    }
}

fn parse_query_has(o: &Obj<'_>) -> Result<Option<QueryHas>, ApiError> {
    const KEY: &str = "queryHas";
    let Some(q) = o.object(KEY)? else {
        return Ok(None);
    };
    if q.is_empty() || q.len() > MAX_QUERY_PARAMS {
        return Err(o.err(
            KEY,
            &format!("must name 1-{MAX_QUERY_PARAMS} query parameters"),
        ));
    }
    q.iter()
        .map(|(name, v)| {
            if name.is_empty() || name.len() > MAX_QUERY_NAME {
                return Err(o.err(
                    KEY,
                    &format!("parameter names must be 1-{MAX_QUERY_NAME} bytes"),
                ));
            }
            let value = match v {
                Value::Null => None,
                Value::String(s) if s.len() <= MAX_QUERY_VALUE => Some(s.clone()),
                _ => {
                    return Err(o.err(
                        KEY,
                        &format!(
                            "values must be strings of at most {MAX_QUERY_VALUE} bytes (equal) or null (present)"
                        ),
                    ))
                }
            };
            Ok((name.clone(), value))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn parse_hours(o: &Obj<'_>, m: &Map<String, Value>) -> Result<Option<Hours>, ApiError> {
    const KEY: &str = "hoursUtc";
    let msg = "must be [start, end): integers, start 0-23, end 1-24, start != end (start > end wraps past midnight)";
    match m.get(KEY) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if a.len() == 2 => match (a[0].as_i64(), a[1].as_i64()) {
            (Some(s), Some(e)) => Hours::new(s, e).map(Some).ok_or_else(|| o.err(KEY, msg)),
            _ => Err(o.err(KEY, msg)),
        },
        Some(_) => Err(o.err(KEY, msg)),
    }
}
