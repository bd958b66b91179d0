//! `GET …/links/{slug}/qr`: the link's QR code as SVG (`core::qr`), encoding
//! its short URL (on the branded host when the handle has one) with `src=qr`,
//! so scans are counted with source `qr`.

use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::{Handle, Slug};
use crate::core::qr::{scan_url, svg, QrOptions};
use crate::edge::ctx::Ctx;
use crate::edge::http::{self, Query};
use crate::edge::links;
use worker::{Headers, Request, Response};

pub async fn get(ctx: &Ctx, req: &Request, h: Handle, slug: Slug) -> ApiResult<Response> {
    let q = Query::of(req);
    let opts = QrOptions::parse(q.get("size"), q.get("margin"))?;
    links::lookup(ctx, &h, slug.as_str())
        .await?
        .ok_or(ApiError::LinkNotFound)?;
    let short = format!(
        "{}/{}",
        links::short_base(ctx, req, &h).await?,
        slug.as_str()
    );
    let body = svg(&scan_url(&short), opts)?;
    let headers = Headers::new();
    let _ = headers.set("content-type", "image/svg+xml; charset=utf-8");
    // Private (it answers an authenticated request) and short: a new branded
    // host changes the code.
    let _ = headers.set("cache-control", "private, max-age=60");
    let _ = headers.set("x-content-type-options", "nosniff");
    Ok(http::respond(200, headers, body.into_bytes()))
}
