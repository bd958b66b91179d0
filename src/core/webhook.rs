//! Webhooks, pure: event types, subscription bodies, target URL rules, the
//! Standard Webhooks signature, and the retry schedule.

use crate::core::dest::DestinationUrl;
use crate::core::error::ApiError;
use crate::core::ids::fill_random;
use crate::core::json::Obj;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};
use url::{Host, Url};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    ConversionTested,
    ConversionCreated,
    CampaignActivated,
    CampaignPaused,
    ExperimentConcluded,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::ConversionTested,
        EventType::ConversionCreated,
        EventType::CampaignActivated,
        EventType::CampaignPaused,
        EventType::ExperimentConcluded,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversionTested => "conversion.tested",
            EventType::ConversionCreated => "conversion.created",
            EventType::CampaignActivated => "campaign.activated",
            EventType::CampaignPaused => "campaign.paused",
            EventType::ExperimentConcluded => "experiment.concluded",
        }
    }
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }
    pub fn is_conversion(self) -> bool {
        matches!(
            self,
            EventType::ConversionTested | EventType::ConversionCreated
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
}

impl NewWebhook {
    /// `allow_http`: plain `http` is accepted only to a loopback host, for local use.
    pub fn parse(
        body: &Map<String, Value>,
        allow_http: bool,
        own_hosts: &[&str],
    ) -> Result<NewWebhook, ApiError> {
        let o = Obj::new(body);
        o.only(&["url", "events"])?;
        let url = parse_target(o.req_str("url")?, allow_http, own_hosts)?;
        let list = o
            .str_array("events", 10)?
            .ok_or_else(|| o.err("events", "is required"))?;
        if list.is_empty() {
            return Err(o.err("events", "must list at least one event"));
        }
        let mut events = Vec::new();
        for e in list {
            let ev = EventType::parse(e).ok_or_else(|| {
                o.err("events", "must list conversion.tested, conversion.created, campaign.activated or campaign.paused")
            })?;
            if !events.contains(&ev) {
                events.push(ev);
            }
        }
        Ok(NewWebhook { url, events })
    }
}

fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// `https` to a public host; `http` only to loopback and only when allowed.
pub fn parse_target(raw: &str, allow_http: bool, own_hosts: &[&str]) -> Result<String, ApiError> {
    let bad = |m: &str| ApiError::field("url", m);
    if let Ok(u) = Url::parse(raw) {
        if u.scheme() == "http" && is_loopback(&u) {
            return if allow_http && u.username().is_empty() && u.password().is_none() {
                Ok(u.to_string())
            } else {
                Err(bad(
                    "must be an https URL (http to loopback needs ALLOW_HTTP_WEBHOOKS)",
                ))
            };
        }
    }
    let d = DestinationUrl::parse(raw, "url", own_hosts)?;
    if !d.as_str().starts_with("https://") {
        return Err(bad("must be an https URL"));
    }
    Ok(d.as_str().to_string())
}

/// `whsec_` + base64 of 24 random bytes (the Standard Webhooks format).
pub fn new_secret() -> Result<String, ApiError> {
    let mut key = [0u8; 24];
    fill_random(&mut key)?;
    Ok(format!("whsec_{}", STANDARD.encode(key)))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
/// base64-decoded part of the secret after `whsec_`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> String {
    let key_b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD
        .decode(key_b64)
        .unwrap_or_else(|_| key_b64.as_bytes().to_vec());
    let mac =
        crate::core::auth::hmac_sha256(&key, format!("{msg_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac))
}

/// Tries per event and subscription, the first included.
pub const MAX_ATTEMPTS: u32 = 8;

/// Seconds to wait after failed try `attempt` (1-based): `base × 2^(attempt−1)`.
/// With base 60 s the 8 tries span 60+120+…+3840 s ≈ 2 h 7 min.
pub fn backoff_secs(attempt: u32, base: u32) -> u32 {
    crate::core::backoff::doubling_secs(attempt, base, u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse_object;

    #[test]
    fn standard_webhooks_reference_vector() {
        // The example from the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn targets() {
        let p = |u: &str, allow: bool| parse_target(u, allow, &["sho.rt"]);
        assert!(p("https://hooks.example.com/in", false).is_ok());
        assert!(
            p("http://hooks.example.com/in", true).is_err(),
            "plain http to a public host"
        );
        assert!(
            p("http://127.0.0.1:9000/hook", false).is_err(),
            "loopback http needs the flag"
        );
        assert!(p("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(
            p("https://10.1.2.3/hook", true).is_err(),
            "private targets are never allowed"
        );
        assert!(p("https://169.254.169.254/", true).is_err());
        assert!(p("https://sho.rt/x", false).is_err());
        assert!(p("https://u:p@hooks.example.com/", false).is_err());
    }

    #[test]
    fn bodies() {
        let ok = parse_object(br#"{"url":"https://h.example/","events":["conversion.tested","conversion.tested","campaign.paused"]}"#).unwrap();
        assert_eq!(
            NewWebhook::parse(&ok, false, &[]).unwrap().events,
            vec![EventType::ConversionTested, EventType::CampaignPaused]
        );
        for bad in [
            r#"{"url":"https://h.example/"}"#,
            r#"{"url":"https://h.example/","events":[]}"#,
            r#"{"url":"https://h.example/","events":["click.created"]}"#,
            r#"{"events":["campaign.paused"]}"#,
        ] {
            assert!(
                NewWebhook::parse(&parse_object(bad.as_bytes()).unwrap(), false, &[]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn schedule_spans_more_than_an_hour_in_at_least_five_tries() {
        let waits: u32 = (1..MAX_ATTEMPTS).map(|a| backoff_secs(a, 60)).sum();
        const { assert!(MAX_ATTEMPTS >= 5) };
        assert!(waits >= 3600, "{waits}");
        assert_eq!(backoff_secs(1, 60), 60);
        assert_eq!(backoff_secs(3, 60), 240);
        assert_eq!(backoff_secs(2, 0), 0);
    }

    #[test]
    fn secrets_have_the_standard_shape() {
        let s = new_secret().unwrap();
        assert!(s.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&s[6..]).unwrap().len(), 24);
    }
}
