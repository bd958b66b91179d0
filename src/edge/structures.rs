//! Campaign detail structures in R2 (`SITE_STRUCTURE`), their publication,
//! and the login-gated detail page `GET /{handle}/p/{slug}`.
//!
//! Each upsert claims the next version number in D1 first (primary key, so
//! two concurrent upserts can never get the same number), then writes a new
//! R2 object at its own key: objects are never overwritten.

use crate::core::auth::verify_jwt;
use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::{CampaignId, Handle, Slug};
use crate::core::json::parse_object;
use crate::core::structure::{object_key, Structure, MAX_STRUCTURE_BYTES};
use crate::core::time::rfc3339;
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, opt_int, text};
use crate::edge::http::{self, read_body, Query};
use crate::edge::{cache, campaigns};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Headers, Request, Response};

#[derive(Deserialize)]
struct VersionRow {
    version: i64,
    object_key: String,
    created_at: i64,
}

#[derive(Deserialize)]
struct PublishedRow {
    slug: String,
    campaign_id: String,
    version: i64,
    object_key: String,
    access: String,
    published_at: i64,
}

async fn read_object(ctx: &Ctx, key: &str) -> ApiResult<Value> {
    let bucket = ctx.env.bucket("SITE_STRUCTURE")?;
    let obj = bucket
        .get(key)
        .execute()
        .await?
        .ok_or_else(|| ApiError::Internal(format!("R2 object {key} missing")))?;
    let body = obj
        .body()
        .ok_or_else(|| ApiError::Internal("R2 object without body".into()))?;
    let text = body.text().await?;
    serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))
}

pub async fn put(ctx: &Ctx, req: &mut Request, h: Handle, id: CampaignId) -> ApiResult<Response> {
    let body = parse_object(&read_body(req, MAX_STRUCTURE_BYTES).await?)?;
    let st = Structure::parse(&body)?;
    campaigns::find(ctx, &h, id.as_str()).await?;
    let now = http::now_ms();
    let by = ctx
        .principal
        .as_ref()
        .map(|p| p.subject().to_string())
        .unwrap_or_default();
    // Claim the next version in one statement: D1 runs statements one at a
    // time, so MAX()+1 and the insert cannot interleave with another upsert.
    #[derive(Deserialize)]
    struct Claimed {
        version: i64,
        object_key: String,
    }
    let prefix = format!("site-structure/{}/campaigns/{}/v", h.as_str(), id.as_str());
    let claimed = ctx
        .db
        .first::<Claimed>(
            "INSERT INTO site_structures (handle, campaign_id, version, object_key, page_slug, created_by, created_at) \
             SELECT ?1, ?2, COALESCE(MAX(version), 0) + 1, ?3 || (COALESCE(MAX(version), 0) + 1) || '.json', ?4, ?5, ?6 \
             FROM site_structures WHERE handle = ?1 AND campaign_id = ?2 RETURNING version, object_key",
            &[text(h.as_str()), text(id.as_str()), text(&prefix), text(st.page_slug.as_str()), text(&by), int(now)],
        )
        .await?
        .ok_or_else(|| ApiError::Internal("version claim returned no row".into()))?;
    let (version, key) = (claimed.version, claimed.object_key);
    debug_assert_eq!(key, object_key(&h, &id, version));
    let bucket = ctx.env.bucket("SITE_STRUCTURE")?;
    let put = bucket
        .put(&key, st.to_json().to_string().into_bytes())
        .execute()
        .await;
    if let Err(e) = put {
        // Release the version so no row points at a missing object.
        let _ = ctx
            .db
            .run(
                "DELETE FROM site_structures WHERE handle = ? AND campaign_id = ? AND version = ?",
                &[text(h.as_str()), text(id.as_str()), int(version)],
            )
            .await;
        return Err(e.into());
    }
    http::created(json!({"version": version, "key": key}))
}

pub async fn get(ctx: &Ctx, req: &Request, h: Handle, id: CampaignId) -> ApiResult<Response> {
    campaigns::find(ctx, &h, id.as_str()).await?;
    let q = Query::of(req);
    let version = match q.get("version") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::field("version", "must be a positive integer"))?,
        ),
    };
    let row = ctx
        .db
        .first::<VersionRow>(
            "SELECT version, object_key, created_at FROM site_structures WHERE handle = ?1 AND campaign_id = ?2 \
             AND (?3 IS NULL OR version = ?3) ORDER BY version DESC LIMIT 1",
            &[text(h.as_str()), text(id.as_str()), opt_int(version)],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Site structure".into()))?;
    let published = ctx
        .db
        .first::<PublishedRow>(
            "SELECT slug, campaign_id, version, object_key, access, published_at FROM detail_pages WHERE handle = ? AND campaign_id = ?",
            &[text(h.as_str()), text(id.as_str())],
        )
        .await?;
    let doc = read_object(ctx, &row.object_key).await?;
    let latest = ctx
        .db
        .value::<Option<i64>>(
            "SELECT MAX(version) AS v FROM site_structures WHERE handle = ? AND campaign_id = ?",
            &[text(h.as_str()), text(id.as_str())],
            "v",
        )
        .await?
        .flatten()
        .unwrap_or(row.version);
    http::ok(json!({
        "campaignId": id.as_str(),
        "version": row.version,
        "latestVersion": latest,
        "key": row.object_key,
        "createdAt": rfc3339(row.created_at),
        "page": doc.get("page"),
        "schema": doc.get("schema"),
        "published": published.as_ref().map(|p| json!({"version": p.version, "slug": p.slug, "access": p.access, "publishedAt": rfc3339(p.published_at)})),
    }))
}

pub async fn publish(ctx: &Ctx, h: Handle, id: CampaignId) -> ApiResult<Response> {
    campaigns::find(ctx, &h, id.as_str()).await?;
    let row = ctx
        .db
        .first::<VersionRow>(
            "SELECT version, object_key, created_at FROM site_structures WHERE handle = ? AND campaign_id = ? ORDER BY version DESC LIMIT 1",
            &[text(h.as_str()), text(id.as_str())],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Site structure".into()))?;
    let slug = ctx
        .db
        .value::<String>(
            "SELECT page_slug FROM site_structures WHERE handle = ? AND campaign_id = ? AND version = ?",
            &[text(h.as_str()), text(id.as_str()), int(row.version)],
            "page_slug",
        )
        .await?
        .ok_or_else(|| ApiError::Internal("version row vanished".into()))?;
    if let Some(other) = ctx
        .db
        .value::<String>(
            "SELECT campaign_id FROM detail_pages WHERE handle = ? AND slug = ? AND campaign_id != ?",
            &[text(h.as_str()), text(&slug), text(id.as_str())],
            "campaign_id",
        )
        .await?
    {
        return Err(ApiError::field("page.slug", format!("is already the published detail page of campaign '{other}'")));
    }
    let now = http::now_ms();
    let upsert = ctx.db.stmt(
        "INSERT INTO detail_pages (handle, slug, campaign_id, version, object_key, access, published_at) VALUES (?,?,?,?,?,'FREE_WITH_LOGIN',?) \
         ON CONFLICT (handle, campaign_id) DO UPDATE SET slug = excluded.slug, version = excluded.version, \
         object_key = excluded.object_key, access = excluded.access, published_at = excluded.published_at",
        &[text(h.as_str()), text(&slug), text(id.as_str()), int(row.version), text(&row.object_key), int(now)],
    )?;
    let back = ctx.db.stmt(
        "UPDATE campaigns SET details_page_slug = ?, updated_at = ? WHERE handle = ? AND campaign_id = ?",
        &[text(&slug), int(now), text(h.as_str()), text(id.as_str())],
    )?;
    ctx.db.batch(vec![upsert, back]).await?;
    cache::invalidate();
    http::ok(json!({
        "campaignId": id.as_str(),
        "version": row.version,
        "key": row.object_key,
        "access": "FREE_WITH_LOGIN",
        "detailsPageSlug": slug,
        "url": format!("/{}/p/{slug}", h.as_str()),
    }))
}

fn session_token(req: &Request) -> Option<String> {
    if let Some(b) = http::bearer(req) {
        return Some(b);
    }
    let cookies = http::header(req, "cookie")?;
    crate::core::cookie::value(&cookies, "ef_session").map(str::to_string)
}

/// The published page: to a signed-in visitor (valid JWT as bearer or the
/// `ef_session` cookie) the page; to anyone else 401 with a login hint.
pub async fn detail_page(ctx: &Ctx, req: &Request, h: Handle, slug: Slug) -> ApiResult<Response> {
    let row = ctx
        .db
        .first::<PublishedRow>(
            "SELECT slug, campaign_id, version, object_key, access, published_at FROM detail_pages WHERE handle = ? AND slug = ?",
            &[text(h.as_str()), text(slug.as_str())],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Page".into()))?;
    let signed_in = session_token(req)
        .map(|t| verify_jwt(&t, &ctx.cfg.jwt, http::wall_ms() / 1000).is_ok())
        .unwrap_or(false);
    if !signed_in {
        let e = ApiError::Unauthorized(format!(
            "Sign in to view this page: open /app/ to sign in, or send Authorization: Bearer <jwt> (or the ef_session cookie). Access: {}.",
            row.access
        ));
        let resp = http::error_response(&e);
        resp.headers().set("x-login-url", "/app/")?;
        return Ok(resp);
    }
    let doc = read_object(ctx, &row.object_key).await?;
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "private, no-store")?;
    let body = json!({
        "handle": h.as_str(),
        "slug": row.slug,
        "campaignId": row.campaign_id,
        "version": row.version,
        "access": row.access,
        "page": doc.get("page"),
        "schema": doc.get("schema"),
    });
    Ok(http::respond(200, headers, body.to_string().into_bytes()))
}
