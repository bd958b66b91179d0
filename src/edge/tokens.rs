//! `…/tokens`: personal access tokens (JWT only: a PAT can never mint a PAT).
//! CREATOR+ manage their own tokens; ADMIN+ see and revoke everyone's.

use crate::core::auth::{sha256_hex, Principal, Role};
use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::{random_hex, Handle};
use crate::core::json::parse_object;
use crate::core::paging::Page;
use crate::core::time::rfc3339;
use crate::core::token::{looks_like_pat, new_secret, NewToken};
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, opt_int, opt_text, text};
use crate::edge::http::{self, read_body, Query, MAX_BODY};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

#[derive(Deserialize)]
struct TokenRow {
    token_id: String,
    handle: String,
    name: String,
    scopes_json: String,
    created_by: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

const COLUMNS: &str = "token_id, handle, name, scopes_json, created_by, created_at, expires_at, last_used_at, revoked_at";

impl TokenRow {
    fn scopes(&self) -> Vec<String> {
        serde_json::from_str(&self.scopes_json).unwrap_or_default()
    }
    fn to_json(&self) -> Value {
        json!({
            "id": self.token_id,
            "name": self.name,
            "scopes": self.scopes(),
            "createdBy": self.created_by,
            "createdAt": rfc3339(self.created_at),
            "expiresAt": self.expires_at.map(rfc3339),
            "lastUsedAt": self.last_used_at.map(rfc3339),
        })
    }
}

fn caller_role(ctx: &Ctx, h: &Handle) -> ApiResult<(Role, String)> {
    match &ctx.principal {
        Some(p @ Principal::Jwt(_)) => Ok((
            p.role_on(h.as_str()).ok_or(ApiError::Forbidden)?,
            p.subject().to_string(),
        )),
        _ => Err(ApiError::Forbidden),
    }
}

pub async fn create(ctx: &Ctx, req: &mut Request, h: Handle) -> ApiResult<Response> {
    let (role, sub) = caller_role(ctx, &h)?;
    let body = parse_object(&read_body(req, MAX_BODY).await?)?;
    let now = http::wall_ms();
    let new = NewToken::parse(&body, role, now)?;
    let (secret, hash) = new_secret()?;
    let id = format!("tok_{}", random_hex(8)?);
    let scopes =
        serde_json::to_string(&new.scopes).map_err(|e| ApiError::Internal(e.to_string()))?;
    ctx.db
        .run(
            "INSERT INTO tokens (token_id, handle, name, scopes_json, secret_hash, created_by, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)",
            &[text(&id), text(h.as_str()), text(&new.name), text(&scopes), text(&hash), text(&sub), int(now), opt_int(new.expires_at)],
        )
        .await?;
    let row = lookup(ctx, &h, &id)
        .await?
        .ok_or_else(|| ApiError::Internal("token vanished".into()))?;
    http::created(json!({"token": row.to_json(), "secret": secret}))
}

async fn lookup(ctx: &Ctx, h: &Handle, id: &str) -> ApiResult<Option<TokenRow>> {
    ctx.db
        .first::<TokenRow>(
            &format!("SELECT {COLUMNS} FROM tokens WHERE handle = ? AND token_id = ? AND revoked_at IS NULL"),
            &[text(h.as_str()), text(id)],
        )
        .await
}

pub async fn list(ctx: &Ctx, req: &Request, h: Handle) -> ApiResult<Response> {
    let (role, sub) = caller_role(ctx, &h)?;
    let q = Query::of(req);
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    let mine_only = role < Role::Admin;
    let rows = ctx
        .db
        .all::<TokenRow>(
            &format!(
                "SELECT {COLUMNS} FROM tokens WHERE handle = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR created_by = ?2) \
                 AND (?3 IS NULL OR token_id > ?3) ORDER BY token_id LIMIT ?4"
            ),
            &[text(h.as_str()), opt_text(mine_only.then_some(sub.as_str())), opt_text(page.after.as_deref()), int(i64::from(page.limit) + 1)],
        )
        .await?;
    let (items, next) = page.split(rows, |r| r.token_id.clone());
    http::ok(
        json!({"tokens": items.iter().map(TokenRow::to_json).collect::<Vec<_>>(), "nextCursor": next}),
    )
}

pub async fn delete(ctx: &Ctx, h: Handle, id: String) -> ApiResult<Response> {
    let (role, sub) = caller_role(ctx, &h)?;
    let row = lookup(ctx, &h, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("Token".into()))?;
    if row.created_by != sub && role < Role::Admin {
        return Err(ApiError::Forbidden);
    }
    ctx.db
        .run(
            "UPDATE tokens SET revoked_at = ? WHERE handle = ? AND token_id = ?",
            &[int(http::now_ms()), text(h.as_str()), text(&id)],
        )
        .await?;
    http::no_content()
}

/// Resolve a `pat_…` bearer: unknown, revoked or expired → 401.
pub async fn authenticate(ctx: &Ctx, secret: &str) -> ApiResult<Principal> {
    let invalid = || {
        ApiError::Unauthorized(
            "The personal access token is not valid (unknown, revoked or expired).".into(),
        )
    };
    if !looks_like_pat(secret) {
        return Err(invalid());
    }
    let row = ctx
        .db
        .first::<TokenRow>(
            &format!("SELECT {COLUMNS} FROM tokens WHERE secret_hash = ?"),
            &[text(&sha256_hex(secret.as_bytes()))],
        )
        .await?
        .ok_or_else(invalid)?;
    let now = http::wall_ms();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid());
    }
    // lastUsedAt at one-minute resolution, written after the response.
    if row.last_used_at.is_none_or(|t| now - t > 60_000) {
        let db = ctx.db.clone();
        let id = row.token_id.clone();
        ctx.wctx.wait_until(async move {
            let _ = db
                .run(
                    "UPDATE tokens SET last_used_at = ? WHERE token_id = ?",
                    &[int(now), text(&id)],
                )
                .await;
        });
    }
    Ok(Principal::Pat {
        scopes: row.scopes(),
        token_id: row.token_id,
        handle: row.handle,
        created_by: row.created_by,
    })
}
