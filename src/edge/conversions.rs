//! `POST …/conversions` (live) and `POST …/campaigns/{id}/test-conversion`.
//!
//! Order of work: attribute (click → campaign), check the campaign and event
//! type, then write ledger + idempotency record in one D1 transaction, then
//! update the rollup. A repeat with the same idempotency key replays the first
//! response; with a different body it is 409.

use crate::core::auth::Principal;
use crate::core::click::Click;
use crate::core::conversion::{idempotency_key, NewConversion};
use crate::core::error::{ApiError, ApiResult};
use crate::core::funnel::{cents_to_f64, Dims, RollupEvent};
use crate::core::ids::{random_hex, CampaignId, Handle};
use crate::core::time::rfc3339;
use crate::core::webhook::EventType;
use crate::edge::campaigns::{self, CampaignRow};
use crate::edge::ctx::Ctx;
use crate::edge::db::{changes, flag, int, opt_int, opt_text, text, Db};
use crate::edge::http::{self, json_body, MAX_BODY};
use crate::edge::{clicks, rollup, webhooks};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

/// The click a conversion is attributed to.
#[derive(Debug, Clone, Deserialize)]
struct ClickRow {
    campaign_id: String,
    slug: String,
    rule_id: Option<String>,
    variant_id: Option<String>,
    #[serde(default)]
    experiment_id: Option<String>,
    country: String,
    device: String,
    source: String,
    segment: String,
}

impl ClickRow {
    /// A buffered click as the ledger will hold it.
    fn of(c: &Click) -> ClickRow {
        ClickRow {
            campaign_id: c.campaign.clone(),
            slug: c.slug.clone(),
            rule_id: c.rule_id.clone(),
            variant_id: c.variant_id.clone(),
            experiment_id: c.experiment_id.clone(),
            country: c.country.clone(),
            device: c.device.clone(),
            source: c.source.clone(),
            segment: c.segment.clone(),
        }
    }

    fn dims(&self) -> Dims {
        Dims::of(
            &self.slug,
            self.rule_id.as_deref(),
            &self.country,
            &self.device,
            &self.source,
            &self.segment,
        )
        .in_experiment(self.experiment_id.as_deref(), self.variant_id.as_deref())
    }
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
    accept(ctx, &h, conv, key_header, None).await
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
    accept(ctx, &h, conv, key_header, Some(id)).await
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

/// Accept a conversion: a repeat of a known idempotency key is answered
/// from its record; otherwise attribute, check, write, count and announce.
/// `test_campaign` is Some for a test conversion (campaign from the path).
async fn accept(
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
        if let Some(row) = prior_answer(&ctx.db, h, k).await? {
            return replay(&row, &conv.body_hash);
        }
    }
    let click = match &conv.click_id {
        Some(cid) => Some(attributed_click(&ctx.db, h, cid.as_str()).await?),
        None => None,
    };

    let campaign_id = campaign_of(test_campaign.as_ref(), click.as_ref(), &conv)?;
    let campaign: CampaignRow = campaigns::find(ctx, h, &campaign_id).await?;
    conv.check_event_type(&campaign.conversion_event_type)?;
    if !test && !campaign.status().is_tracking() {
        return Err(ApiError::CampaignNotTracking(campaign.status));
    }

    let now = http::now_ms();
    let record = Record {
        conversion_id: format!("cnv_{}", random_hex(12)?),
        campaign_id,
        currency: conv
            .currency
            .as_ref()
            .map(|c| c.as_str().to_string())
            .unwrap_or(campaign.currency.clone()),
        occurred_at: conv.occurred_at.unwrap_or(now),
        event_type: conv
            .event_type
            .clone()
            .unwrap_or(campaign.conversion_event_type.clone()),
        test,
        now,
    };
    let response = record.response(&conv, click.as_ref());
    if let Some(row) = write(
        ctx,
        h,
        &record,
        &conv,
        click.as_ref(),
        key.as_deref(),
        &response,
    )
    .await?
    {
        // Another request claimed the key first: its answer stands.
        return replay(&row, &conv.body_hash);
    }

    // The ledger row is committed; the rollup update is retried and, if it
    // still fails, parked (a rebuild from the ledger restores it anyway).
    let event = RollupEvent::conversion(
        record.conversion_id.clone(),
        test,
        record.occurred_at.min(now),
        click.as_ref().map(ClickRow::dims),
        conv.value_cents.unwrap_or(0),
        record.currency.clone(),
    );
    rollup::apply_or_park(
        &ctx.env,
        &ctx.db,
        h,
        &record.campaign_id,
        ctx.cfg.rollup_shards,
        vec![event],
    )
    .await;
    let kind = if test {
        EventType::ConversionTested
    } else {
        EventType::ConversionCreated
    };
    webhooks::emit(&ctx.env, &ctx.db, h, kind, response["conversion"].clone()).await;
    http::created(response)
}

async fn prior_answer(db: &Db, h: &Handle, key: &str) -> ApiResult<Option<IdemRow>> {
    db.first::<IdemRow>(
        "SELECT body_hash, status, response_json FROM idempotency WHERE handle = ? AND idem_key = ?",
        &[text(h.as_str()), text(key)],
    )
    .await
}

/// The click named by `clickId`: from the ledger, or, for a click so recent
/// that it still waits in a batch (a server-to-server postback can arrive
/// within milliseconds of its redirect), from this isolate's buffer, or from
/// the ledger once the batch of another isolate has landed (one wait of a
/// batching window); else 404.
async fn attributed_click(db: &Db, h: &Handle, click_id: &str) -> ApiResult<ClickRow> {
    let args = [text(h.as_str()), text(click_id)];
    let read = || {
        db.first::<ClickRow>(
            "SELECT click_id, campaign_id, slug, rule_id, variant_id, experiment_id, country, device, source, segment \
             FROM clicks WHERE handle = ? AND click_id = ?",
            &args,
        )
    };
    if let Some(row) = read().await? {
        return Ok(row);
    }
    if let Some(c) = clicks::buffered(h.as_str(), click_id) {
        return Ok(ClickRow::of(&c));
    }
    worker::Delay::from(std::time::Duration::from_millis(clicks::LEDGER_DELAY_MS)).await;
    if let Some(c) = clicks::buffered(h.as_str(), click_id) {
        return Ok(ClickRow::of(&c));
    }
    read()
        .await?
        .ok_or_else(|| ApiError::NotFound("Click".into()))
}

/// The campaign a conversion counts for: the path's (test), the click's
/// (which a given `campaignId` must match), or the given one.
fn campaign_of(
    test_campaign: Option<&CampaignId>,
    click: Option<&ClickRow>,
    conv: &NewConversion,
) -> ApiResult<String> {
    match (test_campaign, click, &conv.campaign_id) {
        (Some(t), _, _) => Ok(t.as_str().to_string()),
        (None, Some(c), Some(given)) if c.campaign_id != given.as_str() => Err(ApiError::field(
            "campaignId",
            "does not match the campaign of the click",
        )),
        (None, Some(c), _) => Ok(c.campaign_id.clone()),
        (None, None, Some(given)) => Ok(given.as_str().to_string()),
        (None, None, None) => Err(ApiError::field(
            "campaignId",
            "is required when clickId is absent",
        )),
    }
}

/// What the server decided about an accepted conversion.
struct Record {
    conversion_id: String,
    campaign_id: String,
    currency: String,
    occurred_at: i64,
    event_type: String,
    test: bool,
    now: i64,
}

impl Record {
    fn metadata(&self, conv: &NewConversion) -> serde_json::Map<String, Value> {
        let mut metadata = conv.metadata.clone();
        if self.test {
            metadata.insert("test".into(), Value::Bool(true));
        }
        metadata
    }

    fn response(&self, conv: &NewConversion, click: Option<&ClickRow>) -> Value {
        let attribution = click.map(|c| {
            json!({"slug": c.slug, "ruleId": c.rule_id, "variantId": c.variant_id,
                   "experimentId": c.experiment_id, "device": c.device,
                   "country": c.country, "source": c.source, "segment": c.segment})
        });
        json!({"conversion": {
            "conversionId": self.conversion_id,
            "campaignId": self.campaign_id,
            "clickId": conv.click_id.as_ref().map(|c| c.as_str()),
            "attributed": click.is_some(),
            "attribution": attribution,
            "eventType": self.event_type,
            "value": conv.value_cents.map(cents_to_f64),
            "currency": self.currency,
            "orderId": conv.order_id,
            "occurredAt": rfc3339(self.occurred_at),
            "metadata": self.metadata(conv),
            "test": self.test,
            "createdAt": rfc3339(self.now),
        }})
    }
}

/// Write the ledger row — with the idempotency claim in the same
/// transaction when there is a key, the row only written if this request's
/// claim won. `Some(record)` when another request had claimed the key.
async fn write(
    ctx: &Ctx,
    h: &Handle,
    r: &Record,
    conv: &NewConversion,
    click: Option<&ClickRow>,
    key: Option<&str>,
    response: &Value,
) -> ApiResult<Option<IdemRow>> {
    let insert = ctx.db.stmt(
        "INSERT INTO conversions (conversion_id, handle, campaign_id, click_id, slug, rule_id, country, device, source, \
         segment, event_type, value_cents, currency, order_id, occurred_at, metadata_json, test, created_at, \
         experiment_id, variant_id) \
         SELECT ?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?20,?21 \
         WHERE ?19 IS NULL OR (SELECT conversion_id FROM idempotency WHERE handle = ?2 AND idem_key = ?19) = ?1",
        &[
            text(&r.conversion_id),
            text(h.as_str()),
            text(&r.campaign_id),
            opt_text(conv.click_id.as_ref().map(|c| c.as_str())),
            opt_text(click.map(|c| c.slug.as_str())),
            opt_text(click.and_then(|c| c.rule_id.as_deref())),
            opt_text(click.map(|c| c.country.as_str())),
            opt_text(click.map(|c| c.device.as_str())),
            opt_text(click.map(|c| c.source.as_str())),
            opt_text(click.map(|c| c.segment.as_str())),
            text(&r.event_type),
            opt_int(conv.value_cents),
            text(&r.currency),
            opt_text(conv.order_id.as_deref()),
            int(r.occurred_at),
            text(&Value::Object(r.metadata(conv)).to_string()),
            flag(r.test),
            int(r.now),
            opt_text(key),
            opt_text(click.and_then(|c| c.experiment_id.as_deref())),
            opt_text(click.and_then(|c| c.variant_id.as_deref())),
        ],
    )?;
    let Some(k) = key else {
        ctx.db.batch(vec![insert]).await?;
        return Ok(None);
    };
    let claim = ctx.db.stmt(
        "INSERT INTO idempotency (handle, idem_key, body_hash, conversion_id, status, response_json, created_at) \
         VALUES (?,?,?,?,201,?,?) ON CONFLICT (handle, idem_key) DO NOTHING",
        &[text(h.as_str()), text(k), text(&conv.body_hash), text(&r.conversion_id), text(&response.to_string()), int(r.now)],
    )?;
    let results = ctx.db.batch(vec![claim, insert]).await?;
    if results.first().map(changes).unwrap_or(0) > 0 {
        return Ok(None);
    }
    prior_answer(&ctx.db, h, k)
        .await?
        .ok_or_else(|| ApiError::Internal("idempotency record vanished".into()))
        .map(Some)
}

/// A conversion as the ledger keeps it, for the rebuild.
#[derive(Debug, Clone, Deserialize)]
pub struct ConversionRow {
    pub conversion_id: String,
    slug: Option<String>,
    rule_id: Option<String>,
    country: Option<String>,
    device: Option<String>,
    source: Option<String>,
    segment: Option<String>,
    value_cents: Option<i64>,
    currency: String,
    occurred_at: i64,
    test: i64,
    created_at: i64,
    experiment_id: Option<String>,
    variant_id: Option<String>,
}

impl ConversionRow {
    /// Its rollup event, as `accept` applied it.
    pub fn rollup_event(&self) -> RollupEvent {
        let dims = match (
            &self.slug,
            &self.country,
            &self.device,
            &self.source,
            &self.segment,
        ) {
            (Some(slug), Some(country), Some(device), Some(source), Some(segment)) => Some(
                Dims::of(
                    slug,
                    self.rule_id.as_deref(),
                    country,
                    device,
                    source,
                    segment,
                )
                .in_experiment(self.experiment_id.as_deref(), self.variant_id.as_deref()),
            ),
            _ => None,
        };
        RollupEvent::conversion(
            self.conversion_id.clone(),
            self.test != 0,
            self.occurred_at.min(self.created_at),
            dims,
            self.value_cents.unwrap_or(0),
            self.currency.clone(),
        )
    }
}

/// One page of a campaign's conversions in id order, after `after`.
pub async fn ledger_page(
    db: &Db,
    h: &Handle,
    campaign: &str,
    after: &str,
    limit: i64,
) -> ApiResult<Vec<ConversionRow>> {
    db.all::<ConversionRow>(
        "SELECT conversion_id, slug, rule_id, country, device, source, segment, value_cents, currency, occurred_at, test, \
         created_at, experiment_id, variant_id \
         FROM conversions WHERE handle = ? AND campaign_id = ? AND conversion_id > ? ORDER BY conversion_id LIMIT ?",
        &[text(h.as_str()), text(campaign), text(after), int(limit)],
    )
    .await
}
