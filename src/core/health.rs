//! Campaign health checks: facts in, checks out. The edge gathers
//! the facts from D1 and the rollup; the wording and verdicts live here.

use crate::core::campaign::Status;
use crate::core::time::rfc3339;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// What the primary link looks like, if one is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimaryLink {
    NotSet,
    Missing(String),
    /// slug, the link's campaign (None if it has none)
    Found {
        slug: String,
        campaign_id: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Facts {
    pub campaign_id: String,
    pub tracking_preset: String,
    pub conversion_event_type: String,
    pub primary_link: PrimaryLink,
    pub status: Status,
    pub tracked_clicks: i64,
    pub last_seen_ms: i64,
    pub test_conversions: i64,
    /// Enabled webhooks of the handle subscribed to a conversion event.
    pub conversion_webhooks: usize,
    /// Webhooks of the handle that are disabled (410 Gone, or too many
    /// exhausted events): they get no deliveries until re-enabled.
    pub disabled_webhooks: Vec<DisabledWebhook>,
    /// The rollup against the ledger, now.
    pub consistency: crate::core::consistency::Outcome,
    /// The last daily reconciliation: when, and its verdict.
    pub last_reconciliation: Option<(i64, Verdict)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledWebhook {
    pub id: String,
    pub url: String,
    pub disabled_at_ms: i64,
    pub reason: String,
}

pub const KNOWN_PRESETS: [&str; 5] = [
    "ga4_purchase",
    "ga4_lead",
    "ga4_sign_up",
    "custom_webhook",
    "ga4_app_install",
];

pub fn checks(f: &Facts) -> Vec<(&'static str, Verdict, String)> {
    let mut out = Vec::with_capacity(8);
    out.push(if KNOWN_PRESETS.contains(&f.tracking_preset.as_str()) {
        (
            "tracking_preset",
            Verdict::Pass,
            format!("Using tracking preset '{}'.", f.tracking_preset),
        )
    } else {
        (
            "tracking_preset",
            Verdict::Warn,
            format!(
                "Using custom tracking preset '{}': make sure your tag setup knows it.",
                f.tracking_preset
            ),
        )
    });
    out.push((
        "conversion_event_type",
        Verdict::Pass,
        format!("Using event type '{}'.", f.conversion_event_type),
    ));
    out.push(match &f.primary_link {
        PrimaryLink::NotSet => (
            "primary_link",
            Verdict::Fail,
            "No primary link configured: set primarySlug to a link of this campaign.".to_string(),
        ),
        PrimaryLink::Missing(s) => ("primary_link", Verdict::Fail, format!("Primary link '{s}' does not exist.")),
        PrimaryLink::Found { slug, campaign_id } => match campaign_id {
            Some(c) if *c == f.campaign_id => {
                ("primary_link", Verdict::Pass, format!("Primary link configured: {slug}"))
            }
            Some(c) => (
                "primary_link",
                Verdict::Fail,
                format!("Primary link '{slug}' belongs to campaign '{c}', not this one."),
            ),
            None => (
                "primary_link",
                Verdict::Fail,
                format!("Primary link '{slug}' is not associated with this campaign: set its campaignId."),
            ),
        },
    });
    out.push(match f.status {
        Status::Active => (
            "campaign_status",
            Verdict::Pass,
            "Campaign is ACTIVE and tracking.".to_string(),
        ),
        s => (
            "campaign_status",
            Verdict::Warn,
            format!(
                "Campaign is {}: clicks and conversions are not tracked until it is ACTIVE.",
                s.as_str()
            ),
        ),
    });
    out.push(if f.tracked_clicks > 0 {
        (
            "click_seen",
            Verdict::Pass,
            format!(
                "{} tracked click(s); last at {}.",
                f.tracked_clicks,
                rfc3339(f.last_seen_ms)
            ),
        )
    } else {
        (
            "click_seen",
            Verdict::Warn,
            "No tracked click yet: click the short URL once to validate click/context tracking."
                .to_string(),
        )
    });
    out.push(if f.test_conversions > 0 {
        (
            "test_conversion",
            Verdict::Pass,
            format!("{} test conversion(s) received.", f.test_conversions),
        )
    } else {
        (
            "test_conversion",
            Verdict::Warn,
            "No test conversion yet: post one to test-conversion to complete activation."
                .to_string(),
        )
    });
    let needs_webhook = f.tracking_preset == "custom_webhook";
    out.push(match (needs_webhook, f.conversion_webhooks) {
        (true, 0) => (
            "webhook",
            Verdict::Fail,
            "Preset 'custom_webhook' needs a webhook subscribed to conversion events.".to_string(),
        ),
        (_, n) if n > 0 => (
            "webhook",
            Verdict::Pass,
            format!("{n} webhook(s) subscribed to conversion events."),
        ),
        _ => (
            "webhook",
            Verdict::Pass,
            format!("No webhook required for preset '{}'.", f.tracking_preset),
        ),
    });
    let daily = match f.last_reconciliation {
        Some((at, v)) => format!(
            " Last daily reconciliation: {} at {}.",
            v.as_str(),
            rfc3339(at)
        ),
        None => " No daily reconciliation has run yet.".to_string(),
    };
    out.push((
        "rollup_consistency",
        f.consistency.verdict,
        format!("{}{daily}", f.consistency.detail),
    ));
    // Only when there is something to say: a handle without disabled
    // webhooks keeps the eight checks above.
    if !f.disabled_webhooks.is_empty() {
        let list: Vec<String> = f
            .disabled_webhooks
            .iter()
            .map(|w| {
                format!(
                    "{} ({}) since {}: {}",
                    w.id,
                    w.url,
                    rfc3339(w.disabled_at_ms),
                    w.reason.trim_end_matches('.')
                )
            })
            .collect();
        out.push((
            "webhooks_enabled",
            Verdict::Warn,
            format!(
                "{} webhook(s) disabled and receiving no events: {}. Fix the endpoint, then POST …/webhooks/{{id}}/enable.",
                list.len(),
                list.join("; ")
            ),
        ));
    }
    out
}

pub fn report(f: &Facts) -> Value {
    let cs = checks(f);
    let ready = cs.iter().all(|(_, v, _)| *v != Verdict::Fail);
    json!({
        "campaignId": f.campaign_id,
        "checks": cs.iter().map(|(n, v, d)| json!({"name": n, "status": v.as_str(), "detail": d})).collect::<Vec<_>>(),
        "readiness": if ready { "READY" } else { "NOT_READY" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            campaign_id: "spring-launch".into(),
            tracking_preset: "ga4_purchase".into(),
            conversion_event_type: "purchase".into(),
            primary_link: PrimaryLink::Found {
                slug: "spring-promo".into(),
                campaign_id: Some("spring-launch".into()),
            },
            status: Status::Active,
            tracked_clicks: 0,
            last_seen_ms: 0,
            test_conversions: 0,
            conversion_webhooks: 0,
            disabled_webhooks: vec![],
            consistency: crate::core::consistency::compare(
                &Default::default(),
                &Default::default(),
                0,
            ),
            last_reconciliation: None,
        }
    }

    #[test]
    fn guide_step_three() {
        let r = report(&facts());
        assert_eq!(r["readiness"], "READY");
        let names: Vec<&str> = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "tracking_preset",
                "conversion_event_type",
                "primary_link",
                "campaign_status",
                "click_seen",
                "test_conversion",
                "webhook",
                "rollup_consistency"
            ]
        );
        assert_eq!(
            r["checks"][7]["detail"],
            "Rollup matches the ledger: 0 click(s), 0 bot click(s), 0 conversion(s). No daily reconciliation has run yet."
        );
        assert_eq!(
            r["checks"][0],
            json!({"name":"tracking_preset","status":"PASS","detail":"Using tracking preset 'ga4_purchase'."})
        );
        assert_eq!(
            r["checks"][1],
            json!({"name":"conversion_event_type","status":"PASS","detail":"Using event type 'purchase'."})
        );
        assert_eq!(
            r["checks"][2],
            json!({"name":"primary_link","status":"PASS","detail":"Primary link configured: spring-promo"})
        );
        assert_eq!(r["checks"][4]["status"], "WARN");
    }

    #[test]
    fn consistency_drift_warns_and_names_the_last_reconciliation() {
        use crate::core::consistency::{compare, Totals};
        let mut f = facts();
        let ledger = Totals {
            clicks: 3,
            ..Default::default()
        };
        f.consistency = compare(&Totals::default(), &ledger, 0);
        f.last_reconciliation = Some((1_772_020_800_000, Verdict::Pass));
        let r = report(&f);
        assert_eq!(r["readiness"], "READY", "a drift warns, it does not block");
        assert_eq!(r["checks"][7]["status"], "WARN");
        assert!(r["checks"][7]["detail"]
            .as_str()
            .unwrap()
            .ends_with("Last daily reconciliation: PASS at 2026-02-25T12:00:00.000Z."));
    }

    #[test]
    fn failures() {
        let mut f = facts();
        f.primary_link = PrimaryLink::NotSet;
        assert_eq!(report(&f)["readiness"], "NOT_READY");
        f.primary_link = PrimaryLink::Found {
            slug: "x".into(),
            campaign_id: Some("other".into()),
        };
        assert_eq!(report(&f)["checks"][2]["status"], "FAIL");
        let mut f = facts();
        f.tracking_preset = "custom_webhook".into();
        assert_eq!(report(&f)["checks"][6]["status"], "FAIL");
        f.conversion_webhooks = 1;
        assert_eq!(report(&f)["checks"][6]["status"], "PASS");
        assert_eq!(report(&f)["readiness"], "READY");
        let mut f = facts();
        f.disabled_webhooks = vec![DisabledWebhook {
            id: "wh_1".into(),
            url: "https://h.example/in".into(),
            disabled_at_ms: 1_772_020_800_000,
            reason: "The endpoint answered 410 Gone.".into(),
        }];
        let r = report(&f);
        assert_eq!(r["readiness"], "READY", "a disabled webhook warns");
        assert_eq!(r["checks"].as_array().unwrap().len(), 9);
        assert_eq!(
            r["checks"][8],
            json!({"name": "webhooks_enabled", "status": "WARN", "detail":
                "1 webhook(s) disabled and receiving no events: wh_1 (https://h.example/in) since 2026-02-25T12:00:00.000Z: \
                 The endpoint answered 410 Gone. Fix the endpoint, then POST …/webhooks/{id}/enable."})
        );
        let mut f = facts();
        f.status = Status::Draft;
        assert_eq!(report(&f)["checks"][3]["status"], "WARN");
        assert_eq!(report(&f)["readiness"], "READY");
    }
}
