//! Campaigns: goal types and their tracking defaults, the lifecycle, and the
//! create/patch bodies parsed into domain types.

use crate::core::error::ApiError;
use crate::core::ids::{CampaignId, Currency, Slug};
use crate::core::json::Obj;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalType {
    ProductSale,
    LeadCapture,
    Newsletter,
    AffiliateClickout,
    AppInstall,
}

impl GoalType {
    pub const ALL: [GoalType; 5] = [
        GoalType::ProductSale,
        GoalType::LeadCapture,
        GoalType::Newsletter,
        GoalType::AffiliateClickout,
        GoalType::AppInstall,
    ];

    pub fn parse(s: &str) -> Option<GoalType> {
        GoalType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GoalType::ProductSale => "PRODUCT_SALE",
            GoalType::LeadCapture => "LEAD_CAPTURE",
            GoalType::Newsletter => "NEWSLETTER",
            GoalType::AffiliateClickout => "AFFILIATE_CLICKOUT",
            GoalType::AppInstall => "APP_INSTALL",
        }
    }

    /// How the dashboard names the goal.
    pub fn label(self) -> &'static str {
        match self {
            GoalType::ProductSale => "Product sale",
            GoalType::LeadCapture => "Lead capture",
            GoalType::Newsletter => "Newsletter signup",
            GoalType::AffiliateClickout => "Affiliate clickout",
            GoalType::AppInstall => "App install",
        }
    }

    /// The documented goal-type defaults (the README's goalType table).
    pub fn default_preset(self) -> &'static str {
        match self {
            GoalType::ProductSale => "ga4_purchase",
            GoalType::LeadCapture => "ga4_lead",
            GoalType::Newsletter => "ga4_sign_up",
            GoalType::AffiliateClickout => "custom_webhook",
            GoalType::AppInstall => "ga4_app_install",
        }
    }

    pub fn default_event_type(self) -> &'static str {
        match self {
            GoalType::ProductSale => "purchase",
            GoalType::LeadCapture => "lead",
            GoalType::Newsletter => "newsletter_signup",
            GoalType::AffiliateClickout => "affiliate_click",
            GoalType::AppInstall => "app_install",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Active,
    Paused,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "DRAFT" => Some(Status::Draft),
            "ACTIVE" => Some(Status::Active),
            "PAUSED" => Some(Status::Paused),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "DRAFT",
            Status::Active => "ACTIVE",
            Status::Paused => "PAUSED",
        }
    }
    /// DRAFT→ACTIVE, ACTIVE→PAUSED, PAUSED→ACTIVE. Staying put is a no-op, not a transition.
    pub fn can_become(self, to: Status) -> bool {
        matches!(
            (self, to),
            (Status::Draft, Status::Active)
                | (Status::Active, Status::Paused)
                | (Status::Paused, Status::Active)
        ) || self == to
    }
    /// Only ACTIVE campaigns record clicks and accept live conversions.
    pub fn is_tracking(self) -> bool {
        self == Status::Active
    }
}

/// Tracking preset / event type names: short identifiers.
fn parse_token(o: &Obj<'_>, key: &str) -> Result<Option<String>, ApiError> {
    match o.str(key)? {
        None => Ok(None),
        Some(s)
            if !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') =>
        {
            Ok(Some(s.to_string()))
        }
        Some(_) => Err(o.err(
            key,
            "must be 1-64 characters of letters, digits, '_', '-' or '.'",
        )),
    }
}

fn parse_name(o: &Obj<'_>) -> Result<Option<String>, ApiError> {
    match o.str("name")? {
        Some(n) if n.chars().count() > 120 => Err(o.err("name", "must be at most 120 characters")),
        Some(n) if n.chars().any(|c| c.is_control()) => {
            Err(o.err("name", "must not contain control characters"))
        }
        n => Ok(n.map(str::to_string)),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCampaign {
    /// None: generate `cmp_…`.
    pub campaign_id: Option<CampaignId>,
    pub name: Option<String>,
    pub goal_type: GoalType,
    pub status: Status,
    pub tracking_preset: String,
    pub conversion_event_type: String,
    pub currency: Currency,
    pub primary_slug: Option<Slug>,
}

impl NewCampaign {
    pub fn parse(body: &Map<String, Value>) -> Result<NewCampaign, ApiError> {
        let o = Obj::new(body);
        // The campaign id is checked first: `invalid_campaign_id` is the documented error for it.
        let campaign_id = match body.get("campaignId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(CampaignId::parse(s)?),
            Some(_) => return Err(ApiError::InvalidCampaignId("(not a string)".into())),
        };
        o.only(&[
            "campaignId",
            "name",
            "goalType",
            "status",
            "trackingPreset",
            "conversionEventType",
            "currency",
            "primarySlug",
        ])?;
        let goal_type = match o.str("goalType")? {
            None => return Err(o.err("goalType", "is required")),
            Some(g) => GoalType::parse(g).ok_or_else(|| {
                o.err("goalType", "must be one of PRODUCT_SALE, LEAD_CAPTURE, NEWSLETTER, AFFILIATE_CLICKOUT, APP_INSTALL")
            })?,
        };
        let status = match o.str("status")? {
            None => Status::Draft,
            Some(s) => Status::parse(s)
                .ok_or_else(|| o.err("status", "must be one of DRAFT, ACTIVE, PAUSED"))?,
        };
        if status == Status::Paused {
            return Err(o.err("status", "must be DRAFT or ACTIVE for a new campaign"));
        }
        Ok(NewCampaign {
            campaign_id,
            name: parse_name(&o)?,
            goal_type,
            status,
            tracking_preset: parse_token(&o, "trackingPreset")?
                .unwrap_or_else(|| goal_type.default_preset().into()),
            conversion_event_type: parse_token(&o, "conversionEventType")?
                .unwrap_or_else(|| goal_type.default_event_type().into()),
            currency: match o.str("currency")? {
                None => Currency::usd(),
                Some(c) => Currency::parse(c, "currency")?,
            },
            primary_slug: o
                .str("primarySlug")?
                .map(|s| Slug::parse_field(s, "primarySlug"))
                .transpose()?,
        })
    }
}

/// `PATCH` body: only the fields present change. `primarySlug: null` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CampaignPatch {
    pub name: Option<Option<String>>,
    pub status: Option<Status>,
    pub primary_slug: Option<Option<Slug>>,
    pub currency: Option<Currency>,
}

impl CampaignPatch {
    pub fn parse(body: &Map<String, Value>) -> Result<CampaignPatch, ApiError> {
        let o = Obj::new(body);
        o.only(&["name", "status", "primarySlug", "currency"])?;
        let mut p = CampaignPatch::default();
        if body.contains_key("name") {
            p.name = Some(parse_name(&o)?);
        }
        if let Some(s) = o.str("status")? {
            p.status = Some(
                Status::parse(s)
                    .ok_or_else(|| o.err("status", "must be one of DRAFT, ACTIVE, PAUSED"))?,
            );
        } else if body.contains_key("status") {
            return Err(o.err("status", "must be one of DRAFT, ACTIVE, PAUSED"));
        }
        if body.contains_key("primarySlug") {
            p.primary_slug = Some(
                o.str("primarySlug")?
                    .map(|s| Slug::parse_field(s, "primarySlug"))
                    .transpose()?,
            );
        }
        if let Some(c) = o.str("currency")? {
            p.currency = Some(Currency::parse(c, "currency")?);
        } else if body.contains_key("currency") {
            return Err(o.err("currency", "must be an ISO 4217 code such as USD"));
        }
        if p == CampaignPatch::default() {
            return Err(ApiError::field(
                "body",
                "must set at least one of name, status, primarySlug, currency",
            ));
        }
        Ok(p)
    }
}

/// The activation steps returned with a new campaign (`quickStart`).
pub fn quick_start() -> [&'static str; 3] {
    [
        "Share the short URL in your campaign channel.",
        "Click once to validate click/context tracking.",
        "Post one conversion event to complete activation.",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse_object;

    fn new(body: &str) -> Result<NewCampaign, ApiError> {
        NewCampaign::parse(&parse_object(body.as_bytes())?)
    }

    #[test]
    fn guide_step_one_body() {
        let c = new(r#"{"campaignId":"spring-launch","goalType":"PRODUCT_SALE","status":"ACTIVE","primarySlug":"spring-promo"}"#).unwrap();
        assert_eq!(c.campaign_id.unwrap().as_str(), "spring-launch");
        assert_eq!(c.status, Status::Active);
        assert_eq!(c.tracking_preset, "ga4_purchase");
        assert_eq!(c.conversion_event_type, "purchase");
        assert_eq!(c.currency.as_str(), "USD");
        assert_eq!(c.primary_slug.unwrap().as_str(), "spring-promo");
    }

    #[test]
    fn goal_type_defaults_match_the_guide_table() {
        let table = [
            ("PRODUCT_SALE", "ga4_purchase", "purchase"),
            ("LEAD_CAPTURE", "ga4_lead", "lead"),
            ("NEWSLETTER", "ga4_sign_up", "newsletter_signup"),
            ("AFFILIATE_CLICKOUT", "custom_webhook", "affiliate_click"),
            ("APP_INSTALL", "ga4_app_install", "app_install"),
        ];
        for (g, preset, ev) in table {
            let c = new(&format!(r#"{{"goalType":"{g}"}}"#)).unwrap();
            assert_eq!(
                (c.tracking_preset.as_str(), c.conversion_event_type.as_str()),
                (preset, ev),
                "{g}"
            );
            assert_eq!(c.status, Status::Draft);
            assert!(c.campaign_id.is_none());
        }
        let c = new(r#"{"goalType":"LEAD_CAPTURE","trackingPreset":"custom_webhook","conversionEventType":"demo_booked"}"#).unwrap();
        assert_eq!(
            (c.tracking_preset.as_str(), c.conversion_event_type.as_str()),
            ("custom_webhook", "demo_booked")
        );
    }

    #[test]
    fn bad_bodies() {
        let cases: [(&str, &str); 9] = [
            (
                r#"{"campaignId":"X","goalType":"PRODUCT_SALE"}"#,
                "invalid_campaign_id",
            ),
            (
                r#"{"campaignId":5,"goalType":"PRODUCT_SALE"}"#,
                "invalid_campaign_id",
            ),
            (r#"{}"#, "invalid_field"),
            (r#"{"goalType":"SALE"}"#, "invalid_field"),
            (r#"{"goalType":1}"#, "invalid_field"),
            (
                r#"{"goalType":"PRODUCT_SALE","status":"PAUSED"}"#,
                "invalid_field",
            ),
            (
                r#"{"goalType":"PRODUCT_SALE","currency":"usd"}"#,
                "invalid_field",
            ),
            (r#"{"goalType":"PRODUCT_SALE","goal":"x"}"#, "invalid_field"),
            (
                r#"{"goalType":"PRODUCT_SALE","primarySlug":"Bad Slug"}"#,
                "invalid_field",
            ),
        ];
        for (body, code) in cases {
            assert_eq!(new(body).err().map(|e| e.code()), Some(code), "{body}");
        }
    }

    #[test]
    fn lifecycle() {
        use Status::*;
        let allowed = [(Draft, Active), (Active, Paused), (Paused, Active)];
        for from in [Draft, Active, Paused] {
            for to in [Draft, Active, Paused] {
                let expect = allowed.contains(&(from, to)) || from == to;
                assert_eq!(from.can_become(to), expect, "{from:?}->{to:?}");
            }
        }
    }

    #[test]
    fn patch() {
        let p = CampaignPatch::parse(
            &parse_object(br#"{"status":"ACTIVE","primarySlug":null}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(p.status, Some(Status::Active));
        assert_eq!(p.primary_slug, Some(None));
        assert!(CampaignPatch::parse(&parse_object(b"{}").unwrap()).is_err());
        assert!(
            CampaignPatch::parse(&parse_object(br#"{"goalType":"NEWSLETTER"}"#).unwrap()).is_err()
        );
    }
}
