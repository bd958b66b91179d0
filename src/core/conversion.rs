//! Conversion bodies: live (`POST …/conversions`) and test
//! (`POST …/campaigns/{id}/test-conversion`).

use crate::core::auth::sha256_hex;
use crate::core::error::ApiError;
use crate::core::funnel::to_cents;
use crate::core::ids::{CampaignId, ClickId, Currency};
use crate::core::json::Obj;
use crate::core::time::parse_rfc3339;
use serde_json::{Map, Value};

pub const MAX_METADATA_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct NewConversion {
    pub click_id: Option<ClickId>,
    pub campaign_id: Option<CampaignId>,
    /// None only for test conversions (defaults to the campaign's event type).
    pub event_type: Option<String>,
    pub value_cents: Option<i64>,
    pub currency: Option<Currency>,
    pub order_id: Option<String>,
    pub occurred_at: Option<i64>,
    pub metadata: Map<String, Value>,
    /// SHA-256 of the canonical body: a replay must carry the same body.
    pub body_hash: String,
}

fn parse_common(body: &Map<String, Value>, test: bool) -> Result<NewConversion, ApiError> {
    let o = Obj::new(body);
    if test {
        o.only(&[
            "eventType",
            "value",
            "currency",
            "orderId",
            "occurredAt",
            "metadata",
        ])?;
    } else {
        o.only(&[
            "clickId",
            "campaignId",
            "eventType",
            "value",
            "currency",
            "orderId",
            "occurredAt",
            "metadata",
        ])?;
    }
    let click_id = match o.str("clickId")? {
        None => None,
        Some(s) => Some(
            ClickId::parse(s)
                .ok_or_else(|| o.err("clickId", "must be a click id (clk_ + 24 characters)"))?,
        ),
    };
    let campaign_id = o.str("campaignId")?.map(CampaignId::parse).transpose()?;
    if !test && click_id.is_none() && campaign_id.is_none() {
        return Err(o.err("campaignId", "is required when clickId is absent"));
    }
    let event_type = match o.str("eventType")? {
        None if test => None,
        None => return Err(o.err("eventType", "is required")),
        Some(e) if !e.is_empty() && e.len() <= 64 => Some(e.to_string()),
        Some(_) => return Err(o.err("eventType", "must be 1-64 characters")),
    };
    let value_cents = match o.number("value")? {
        None => None,
        Some(v) => Some(
            to_cents(v)
                .ok_or_else(|| o.err("value", "must be a number >= 0 with at most 2 decimals"))?,
        ),
    };
    let currency = o
        .str("currency")?
        .map(|c| Currency::parse(c, "currency"))
        .transpose()?;
    let order_id = match o.str("orderId")? {
        Some(s) if s.is_empty() || s.len() > 128 => {
            return Err(o.err("orderId", "must be 1-128 characters"))
        }
        s => s.map(str::to_string),
    };
    let occurred_at = match o.str("occurredAt")? {
        None => None,
        Some(s) => Some(
            parse_rfc3339(s).ok_or_else(|| o.err("occurredAt", "must be an RFC 3339 timestamp"))?,
        ),
    };
    let metadata = o.object("metadata")?.cloned().unwrap_or_default();
    if Value::Object(metadata.clone()).to_string().len() > MAX_METADATA_BYTES {
        return Err(o.err("metadata", "must be at most 16 KiB of JSON"));
    }
    // serde_json's Map is ordered by key, so this serialization is canonical.
    let body_hash = sha256_hex(Value::Object(body.clone()).to_string().as_bytes());
    Ok(NewConversion {
        click_id,
        campaign_id,
        event_type,
        value_cents,
        currency,
        order_id,
        occurred_at,
        metadata,
        body_hash,
    })
}

impl NewConversion {
    pub fn parse(body: &Map<String, Value>) -> Result<NewConversion, ApiError> {
        parse_common(body, false)
    }
    pub fn parse_test(body: &Map<String, Value>) -> Result<NewConversion, ApiError> {
        parse_common(body, true)
    }
    /// `eventType` must equal the campaign's `conversionEventType`.
    pub fn check_event_type(&self, expected: &str) -> Result<(), ApiError> {
        match &self.event_type {
            Some(e) if e != expected => Err(ApiError::EventTypeMismatch {
                expected: expected.to_string(),
                got: e.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// The idempotency key of a conversion: the `Idempotency-Key` header, else `orderId`.
pub fn idempotency_key(
    header: Option<&str>,
    order_id: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match header {
        Some(h) if h.is_empty() || h.len() > 255 || !h.bytes().all(|b| b.is_ascii_graphic()) => {
            Err(ApiError::field(
                "Idempotency-Key",
                "must be 1-255 visible ASCII characters",
            ))
        }
        Some(h) => Ok(Some(format!("key:{h}"))),
        None => Ok(order_id.map(|o| format!("order:{o}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse_object;

    fn p(s: &str) -> Result<NewConversion, ApiError> {
        NewConversion::parse(&parse_object(s.as_bytes())?)
    }

    #[test]
    fn live_conversion() {
        let c = p(r#"{"clickId":"clk_aaaaaaaaaaaaaaaaaaaaaaaa","eventType":"purchase","value":99.99,"currency":"USD","orderId":"o-1"}"#).unwrap();
        assert_eq!(c.value_cents, Some(9999));
        assert_eq!(c.order_id.as_deref(), Some("o-1"));
        assert!(c.check_event_type("purchase").is_ok());
        assert_eq!(
            c.check_event_type("lead").err().map(|e| e.code()),
            Some("event_type_mismatch")
        );
    }

    #[test]
    fn same_body_same_hash_in_any_key_order() {
        let a = p(r#"{"campaignId":"abc","eventType":"lead","value":1}"#).unwrap();
        let b = p(r#"{"value":1,"eventType":"lead","campaignId":"abc"}"#).unwrap();
        let c = p(r#"{"value":2,"eventType":"lead","campaignId":"abc"}"#).unwrap();
        assert_eq!(a.body_hash, b.body_hash);
        assert_ne!(a.body_hash, c.body_hash);
    }

    #[test]
    fn bad_bodies() {
        let cases = [
            (
                r#"{"eventType":"purchase"}"#,
                "invalid_field",
                "no attribution",
            ),
            (r#"{"campaignId":"abc"}"#, "invalid_field", "no event type"),
            (
                r#"{"campaignId":"abc","eventType":"p","value":-1}"#,
                "invalid_field",
                "negative",
            ),
            (
                r#"{"campaignId":"abc","eventType":"p","value":1.234}"#,
                "invalid_field",
                "3 decimals",
            ),
            (
                r#"{"campaignId":"abc","eventType":"p","value":"5"}"#,
                "invalid_field",
                "string value",
            ),
            (
                r#"{"campaignId":"abc","eventType":"p","currency":"dollars"}"#,
                "invalid_field",
                "currency",
            ),
            (
                r#"{"clickId":"nope","eventType":"p"}"#,
                "invalid_field",
                "click id",
            ),
            (
                r#"{"campaignId":"A","eventType":"p"}"#,
                "invalid_campaign_id",
                "campaign id",
            ),
            (
                r#"{"campaignId":"abc","eventType":"p","occurredAt":"today"}"#,
                "invalid_field",
                "time",
            ),
            (
                r#"{"campaignId":"abc","eventType":"p","metadata":[1]}"#,
                "invalid_field",
                "metadata array",
            ),
            (
                r#"{"campaignId":"abc","eventType":"p","orderId":""}"#,
                "invalid_field",
                "empty order",
            ),
        ];
        for (body, code, why) in cases {
            assert_eq!(p(body).err().map(|e| e.code()), Some(code), "{why}");
        }
    }

    #[test]
    fn test_conversion_body_has_no_attribution() {
        let m = parse_object(br#"{"eventType":"purchase","value":99.99,"currency":"USD","metadata":{"orderId":"12345","items":3}}"#).unwrap();
        assert!(NewConversion::parse_test(&m).is_ok());
        let m = parse_object(br#"{"clickId":"clk_aaaaaaaaaaaaaaaaaaaaaaaa"}"#).unwrap();
        assert!(NewConversion::parse_test(&m).is_err());
        assert!(NewConversion::parse_test(&parse_object(b"{}").unwrap()).is_ok());
    }

    #[test]
    fn idempotency_keys() {
        assert_eq!(
            idempotency_key(Some("k1"), Some("o")).unwrap().as_deref(),
            Some("key:k1")
        );
        assert_eq!(
            idempotency_key(None, Some("o")).unwrap().as_deref(),
            Some("order:o")
        );
        assert_eq!(idempotency_key(None, None).unwrap(), None);
        assert!(idempotency_key(Some(""), None).is_err());
    }
}
