//! `…/campaigns`: create, list, get, patch (lifecycle transitions).

use crate::core::campaign::{quick_start, CampaignPatch, NewCampaign, Status};
use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::{CampaignId, Handle};
use crate::core::paging::Page;
use crate::core::time::rfc3339;
use crate::core::webhook::EventType;
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, opt_int, opt_text, text};
use crate::edge::http::{self, json_body, Query, MAX_BODY};
use crate::edge::{cache, webhooks};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

#[derive(Debug, Clone, Deserialize)]
pub struct CampaignRow {
    pub campaign_id: String,
    pub name: Option<String>,
    pub goal_type: String,
    pub status: String,
    pub tracking_preset: String,
    pub conversion_event_type: String,
    pub currency: String,
    pub primary_slug: Option<String>,
    pub details_page_slug: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub activated_at: Option<i64>,
}

impl CampaignRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "campaignId": self.campaign_id,
            "name": self.name,
            "goalType": self.goal_type,
            "status": self.status,
            "trackingPreset": self.tracking_preset,
            "conversionEventType": self.conversion_event_type,
            "currency": self.currency,
            "primarySlug": self.primary_slug,
            "detailsPageSlug": self.details_page_slug,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
            "activatedAt": self.activated_at.map(rfc3339),
        })
    }
}

const COLUMNS: &str =
    "campaign_id, name, goal_type, status, tracking_preset, conversion_event_type, currency, \
                       primary_slug, details_page_slug, created_at, updated_at, activated_at";

/// A campaign of the handle, or 404 `campaign_not_found`.
pub async fn find(ctx: &Ctx, h: &Handle, id: &str) -> ApiResult<CampaignRow> {
    ctx.db
        .first::<CampaignRow>(
            &format!("SELECT {COLUMNS} FROM campaigns WHERE handle = ? AND campaign_id = ?"),
            &[text(h.as_str()), text(id)],
        )
        .await?
        .ok_or(ApiError::CampaignNotFound)
}

pub async fn create(ctx: &Ctx, req: &mut Request, h: Handle) -> ApiResult<Response> {
    let body = json_body(req, MAX_BODY).await?;
    let new = NewCampaign::parse(&body)?;
    let id = match new.campaign_id {
        Some(id) => id,
        None => CampaignId::generate()?,
    };
    let now = http::now_ms();
    let activated = (new.status == Status::Active).then_some(now);
    let changed = ctx
        .db
        .run(
            "INSERT INTO campaigns (handle, campaign_id, name, goal_type, status, tracking_preset, conversion_event_type, \
             currency, primary_slug, created_at, updated_at, activated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) \
             ON CONFLICT (handle, campaign_id) DO NOTHING",
            &[
                text(h.as_str()),
                text(id.as_str()),
                opt_text(new.name.as_deref()),
                text(new.goal_type.as_str()),
                text(new.status.as_str()),
                text(&new.tracking_preset),
                text(&new.conversion_event_type),
                text(new.currency.as_str()),
                opt_text(new.primary_slug.as_ref().map(|x| x.as_str())),
                int(now),
                int(now),
                opt_int(activated),
            ],
        )
        .await?;
    if changed == 0 {
        return Err(ApiError::CampaignConflict(id.into_string()));
    }
    cache::invalidate();
    let row = find(ctx, &h, id.as_str()).await?;
    if new.status == Status::Active {
        webhooks::emit(
            &ctx.env,
            &ctx.db,
            &h,
            EventType::CampaignActivated,
            row.to_json(),
        )
        .await;
    }
    http::created(json!({"campaign": row.to_json(), "quickStart": quick_start()}))
}

pub async fn list(ctx: &Ctx, req: &Request, h: Handle) -> ApiResult<Response> {
    let q = Query::of(req);
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    let status = match q.get("status") {
        None | Some("") => None,
        Some(st) => Some(
            Status::parse(st)
                .ok_or_else(|| ApiError::field("status", "must be one of DRAFT, ACTIVE, PAUSED"))?,
        ),
    };
    let rows = ctx
        .db
        .all::<CampaignRow>(
            &format!(
                "SELECT {COLUMNS} FROM campaigns WHERE handle = ?1 AND (?2 IS NULL OR status = ?2) \
                 AND (?3 IS NULL OR campaign_id > ?3) ORDER BY campaign_id LIMIT ?4"
            ),
            &[
                text(h.as_str()),
                opt_text(status.map(|x| x.as_str())),
                opt_text(page.after.as_deref()),
                int(i64::from(page.limit) + 1),
            ],
        )
        .await?;
    let (items, next) = page.split(rows, |r| r.campaign_id.clone());
    http::ok(
        json!({"campaigns": items.iter().map(CampaignRow::to_json).collect::<Vec<_>>(), "nextCursor": next}),
    )
}

pub async fn get(ctx: &Ctx, h: Handle, id: CampaignId) -> ApiResult<Response> {
    http::ok(json!({"campaign": find(ctx, &h, id.as_str()).await?.to_json()}))
}

pub async fn patch(ctx: &Ctx, req: &mut Request, h: Handle, id: CampaignId) -> ApiResult<Response> {
    let body = json_body(req, MAX_BODY).await?;
    let p = CampaignPatch::parse(&body)?;
    let row = find(ctx, &h, id.as_str()).await?;
    let from = row.status();
    let to = p.status.unwrap_or(from);
    if !from.can_become(to) {
        return Err(ApiError::InvalidTransition {
            from: from.as_str().into(),
            to: to.as_str().into(),
        });
    }
    let now = http::now_ms();
    let activated = if to == Status::Active && from != Status::Active {
        Some(now)
    } else {
        row.activated_at
    };
    let name = match &p.name {
        Some(n) => n.clone(),
        None => row.name.clone(),
    };
    let primary = match &p.primary_slug {
        Some(ps) => ps.as_ref().map(|x| x.as_str().to_string()),
        None => row.primary_slug.clone(),
    };
    let currency = p
        .currency
        .as_ref()
        .map(|c| c.as_str().to_string())
        .unwrap_or(row.currency.clone());
    // Compare-and-set on status: a concurrent transition cannot be overwritten.
    let changed = ctx
        .db
        .run(
            "UPDATE campaigns SET name = ?, status = ?, primary_slug = ?, currency = ?, updated_at = ?, activated_at = ? \
             WHERE handle = ? AND campaign_id = ? AND status = ?",
            &[
                opt_text(name.as_deref()),
                text(to.as_str()),
                opt_text(primary.as_deref()),
                text(&currency),
                int(now),
                opt_int(activated),
                text(h.as_str()),
                text(id.as_str()),
                text(from.as_str()),
            ],
        )
        .await?;
    if changed == 0 {
        let current = find(ctx, &h, id.as_str()).await?;
        return Err(ApiError::InvalidTransition {
            from: current.status,
            to: to.as_str().into(),
        });
    }
    cache::invalidate();
    let row = find(ctx, &h, id.as_str()).await?;
    let event = match (from == to, to) {
        (false, Status::Active) => Some(EventType::CampaignActivated),
        (false, Status::Paused) => Some(EventType::CampaignPaused),
        _ => None,
    };
    if let Some(ev) = event {
        webhooks::emit(&ctx.env, &ctx.db, &h, ev, row.to_json()).await;
    }
    http::ok(json!({"campaign": row.to_json()}))
}
