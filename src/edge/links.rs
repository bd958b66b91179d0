//! `…/links/{slug}`: create or replace (PUT), get, delete, list.

use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::{Handle, Slug};
use crate::core::link::{NewLink, PasswordChange, TrackingMode, TrackingPolicy};
use crate::core::paging::Page;
use crate::core::time::rfc3339;
use crate::edge::campaigns;
use crate::edge::ctx::Ctx;
use crate::edge::db::{flag, int, opt_int, opt_text, text};
use crate::edge::hosts;
use crate::edge::http::{self, json_body, Query, MAX_BODY};
use crate::edge::{access, cache};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

#[derive(Debug, Clone, Deserialize)]
pub struct LinkRow {
    pub slug: String,
    pub destination_url: String,
    pub campaign_id: Option<String>,
    pub mode: String,
    pub append_context: i64,
    pub context_param_name: String,
    pub forward_query: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
    pub expired_url: Option<String>,
    /// Whether a password hash is stored (the hash itself is never read here).
    pub protected: i64,
}

pub const COLUMNS: &str =
    "slug, destination_url, campaign_id, mode, append_context, context_param_name, forward_query, created_at, updated_at, \
     expires_at, expired_url, password_hash IS NOT NULL AS protected";

impl LinkRow {
    pub fn policy(&self) -> TrackingPolicy {
        TrackingPolicy {
            mode: TrackingMode::parse(&self.mode).unwrap_or(TrackingMode::Direct),
            append_context_param: self.append_context != 0,
            context_param_name: self.context_param_name.clone(),
            forward_query: self.forward_query != 0,
        }
    }

    /// `base`: where the handle's short links live (`short_base`).
    pub fn to_json(&self, h: &Handle, base: &str) -> Value {
        json!({
            "handle": h.as_str(),
            "slug": self.slug,
            "shortUrl": format!("{base}/{}", self.slug),
            "destinationUrl": self.destination_url,
            "campaignId": self.campaign_id,
            "trackingPolicy": self.policy().to_json(),
            "expiresAt": self.expires_at.map(rfc3339),
            "expiredUrl": self.expired_url,
            "passwordProtected": self.protected != 0,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
        })
    }
}

pub fn origin(req: &Request) -> String {
    req.url()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Where the handle's short links live: `https://{host}` on its branded host
/// (the earliest claimed), else `{origin}/{handle}` on the host the request
/// came to.
pub async fn short_base(ctx: &Ctx, req: &Request, h: &Handle) -> ApiResult<String> {
    Ok(match hosts::primary(ctx, h).await? {
        Some(host) => format!("https://{host}"),
        None => format!("{}/{}", origin(req), h.as_str()),
    })
}

pub async fn lookup(ctx: &Ctx, h: &Handle, slug: &str) -> ApiResult<Option<LinkRow>> {
    ctx.db
        .first::<LinkRow>(
            &format!("SELECT {COLUMNS} FROM links WHERE handle = ? AND slug = ?"),
            &[text(h.as_str()), text(slug)],
        )
        .await
}

pub async fn put(ctx: &Ctx, req: &mut Request, h: Handle, slug: Slug) -> ApiResult<Response> {
    let mut body = json_body(req, MAX_BODY).await?;
    http::ascii_urls(&mut body, &["destinationUrl", "expiredUrl"]);
    let new = NewLink::parse(&body, &ctx.own_hosts())?;
    hosts::refuse_loop(ctx, "destinationUrl", new.destination_url.as_str()).await?;
    if let Some(u) = &new.expired_url {
        hosts::refuse_loop(ctx, "expiredUrl", u.as_str()).await?;
    }
    if let Some(c) = &new.campaign_id {
        campaigns::find(ctx, &h, c.as_str()).await?;
    }
    let existed = lookup(ctx, &h, slug.as_str()).await?.is_some();
    let now = http::now_ms();
    let p = &new.tracking_policy;
    // Absent `password` keeps the stored hash on a replace; `null` removes it.
    let (keep_password, password_hash) = match &new.password {
        PasswordChange::Keep => (true, None),
        PasswordChange::Remove => (false, None),
        PasswordChange::Set(pw) => (false, Some(access::hash(pw).await?.to_stored())),
    };
    ctx.db
        .run(
            "INSERT INTO links (handle, slug, destination_url, campaign_id, mode, append_context, context_param_name, \
             forward_query, created_at, updated_at, expires_at, expired_url, password_hash) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) \
             ON CONFLICT (handle, slug) DO UPDATE SET destination_url = excluded.destination_url, \
             campaign_id = excluded.campaign_id, mode = excluded.mode, append_context = excluded.append_context, \
             context_param_name = excluded.context_param_name, forward_query = excluded.forward_query, \
             updated_at = excluded.updated_at, expires_at = excluded.expires_at, expired_url = excluded.expired_url, \
             password_hash = CASE WHEN ?14 THEN links.password_hash ELSE excluded.password_hash END",
            &[
                text(h.as_str()),
                text(slug.as_str()),
                text(new.destination_url.as_str()),
                opt_text(new.campaign_id.as_ref().map(|c| c.as_str())),
                text(p.mode.as_str()),
                flag(p.append_context_param),
                text(&p.context_param_name),
                flag(p.forward_query),
                int(now),
                int(now),
                opt_int(new.expires_at),
                opt_text(new.expired_url.as_ref().map(|u| u.as_str())),
                opt_text(password_hash.as_deref()),
                flag(keep_password),
            ],
        )
        .await?;
    cache::invalidate();
    let row = lookup(ctx, &h, slug.as_str())
        .await?
        .ok_or_else(|| ApiError::Internal("link vanished after write".into()))?;
    http::json(
        if existed { 200 } else { 201 },
        &json!({"link": row.to_json(&h, &short_base(ctx, req, &h).await?)}),
    )
}

pub async fn get(ctx: &Ctx, req: &Request, h: Handle, slug: Slug) -> ApiResult<Response> {
    let row = lookup(ctx, &h, slug.as_str())
        .await?
        .ok_or(ApiError::LinkNotFound)?;
    http::ok(json!({"link": row.to_json(&h, &short_base(ctx, req, &h).await?)}))
}

pub async fn delete(ctx: &Ctx, h: Handle, slug: Slug) -> ApiResult<Response> {
    let n = ctx
        .db
        .run(
            "DELETE FROM links WHERE handle = ? AND slug = ?",
            &[text(h.as_str()), text(slug.as_str())],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::LinkNotFound);
    }
    cache::invalidate();
    http::no_content()
}

pub async fn list(ctx: &Ctx, req: &Request, h: Handle) -> ApiResult<Response> {
    let q = Query::of(req);
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    let campaign = q.get("campaignId").filter(|c| !c.is_empty());
    if let Some(c) = campaign {
        crate::core::ids::CampaignId::parse(c)?;
    }
    let rows = ctx
        .db
        .all::<LinkRow>(
            &format!(
                "SELECT {COLUMNS} FROM links WHERE handle = ?1 AND (?2 IS NULL OR campaign_id = ?2) \
                 AND (?3 IS NULL OR slug > ?3) ORDER BY slug LIMIT ?4"
            ),
            &[text(h.as_str()), opt_text(campaign), opt_text(page.after.as_deref()), int(i64::from(page.limit) + 1)],
        )
        .await?;
    let (items, next) = page.split(rows, |r| r.slug.clone());
    let o = short_base(ctx, req, &h).await?;
    http::ok(
        json!({"links": items.iter().map(|r| r.to_json(&h, &o)).collect::<Vec<_>>(), "nextCursor": next}),
    )
}
