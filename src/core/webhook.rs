//! Webhooks, pure: event types, subscription bodies, target URL rules, the
//! Standard Webhooks signature, and the retry schedule (Standard Webhooks
//! recommendations, jittered, `Retry-After`, when a subscription is disabled).

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

/// When each try happens, in seconds after the first (the Standard Webhooks
/// recommendations): at once, then about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 14 h, 20 h and 24 h after the first. `WEBHOOK_RETRY_BASE_SECS` is the
/// first retry's delay (5 by default); the whole schedule scales with it.
pub const SCHEDULE_SECS: [u32; 10] = [
    0, 5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400,
];

/// Tries per event and subscription, the first included.
pub const MAX_TRIES: u32 = SCHEDULE_SECS.len() as u32;

/// The first retry's delay in the unscaled schedule.
pub const DEFAULT_BASE_SECS: f64 = 5.0;

/// Each wait between two scheduled tries varies by up to ±15 %.
pub const JITTER: f64 = 0.15;

/// Cloudflare Queues delays a message by at most 12 h: longer waits hop.
pub const MAX_QUEUE_DELAY_SECS: u32 = 43_200;

/// A receiver's `Retry-After` is honoured up to a day.
pub const MAX_RETRY_AFTER_SECS: u32 = 86_400;

/// Events in a row that exhausted their tries before the subscription is disabled.
pub const DISABLE_AFTER_EXHAUSTED: i64 = 20;

/// Per-try timeout for a receiver.
pub const TIMEOUT_MS: u64 = 15_000;

/// Why a subscription was disabled (shown as `disabledReason`).
pub const REASON_GONE: &str = "The endpoint answered 410 Gone.";
pub const REASON_EXHAUSTED: &str = "20 events in a row exhausted all their tries.";

/// A number in [-1, 1) derived from `seed` (HMAC-SHA256): the same try of the
/// same event always gets the same jitter, different ones spread out.
pub fn jitter_unit(seed: &str) -> f64 {
    let mac = crate::core::auth::hmac_sha256(b"edge-funnel webhook jitter", seed.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&mac[..8]);
    // 53 random bits → [0, 1), then → [-1, 1).
    let unit = (u64::from_be_bytes(b) >> 11) as f64 / (1u64 << 53) as f64;
    unit * 2.0 - 1.0
}

/// When try `next_try` (2-based: the first retry is try 2) is due, in epoch
/// ms, given the first try's time. The wait from the previous *scheduled*
/// try is jittered by ±`JITTER`, so tries stay in order and anchored to the
/// first one (slow receivers do not push the schedule). `None`: no tries left.
pub fn scheduled_at_ms(
    first_at_ms: i64,
    next_try: u32,
    max_tries: u32,
    base_secs: f64,
    seed: &str,
) -> Option<i64> {
    if next_try < 2 || next_try > max_tries.min(MAX_TRIES) {
        return None;
    }
    let scale = scale(base_secs);
    let i = next_try as usize - 1;
    let prev = f64::from(SCHEDULE_SECS[i - 1]) * 1000.0 * scale;
    let wait = f64::from(SCHEDULE_SECS[i] - SCHEDULE_SECS[i - 1]) * 1000.0 * scale;
    let jittered = wait * (1.0 + JITTER * jitter_unit(seed));
    Some(first_at_ms + (prev + jittered).round() as i64)
}

fn scale(base_secs: f64) -> f64 {
    if base_secs.is_finite() && base_secs > 0.0 {
        base_secs / DEFAULT_BASE_SECS
    } else {
        1.0
    }
}

/// The `Retry-After` of a 429 or 503, in seconds (delay-seconds or an
/// HTTP-date), at most `MAX_RETRY_AFTER_SECS`; `None` for other statuses or
/// an unreadable value.
pub fn retry_after_secs(status: u16, header: Option<&str>, now_ms: i64) -> Option<u32> {
    if status != 429 && status != 503 {
        return None;
    }
    let v = header?.trim();
    let secs = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        v.parse::<u64>().unwrap_or(u64::MAX)
    } else {
        let at = parse_http_date(v)?;
        u64::try_from((at - now_ms).max(0).div_euclid(1000)).unwrap_or(0)
    };
    Some(secs.min(u64::from(MAX_RETRY_AFTER_SECS)) as u32)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110) → epoch ms.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let rest = s.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, mon, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == mon)? + 1;
    if day.len() != 2 || year.len() != 4 || time.len() != 8 {
        return None;
    }
    crate::core::time::parse_rfc3339(&format!("{year}-{m:02}-{day}T{time}Z"))
}

/// Seconds to ask the queue for, to wake at `at_ms`: at most
/// `MAX_QUEUE_DELAY_SECS` (a longer wait wakes early and hops again).
pub fn queue_delay_secs(at_ms: i64, now_ms: i64) -> u32 {
    let secs = ((at_ms - now_ms).max(0) + 500) / 1000;
    secs.min(i64::from(MAX_QUEUE_DELAY_SECS)) as u32
}

/// What one try's answer means for the subscription and the event.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Delivered,
    /// `410 Gone`: disable the subscription now.
    Gone,
    /// Try again at this time (epoch ms); `retry_after` if the receiver said so.
    Retry {
        at_ms: i64,
        retry_after: bool,
    },
    /// No tries left (or a redelivery, which is tried once).
    Exhausted,
}

/// The try's facts: `status` is `None` for a network error or a timeout.
#[derive(Debug, Clone, Copy)]
pub struct Try<'a> {
    pub status: Option<u16>,
    pub retry_after: Option<&'a str>,
    /// 1-based.
    pub number: u32,
    pub first_at_ms: i64,
    pub now_ms: i64,
    /// A manual redelivery is tried once, never retried.
    pub redelivery: bool,
}

pub fn decide(t: Try<'_>, max_tries: u32, base_secs: f64, seed: &str) -> Next {
    match t.status {
        Some(s) if (200..300).contains(&s) => return Next::Delivered,
        Some(410) => return Next::Gone,
        _ => {}
    }
    if t.redelivery || t.number >= max_tries.min(MAX_TRIES) {
        return Next::Exhausted;
    }
    if let Some(secs) = t
        .status
        .and_then(|s| retry_after_secs(s, t.retry_after, t.now_ms))
    {
        return Next::Retry {
            at_ms: t.now_ms + i64::from(secs) * 1000,
            retry_after: true,
        };
    }
    match scheduled_at_ms(t.first_at_ms, t.number + 1, max_tries, base_secs, seed) {
        Some(at) => Next::Retry {
            at_ms: at.max(t.now_ms),
            retry_after: false,
        },
        None => Next::Exhausted,
    }
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
    fn the_unscaled_schedule_is_the_standard_webhooks_one_within_the_jitter() {
        let first = 1_000_000_000_000;
        let expected = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];
        for seed in ["evt_a/wh_1", "evt_b/wh_1", "evt_c/wh_2", "x", ""] {
            let mut last = first;
            for (k, at_secs) in expected.iter().enumerate() {
                let n = k as u32 + 2;
                let at = scheduled_at_ms(
                    first,
                    n,
                    MAX_TRIES,
                    DEFAULT_BASE_SECS,
                    &format!("{seed}/{n}"),
                )
                .unwrap();
                let prev = if k == 0 { 0 } else { expected[k - 1] };
                let wait = f64::from(at_secs - prev) * 1000.0;
                let nominal = first + i64::from(prev) * 1000;
                let got = (at - nominal) as f64;
                assert!(
                    got >= wait * (1.0 - JITTER) - 1.0 && got <= wait * (1.0 + JITTER) + 1.0,
                    "try {n}: {got} vs {wait}"
                );
                assert!(at > last, "tries stay in order");
                // Never more than 15 % of the wait off the recommended time.
                assert!(
                    ((at - first) as f64 - f64::from(*at_secs) * 1000.0).abs()
                        <= wait * JITTER + 1.0
                );
                last = at;
            }
            assert_eq!(
                scheduled_at_ms(first, MAX_TRIES + 1, MAX_TRIES, DEFAULT_BASE_SECS, seed),
                None
            );
            assert_eq!(
                scheduled_at_ms(first, 1, MAX_TRIES, DEFAULT_BASE_SECS, seed),
                None
            );
        }
        assert_eq!(MAX_TRIES, 10);
    }

    #[test]
    fn jitter_is_bounded_deterministic_and_spread() {
        let vals: Vec<f64> = (0..2000)
            .map(|i| jitter_unit(&format!("evt_{i}/wh/2")))
            .collect();
        assert!(vals.iter().all(|v| (-1.0..1.0).contains(v)));
        assert_eq!(jitter_unit("a"), jitter_unit("a"));
        assert!(
            vals.iter().any(|v| *v < -0.9) && vals.iter().any(|v| *v > 0.9),
            "uses the whole range"
        );
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        assert!(mean.abs() < 0.1, "{mean}");
    }

    #[test]
    fn the_base_scales_the_whole_schedule() {
        let first = 0;
        // Base 0.05 s: 1/100 of the schedule; the try at 24 h comes at ~864 s.
        let at = scheduled_at_ms(first, 10, MAX_TRIES, 0.05, "s").unwrap();
        assert!((792_000..=877_000).contains(&at), "{at}");
        let at = scheduled_at_ms(first, 3, MAX_TRIES, 0.05, "s").unwrap();
        assert!((2_500..=3_500).contains(&at), "{at}");
        // A bad base falls back to the recommended schedule.
        let at = scheduled_at_ms(first, 2, MAX_TRIES, f64::NAN, "s").unwrap();
        assert!((4_250..=5_750).contains(&at), "{at}");
        // Fewer tries configured: the schedule stops earlier.
        assert_eq!(scheduled_at_ms(first, 5, 4, 5.0, "s"), None);
    }

    #[test]
    fn retry_after_is_read_on_429_and_503_only_and_bounded() {
        let now = 784_111_777_000 - 10_000; // 10 s before Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after_secs(503, Some("1"), now), Some(1));
        assert_eq!(retry_after_secs(429, Some(" 120 "), now), Some(120));
        assert_eq!(
            retry_after_secs(429, Some("99999999999999999999"), now),
            Some(MAX_RETRY_AFTER_SECS)
        );
        assert_eq!(
            retry_after_secs(503, Some("Sun, 06 Nov 1994 08:49:37 GMT"), now),
            Some(10)
        );
        assert_eq!(
            retry_after_secs(503, Some("Sun, 06 Nov 1994 08:49:37 GMT"), now + 60_000),
            Some(0),
            "a past date: now"
        );
        assert_eq!(retry_after_secs(500, Some("1"), now), None);
        assert_eq!(retry_after_secs(503, None, now), None);
        assert_eq!(retry_after_secs(503, Some("soon"), now), None);
        assert_eq!(retry_after_secs(503, Some("-3"), now), None);
        assert_eq!(
            retry_after_secs(503, Some("Sun, 06 Nov 1994 08:49:37 UTC"), now),
            None
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"), None);
    }

    #[test]
    fn queue_delays_are_capped_at_twelve_hours() {
        assert_eq!(queue_delay_secs(10_000, 0), 10);
        assert_eq!(queue_delay_secs(400, 0), 0);
        assert_eq!(queue_delay_secs(-5, 0), 0);
        assert_eq!(queue_delay_secs(86_400_000, 0), MAX_QUEUE_DELAY_SECS);
        assert_eq!(MAX_QUEUE_DELAY_SECS, 43_200);
    }

    #[test]
    fn decisions() {
        let t = |status: Option<u16>, ra: Option<&'static str>, number: u32| Try {
            status,
            retry_after: ra,
            number,
            first_at_ms: 0,
            now_ms: 1_000,
            redelivery: false,
        };
        let d = |t| decide(t, MAX_TRIES, 5.0, "seed");
        assert_eq!(d(t(Some(204), None, 1)), Next::Delivered);
        assert_eq!(d(t(Some(410), None, 1)), Next::Gone);
        assert_eq!(d(t(Some(410), None, MAX_TRIES)), Next::Gone);
        assert_eq!(
            d(t(Some(503), Some("7"), 1)),
            Next::Retry {
                at_ms: 8_000,
                retry_after: true
            }
        );
        assert_eq!(
            d(t(Some(429), Some("7"), MAX_TRIES)),
            Next::Exhausted,
            "no tries left"
        );
        assert!(matches!(
            d(t(Some(500), Some("7"), 1)),
            Next::Retry {
                retry_after: false,
                ..
            }
        ));
        assert!(
            matches!(d(t(None, None, 3)), Next::Retry { at_ms, retry_after: false } if (1_530_000..=2_070_000).contains(&at_ms))
        );
        assert_eq!(d(t(Some(500), None, MAX_TRIES)), Next::Exhausted);
        assert_eq!(
            decide(t(Some(500), None, 2), 2, 5.0, "s"),
            Next::Exhausted,
            "configured tries"
        );
        let mut r = t(Some(500), None, 1);
        r.redelivery = true;
        assert_eq!(d(r), Next::Exhausted, "a redelivery is tried once");
        r.status = Some(200);
        assert_eq!(d(r), Next::Delivered);
        // A try late past its time is retried now, not in the past.
        let mut late = t(Some(500), None, 1);
        late.now_ms = 60_000;
        assert_eq!(
            d(late),
            Next::Retry {
                at_ms: 60_000,
                retry_after: false
            }
        );
    }

    #[test]
    fn secrets_have_the_standard_shape() {
        let s = new_secret().unwrap();
        assert!(s.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&s[6..]).unwrap().len(), 24);
    }
}
