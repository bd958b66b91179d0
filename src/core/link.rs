//! Links: a slug of a handle pointing at a destination, optionally in a
//! campaign, with a tracking policy.

use crate::core::access::Password;
use crate::core::dest::DestinationUrl;
use crate::core::error::ApiError;
use crate::core::ids::CampaignId;
use crate::core::json::Obj;
use crate::core::time::parse_rfc3339;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrackingMode {
    /// 302 and a full click record.
    Direct,
    /// 302 and rollup counters only: no per-click row (privacy).
    AggregateOnly,
    /// 302, nothing recorded.
    Off,
}

impl TrackingMode {
    pub fn parse(s: &str) -> Option<TrackingMode> {
        match s {
            "DIRECT" => Some(TrackingMode::Direct),
            "AGGREGATE_ONLY" => Some(TrackingMode::AggregateOnly),
            "OFF" => Some(TrackingMode::Off),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingMode::Direct => "DIRECT",
            TrackingMode::AggregateOnly => "AGGREGATE_ONLY",
            TrackingMode::Off => "OFF",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingPolicy {
    pub mode: TrackingMode,
    pub append_context_param: bool,
    pub context_param_name: String,
    pub forward_query: bool,
}

impl Default for TrackingPolicy {
    fn default() -> Self {
        TrackingPolicy {
            mode: TrackingMode::Direct,
            append_context_param: false,
            context_param_name: "ctx".into(),
            forward_query: true,
        }
    }
}

/// `^[A-Za-z_][A-Za-z0-9_]{0,31}$`
pub fn is_param_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

impl TrackingPolicy {
    pub fn parse(m: &Map<String, Value>) -> Result<TrackingPolicy, ApiError> {
        let o = Obj::nested(m, "trackingPolicy");
        o.only(&[
            "mode",
            "appendContextParam",
            "contextParamName",
            "forwardQuery",
        ])?;
        let d = TrackingPolicy::default();
        let context_param_name = match o.str("contextParamName")? {
            None => d.context_param_name,
            Some(n) if is_param_name(n) => n.to_string(),
            Some(_) => {
                return Err(o.err(
                    "contextParamName",
                    "must match ^[A-Za-z_][A-Za-z0-9_]{0,31}$",
                ))
            }
        };
        Ok(TrackingPolicy {
            mode: match o.str("mode")? {
                None => d.mode,
                Some(s) => TrackingMode::parse(s)
                    .ok_or_else(|| o.err("mode", "must be one of DIRECT, AGGREGATE_ONLY, OFF"))?,
            },
            append_context_param: o
                .bool("appendContextParam")?
                .unwrap_or(d.append_context_param),
            context_param_name,
            forward_query: o.bool("forwardQuery")?.unwrap_or(d.forward_query),
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "mode": self.mode.as_str(),
            "appendContextParam": self.append_context_param,
            "contextParamName": self.context_param_name,
            "forwardQuery": self.forward_query,
        })
    }
}

/// What a PUT does to a link's password, which is write-only (a client
/// cannot send back what it never reads): absent keeps it, `null` removes it.
#[derive(Debug, Clone, PartialEq)]
pub enum PasswordChange {
    Keep,
    Remove,
    Set(Password),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    pub destination_url: DestinationUrl,
    pub campaign_id: Option<CampaignId>,
    pub tracking_policy: TrackingPolicy,
    /// After this time the link answers with `expired_url` (302) or 410.
    pub expires_at: Option<i64>,
    pub expired_url: Option<DestinationUrl>,
    pub password: PasswordChange,
}

impl NewLink {
    pub fn parse(body: &Map<String, Value>, own_hosts: &[&str]) -> Result<NewLink, ApiError> {
        let o = Obj::new(body);
        o.only(&[
            "destinationUrl",
            "campaignId",
            "trackingPolicy",
            "expiresAt",
            "expiredUrl",
            "password",
        ])?;
        let destination_url =
            DestinationUrl::parse(o.req_str("destinationUrl")?, "destinationUrl", own_hosts)?;
        let campaign_id = o.str("campaignId")?.map(CampaignId::parse).transpose()?;
        let tracking_policy = match o.object("trackingPolicy")? {
            Some(m) => TrackingPolicy::parse(m)?,
            None => TrackingPolicy::default(),
        };
        if tracking_policy.mode == TrackingMode::AggregateOnly
            && tracking_policy.append_context_param
        {
            // AGGREGATE_ONLY keeps no per-click record: a click id could never
            // be attributed, and handing one out would defeat the privacy mode.
            return Err(ApiError::field(
                "trackingPolicy.appendContextParam",
                "cannot be true with mode AGGREGATE_ONLY (no per-click record exists to attribute a conversion to)",
            ));
        }
        let expires_at = match o.str("expiresAt")? {
            None => None,
            Some(t) => Some(
                parse_rfc3339(t).ok_or_else(|| o.err("expiresAt", "must be an RFC 3339 time"))?,
            ),
        };
        let expired_url = o
            .str("expiredUrl")?
            .map(|u| DestinationUrl::parse(u, "expiredUrl", own_hosts))
            .transpose()?;
        if expired_url.is_some() && expires_at.is_none() {
            return Err(o.err("expiredUrl", "needs expiresAt"));
        }
        let password = match body.get("password") {
            None => PasswordChange::Keep,
            Some(Value::Null) => PasswordChange::Remove,
            Some(Value::String(p)) => PasswordChange::Set(Password::parse(p)?),
            Some(_) => return Err(o.err("password", "must be a string or null")),
        };
        Ok(NewLink {
            destination_url,
            campaign_id,
            tracking_policy,
            expires_at,
            expired_url,
            password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse_object;

    fn parse(s: &str) -> Result<NewLink, ApiError> {
        NewLink::parse(&parse_object(s.as_bytes())?, &["sho.rt"])
    }

    #[test]
    fn guide_step_two_body() {
        let l = parse(r#"{"destinationUrl":"https://shop.example.com/spring","campaignId":"spring-launch","trackingPolicy":{"mode":"DIRECT","appendContextParam":true}}"#).unwrap();
        assert_eq!(
            l.destination_url.as_str(),
            "https://shop.example.com/spring"
        );
        assert_eq!(l.campaign_id.unwrap().as_str(), "spring-launch");
        assert_eq!(
            l.tracking_policy,
            TrackingPolicy {
                mode: TrackingMode::Direct,
                append_context_param: true,
                context_param_name: "ctx".into(),
                forward_query: true
            }
        );
    }

    #[test]
    fn defaults() {
        let l = parse(r#"{"destinationUrl":"https://e.com"}"#).unwrap();
        assert_eq!(l.tracking_policy, TrackingPolicy::default());
        assert!(l.campaign_id.is_none());
    }

    #[test]
    fn bad_bodies() {
        let cases = [
            (r#"{}"#, "invalid_field", "missing destination"),
            (
                r#"{"destinationUrl":"javascript:alert(1)"}"#,
                "invalid_field",
                "javascript",
            ),
            (
                r#"{"destinationUrl":"http://192.168.0.1/"}"#,
                "invalid_field",
                "private ip",
            ),
            (r#"{"destinationUrl":42}"#, "invalid_field", "number"),
            (
                r#"{"destinationUrl":"https://e.com","campaignId":"NO"}"#,
                "invalid_campaign_id",
                "bad campaign",
            ),
            (
                r#"{"destinationUrl":"https://e.com","trackingPolicy":{"mode":"LOUD"}}"#,
                "invalid_field",
                "mode",
            ),
            (
                r#"{"destinationUrl":"https://e.com","trackingPolicy":{"contextParamName":"1x"}}"#,
                "invalid_field",
                "param name",
            ),
            (
                r#"{"destinationUrl":"https://e.com","trackingPolicy":{"appendContextParam":"yes"}}"#,
                "invalid_field",
                "bool",
            ),
            (
                r#"{"destinationUrl":"https://e.com","trackingPolicy":[]}"#,
                "invalid_field",
                "policy array",
            ),
            (
                r#"{"destinationUrl":"https://e.com","trackingPolicy":{"mode":"AGGREGATE_ONLY","appendContextParam":true}}"#,
                "invalid_field",
                "aggregate-only with a context param",
            ),
        ];
        for (body, code, why) in cases {
            assert_eq!(parse(body).err().map(|e| e.code()), Some(code), "{why}");
        }
    }

    #[test]
    fn controls() {
        let l = parse(r#"{"destinationUrl":"https://e.com","expiresAt":"2026-12-31T00:00:00Z","expiredUrl":"https://e.com/over","password":"hunter22"}"#).unwrap();
        assert_eq!(l.expires_at, parse_rfc3339("2026-12-31T00:00:00.000Z"));
        assert_eq!(l.expired_url.unwrap().as_str(), "https://e.com/over");
        assert_eq!(
            l.password,
            PasswordChange::Set(Password::parse("hunter22").unwrap())
        );
        let keep = parse(r#"{"destinationUrl":"https://e.com"}"#).unwrap();
        assert_eq!(
            (keep.expires_at, keep.password),
            (None, PasswordChange::Keep)
        );
        let rm = parse(r#"{"destinationUrl":"https://e.com","password":null}"#).unwrap();
        assert_eq!(rm.password, PasswordChange::Remove);
        for (body, field) in [
            (
                r#"{"destinationUrl":"https://e.com","expiresAt":"tomorrow"}"#,
                "expiresAt",
            ),
            (
                r#"{"destinationUrl":"https://e.com","expiredUrl":"https://e.com/x"}"#,
                "expiredUrl",
            ),
            (
                r#"{"destinationUrl":"https://e.com","expiresAt":"2026-12-31T00:00:00Z","expiredUrl":"https://sho.rt/x"}"#,
                "expiredUrl",
            ),
            (
                r#"{"destinationUrl":"https://e.com","password":"abc"}"#,
                "password",
            ),
            (
                r#"{"destinationUrl":"https://e.com","password":1234}"#,
                "password",
            ),
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.code(), "invalid_field", "{body}");
            assert!(
                e.to_string().contains(field) || format!("{e:?}").contains(field),
                "{body}: {e:?}"
            );
        }
    }

    #[test]
    fn param_names() {
        for n in ["ctx", "_x", "A1", &"a".repeat(32)] {
            assert!(is_param_name(n), "{n}");
        }
        for n in ["", "1a", "a-b", "a b", &"a".repeat(33)] {
            assert!(!is_param_name(n), "{n}");
        }
    }
}
