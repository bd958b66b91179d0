//! `POST …/conversions` (live) and `POST …/campaigns/{id}/test-conversion`.
//!
//! Order of work: attribute (click → campaign), check the campaign and event
//! type, then write ledger + idempotency record in one D1 transaction, then
//! update the rollup. A repeat with the same idempotency key replays the first
//! response; with a different body it is 409.

use crate::core::auth::Principal;
use crate::core::conversion::{idempotency_key, NewConversion};
use crate::core::error::{ApiError, ApiResult};
use crate::core::funnel::{cents_to_f64, Dims, EventKind, RollupEvent};
use crate::core::ids::{random_hex, CampaignId, Handle};
use crate::core::time::rfc3339;
use crate::core::webhook::EventType;
use crate::edge::campaigns::{self, CampaignRow};
use crate::edge::db::{changes, flag, int, opt_int, opt_text, text};
use crate::edge::http::{self, json_body, MAX_BODY};
use crate::edge::{rollup, webhooks, Ctx};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

#[derive(Debug, Clone, Deserialize)]
pub struct ClickRow {
    pub campaign_id: String,
    pub slug: String,
    pub rule_id: Option<String>,
    pub variant_id: Option<String>,
    pub country: String,
    pub device: String,
    pub source: String,
    pub segment: String,
}

#[derive(Deserialize)]
struct IdemRow {
    body_hash: String,
    status: i64,
    response_json: String,
}

pub async fn create(ctx: &Ctx, req: &mut Request, h: Handle) -> ApiResult<Response> {
    let key_header = http::header(req, "idempotency-key");
    let body = json_body(req, MAX_BODY).await?;
    let conv = NewConversion::parse(&body)?;
    if let Some(Principal::Pat { token_id, .. }) = &ctx.principal {
        http::rate_limit(&ctx.env, "CONVERSIONS_LIMITER", token_id, 60).await?;
    }
    record(ctx, &h, conv, key_header, None).await
}

pub async fn create_test(
    ctx: &Ctx,
    req: &mut Request,
    h: Handle,
    id: CampaignId,
) -> ApiResult<Response> {
    let key_header = http::header(req, "idempotency-key");
    let body = json_body(req, MAX_BODY).await?;
    let conv = NewConversion::parse_test(&body)?;
    http::rate_limit(
        &ctx.env,
        "TEST_CONVERSION_LIMITER",
        &format!("{h}/{id}"),
        60,
    )
    .await?;
    record(ctx, &h, conv, key_header, Some(id)).await
}

fn replay(row: &IdemRow, hash: &str) -> ApiResult<Response> {
    if row.body_hash != hash {
        return Err(ApiError::IdempotencyConflict);
    }
    let v: Value =
        serde_json::from_str(&row.response_json).map_err(|e| ApiError::Internal(e.to_string()))?;
    let resp = http::json(
        if row.status == 201 {
            200
        } else {
            row.status as u16
        },
        &v,
    )?;
    resp.headers().set("idempotency-replayed", "true")?;
    Ok(resp)
}

/// `test_campaign`: Some for a test conversion (campaign from the path).
async fn record(
    ctx: &Ctx,
    h: &Handle,
    conv: NewConversion,
    key_header: Option<String>,
    test_campaign: Option<CampaignId>,
) -> ApiResult<Response> {
    let test = test_campaign.is_some();
    let key = idempotency_key(key_header.as_deref(), conv.order_id.as_deref())?.map(|k| {
        if test {
            format!("test:{k}")
        } else {
            k
        }
    });
    // A repeat is answered from the record, before anything else is checked:
    // the first answer stands even if the campaign changed since.
    if let Some(k) = &key {
        if let Some(row) = ctx
            .db
            .first::<IdemRow>("SELECT body_hash, status, response_json FROM idempotency WHERE handle = ? AND idem_key = ?", &[text(h.as_str()), text(k)])
            .await?
        {
            return replay(&row, &conv.body_hash);
        }
    }

    let click = match &conv.click_id {
        Some(cid) => Some(
            ctx.db
                .first::<ClickRow>(
                    "SELECT click_id, campaign_id, slug, rule_id, variant_id, country, device, source, segment \
                     FROM clicks WHERE handle = ? AND click_id = ?",
                    &[text(h.as_str()), text(cid.as_str())],
                )
                .await?
                .ok_or_else(|| ApiError::NotFound("Click".into()))?,
        ),
        None => None,
    };
    let campaign_id: String = match (&test_campaign, &click, &conv.campaign_id) {
        (Some(t), _, _) => t.as_str().to_string(),
        (None, Some(c), Some(given)) if c.campaign_id != given.as_str() => {
            return Err(ApiError::field(
                "campaignId",
                "does not match the campaign of the click",
            ))
        }
        (None, Some(c), _) => c.campaign_id.clone(),
        (None, None, Some(given)) => given.as_str().to_string(),
        (None, None, None) => {
            return Err(ApiError::field(
                "campaignId",
                "is required when clickId is absent",
            ))
        }
    };
    let campaign: CampaignRow = campaigns::load(ctx, h, &campaign_id).await?;
    conv.check_event_type(&campaign.conversion_event_type)?;
    if !test && !campaign.status().is_tracking() {
        return Err(ApiError::CampaignNotTracking(campaign.status));
    }

    let now = http::now_ms();
    let conversion_id = format!("cnv_{}", random_hex(12)?);
    let currency = conv
        .currency
        .as_ref()
        .map(|c| c.as_str().to_string())
        .unwrap_or(campaign.currency.clone());
    let occurred_at = conv.occurred_at.unwrap_or(now);
    let event_type = conv
        .event_type
        .clone()
        .unwrap_or(campaign.conversion_event_type.clone());
    let mut metadata = conv.metadata.clone();
    if test {
        metadata.insert("test".into(), Value::Bool(true));
    }
    let attribution = click.as_ref().map(|c| {
        json!({"slug": c.slug, "ruleId": c.rule_id, "variantId": c.variant_id, "device": c.device,
               "country": c.country, "source": c.source, "segment": c.segment})
    });
    let response = json!({"conversion": {
        "conversionId": conversion_id,
        "campaignId": campaign_id,
        "clickId": conv.click_id.as_ref().map(|c| c.as_str()),
        "attributed": click.is_some(),
        "attribution": attribution,
        "eventType": event_type,
        "value": conv.value_cents.map(cents_to_f64),
        "currency": currency,
        "orderId": conv.order_id,
        "occurredAt": rfc3339(occurred_at),
        "metadata": metadata,
        "test": test,
        "createdAt": rfc3339(now),
    }});

    let insert = ctx.db.stmt(
        "INSERT INTO conversions (conversion_id, handle, campaign_id, click_id, slug, rule_id, country, device, source, \
         segment, event_type, value_cents, currency, order_id, occurred_at, metadata_json, test, created_at) \
         SELECT ?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18 \
         WHERE ?19 IS NULL OR (SELECT conversion_id FROM idempotency WHERE handle = ?2 AND idem_key = ?19) = ?1",
        &[
            text(&conversion_id),
            text(h.as_str()),
            text(&campaign_id),
            opt_text(conv.click_id.as_ref().map(|c| c.as_str())),
            opt_text(click.as_ref().map(|c| c.slug.as_str())),
            opt_text(click.as_ref().and_then(|c| c.rule_id.as_deref())),
            opt_text(click.as_ref().map(|c| c.country.as_str())),
            opt_text(click.as_ref().map(|c| c.device.as_str())),
            opt_text(click.as_ref().map(|c| c.source.as_str())),
            opt_text(click.as_ref().map(|c| c.segment.as_str())),
            text(&event_type),
            opt_int(conv.value_cents),
            text(&currency),
            opt_text(conv.order_id.as_deref()),
            int(occurred_at),
            text(&Value::Object(metadata.clone()).to_string()),
            flag(test),
            int(now),
            opt_text(key.as_deref()),
        ],
    )?;
    match &key {
        Some(k) => {
            // Claim the key and write the conversion in one transaction; the
            // insert only happens if this request's claim won.
            let claim = ctx.db.stmt(
                "INSERT INTO idempotency (handle, idem_key, body_hash, conversion_id, status, response_json, created_at) \
                 VALUES (?,?,?,?,201,?,?) ON CONFLICT (handle, idem_key) DO NOTHING",
                &[text(h.as_str()), text(k), text(&conv.body_hash), text(&conversion_id), text(&response.to_string()), int(now)],
            )?;
            let results = ctx.db.batch(vec![claim, insert]).await?;
            if results.first().map(changes).unwrap_or(0) == 0 {
                let row = ctx
                    .db
                    .first::<IdemRow>("SELECT body_hash, status, response_json FROM idempotency WHERE handle = ? AND idem_key = ?", &[text(h.as_str()), text(k)])
                    .await?
                    .ok_or_else(|| ApiError::Internal("idempotency record vanished".into()))?;
                return replay(&row, &conv.body_hash);
            }
        }
        None => {
            ctx.db.batch(vec![insert]).await?;
        }
    }

    let event = RollupEvent {
        id: conversion_id.clone(),
        kind: if test {
            EventKind::TestConversion
        } else {
            EventKind::Conversion
        },
        ts: occurred_at.min(now),
        bot: false,
        dims: click.as_ref().map(|c| Dims {
            source: c.source.clone(),
            country: c.country.clone(),
            device: c.device.to_ascii_lowercase(),
            segment: c.segment.clone(),
            link: c.slug.clone(),
            rule: c.rule_id.clone(),
        }),
        value_cents: conv.value_cents.unwrap_or(0),
        currency: Some(currency),
        count: 1,
    };
    // The ledger row is committed; the rollup update is retried and, if it
    // still fails, logged (a rebuild from the ledger restores it).
    rollup::apply_or_park(
        &ctx.env,
        &ctx.db,
        h,
        &campaign_id,
        ctx.cfg.rollup_shards,
        vec![event],
    )
    .await;
    let kind = if test {
        EventType::ConversionTested
    } else {
        EventType::ConversionCreated
    };
    webhooks::emit(ctx, h, kind, response["conversion"].clone()).await;
    http::created(response)
}

/// Rollup events for a campaign's ledger (used by the rebuild).
pub fn conversion_event(row: &ConversionRow) -> RollupEvent {
    RollupEvent {
        id: row.conversion_id.clone(),
        kind: if row.test != 0 {
            EventKind::TestConversion
        } else {
            EventKind::Conversion
        },
        ts: row.occurred_at.min(row.created_at),
        bot: false,
        dims: match (
            &row.slug,
            &row.country,
            &row.device,
            &row.source,
            &row.segment,
        ) {
            (Some(slug), Some(country), Some(device), Some(source), Some(segment)) => Some(Dims {
                source: source.clone(),
                country: country.clone(),
                device: device.to_ascii_lowercase(),
                segment: segment.clone(),
                link: slug.clone(),
                rule: row.rule_id.clone(),
            }),
            _ => None,
        },
        value_cents: row.value_cents.unwrap_or(0),
        currency: Some(row.currency.clone()),
        count: 1,
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConversionRow {
    pub conversion_id: String,
    pub slug: Option<String>,
    pub rule_id: Option<String>,
    pub country: Option<String>,
    pub device: Option<String>,
    pub source: Option<String>,
    pub segment: Option<String>,
    pub value_cents: Option<i64>,
    pub currency: String,
    pub occurred_at: i64,
    pub test: i64,
    pub created_at: i64,
}
