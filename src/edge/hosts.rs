//! `…/hosts/{host}`: branded hosts. An OWNER (signed in: claiming a host
//! changes every short URL of the handle) claims a DNS name so that
//! `https://{host}/{slug}` serves the handle's link `{slug}` (`redirect`);
//! anyone who may read the handle's links lists them. A host belongs to one
//! handle at most: the `hosts` primary key decides a race, the loser gets 409.

use crate::core::error::{ApiError, ApiResult};
use crate::core::host::{self as host_name, Host};
use crate::core::ids::Handle;
use crate::core::time::rfc3339;
use crate::edge::cache;
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, text};
use crate::edge::http;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Response;

#[derive(Deserialize)]
struct HostRow {
    host: String,
    handle: String,
    created_at: i64,
}

impl HostRow {
    fn to_json(&self) -> Value {
        json!({"host": self.host, "handle": self.handle, "createdAt": rfc3339(self.created_at)})
    }
}

async fn lookup(ctx: &Ctx, host: &Host) -> ApiResult<Option<HostRow>> {
    ctx.db
        .first::<HostRow>(
            "SELECT host, handle, created_at FROM hosts WHERE host = ?",
            &[text(host.as_str())],
        )
        .await
}

/// The host of the handle's short URLs: its earliest claim (None: no
/// branded host, the short URLs are on the main host).
pub async fn primary(ctx: &Ctx, h: &Handle) -> ApiResult<Option<Host>> {
    let host: Option<String> = ctx
        .db
        .value(
            "SELECT host FROM hosts WHERE handle = ? ORDER BY created_at, host LIMIT 1",
            &[text(h.as_str())],
            "host",
        )
        .await?;
    Ok(host.map(Host::from_stored))
}

/// Refuse a destination on a claimed branded host: it is this service too, so
/// a link there would loop (or chain) through the redirect, counting a click
/// per hop, like a destination on `SHORT_HOSTS` (refused by `core::dest`).
/// The lookup is the redirect's cached one.
pub async fn refuse_loop(ctx: &Ctx, field: &str, url: &str) -> ApiResult<()> {
    let Some(host) = host_name::of_url(url).filter(|h| host_name::well_formed(h)) else {
        return Ok(());
    };
    match cache::host(&ctx.db, ctx.cfg.cache_ttl_ms, host, http::now_ms()).await? {
        Some(_) => Err(ApiError::field(
            field,
            "must not point at this short-link service (it would loop)",
        )),
        None => Ok(()),
    }
}

pub async fn list(ctx: &Ctx, h: Handle) -> ApiResult<Response> {
    let rows = ctx
        .db
        .all::<HostRow>(
            "SELECT host, handle, created_at FROM hosts WHERE handle = ? ORDER BY created_at, host",
            &[text(h.as_str())],
        )
        .await?;
    http::ok(json!({"hosts": rows.iter().map(HostRow::to_json).collect::<Vec<_>>()}))
}

/// Claim: 201 the first time, 200 when the handle holds it already, 409
/// `host_taken` when another handle does.
pub async fn put(ctx: &Ctx, h: Handle, host: Host) -> ApiResult<Response> {
    // The route parsed the name; the service's own hosts need the request.
    let host = Host::parse(host.as_str(), &ctx.own_hosts())?;
    let claimed = ctx
        .db
        .run(
            "INSERT INTO hosts (host, handle, created_at) VALUES (?, ?, ?) ON CONFLICT (host) DO NOTHING",
            &[text(host.as_str()), text(h.as_str()), int(http::now_ms())],
        )
        .await?;
    let row = lookup(ctx, &host)
        .await?
        .ok_or_else(|| ApiError::Internal("host vanished after its claim".into()))?;
    if row.handle != h.as_str() {
        return Err(ApiError::HostTaken(host.as_str().to_string()));
    }
    if claimed == 1 {
        cache::invalidate();
    }
    http::json(
        if claimed == 1 { 201 } else { 200 },
        &json!({"host": row.to_json()}),
    )
}

/// Release: 204, or 404 when the handle does not hold the host (whether
/// another handle does is not revealed).
pub async fn delete(ctx: &Ctx, h: Handle, host: Host) -> ApiResult<Response> {
    let n = ctx
        .db
        .run(
            "DELETE FROM hosts WHERE host = ? AND handle = ?",
            &[text(host.as_str()), text(h.as_str())],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound("Host".into()));
    }
    cache::invalidate();
    http::no_content()
}
