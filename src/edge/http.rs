//! HTTP plumbing shared by every resource module: JSON responses, the error
//! envelope, bounded body reading, query strings, and the clock.

use crate::core::error::{ApiError, ApiResult};
use crate::core::json::parse_object;
use serde_json::{Map, Value};
use worker::{Headers, Request, Response, ResponseBuilder};

/// Default body limit; site structures allow 256 KiB.
pub const MAX_BODY: usize = crate::core::catalog::MAX_BODY_BYTES;

thread_local! {
    /// Local development only (`POST /v2/dev/clock`): shifts this isolate's
    /// clock, so tests can cross a day boundary.
    static CLOCK_OFFSET_MS: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// The time events are recorded at (shifted by `POST /v2/dev/clock` in
/// local development).
pub fn now_ms() -> i64 {
    wall_ms() + CLOCK_OFFSET_MS.with(|c| c.get())
}

/// The real time, never shifted: what credentials expire by.
pub fn wall_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Shift this isolate's clock (local development only).
pub fn set_clock_offset(ms: i64) {
    CLOCK_OFFSET_MS.with(|c| c.set(ms));
}

/// Runtime failures become `ApiError::Internal`: the detail is logged once
/// where the error is answered (or where it is swallowed), never returned.
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

pub fn base_headers() -> Headers {
    let h = Headers::new();
    let _ = h.set("content-type", "application/json; charset=utf-8");
    let _ = h.set("cache-control", "no-store");
    h
}

pub fn json(status: u16, v: &Value) -> ApiResult<Response> {
    Ok(respond(status, base_headers(), v.to_string().into_bytes()))
}

/// Build a response; `ResponseBuilder::fixed` cannot fail, so no error path
/// (and no panic) exists here.
pub fn respond(status: u16, headers: Headers, body: Vec<u8>) -> Response {
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body)
}

pub fn ok(v: Value) -> ApiResult<Response> {
    json(200, &v)
}

pub fn created(v: Value) -> ApiResult<Response> {
    json(201, &v)
}

pub fn no_content() -> ApiResult<Response> {
    Ok(ResponseBuilder::new()
        .with_status(204)
        .with_headers(base_headers())
        .empty())
}

/// The error envelope. Never fails: a response must always go out.
pub fn error_response(e: &ApiError) -> Response {
    let h = base_headers();
    match e {
        ApiError::RateLimited { retry_after_secs } => {
            let _ = h.set("retry-after", &retry_after_secs.to_string());
        }
        ApiError::Unauthorized(_) => {
            let _ = h.set("www-authenticate", "Bearer");
        }
        _ => {}
    }
    respond(e.status(), h, e.to_json().to_string().into_bytes())
}

/// Read the body, refusing more than `max` bytes (413) and requiring JSON
/// content when a content type is given.
pub async fn read_body(req: &mut Request, max: usize) -> ApiResult<Vec<u8>> {
    if let Ok(Some(len)) = req.headers().get("content-length") {
        if len
            .trim()
            .parse::<usize>()
            .map(|n| n > max)
            .unwrap_or(false)
        {
            return Err(ApiError::PayloadTooLarge(max));
        }
    }
    if let Ok(Some(ct)) = req.headers().get("content-type") {
        // JSON is what we parse; curl's default form type and text/plain are
        // accepted too (the body must still be JSON), other types are refused.
        let ct = ct.to_ascii_lowercase();
        let ok = ct.starts_with("application/json")
            || ct.contains("+json")
            || ct.starts_with("text/plain")
            || ct.starts_with("application/x-www-form-urlencoded");
        if !ok {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|_| ApiError::InvalidJson("the body could not be read".into()))?;
    if bytes.len() > max {
        return Err(ApiError::PayloadTooLarge(max));
    }
    Ok(bytes)
}

pub async fn json_body(req: &mut Request, max: usize) -> ApiResult<Map<String, Value>> {
    let bytes = read_body(req, max).await?;
    parse_object(&bytes)
}

/// URL fields with non-ASCII text (internationalized domain names such as
/// `https://bücher.example/`) are put in their ASCII form first, by the
/// runtime's own WHATWG `URL` parser (UTS 46 mapping, punycode): exactly the
/// URL a browser navigates to. The core then validates that ASCII form (its
/// Rust URL parser is built without Unicode tables, which were 47 KB of the
/// gzipped bundle: `idna_adapter` 1.0 in Cargo.lock). Text the runtime cannot
/// parse is left as is and refused by the core.
pub fn ascii_urls(body: &mut Map<String, Value>, keys: &[&str]) {
    for (k, v) in body.iter_mut() {
        match v {
            Value::String(s) if keys.contains(&k.as_str()) && !s.is_ascii() => {
                if let Ok(u) = JsUrl::new(s) {
                    *s = u.href();
                }
            }
            Value::Object(m) => ascii_urls(m, keys),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(m) = item {
                        ascii_urls(m, keys);
                    }
                }
            }
            _ => {}
        }
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = URL)]
    type JsUrl;
    #[wasm_bindgen(constructor, catch, js_class = "URL")]
    fn new(url: &str) -> Result<JsUrl, wasm_bindgen::JsValue>;
    #[wasm_bindgen(method, getter)]
    fn href(this: &JsUrl) -> String;
}

/// Query parameters of a request, decoded.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn of(req: &Request) -> Query {
        match req.url() {
            Ok(u) => Query(
                u.query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
            Err(_) => Query(Vec::new()),
        }
    }
    /// 400 `invalid_field` naming the first parameter not in `allowed` (a
    /// misspelled filter is never silently ignored).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(ApiError::field(
                &k.chars().take(64).collect::<String>(),
                "is not a parameter of this route",
            )),
            None => Ok(()),
        }
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

pub fn bearer(req: &Request) -> Option<String> {
    let h = header(req, "authorization")?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Count one request against a rate-limiting binding; 429 `rate_limited` once
/// the key is over its limit. A missing binding (e.g. an older config) allows.
pub async fn rate_limit(
    env: &worker::Env,
    binding: &str,
    key: &str,
    period_secs: u32,
) -> ApiResult<()> {
    let Ok(limiter) = env.rate_limiter(binding) else {
        return Ok(());
    };
    match limiter.limit(key.to_string()).await {
        Ok(outcome) if !outcome.success => Err(ApiError::RateLimited {
            retry_after_secs: period_secs,
        }),
        Ok(_) => Ok(()),
        // The limiter itself failing must not take the API down with it.
        Err(e) => {
            crate::edge::log::event("rate_limiter_failed", &e.to_string());
            Ok(())
        }
    }
}

/// The client address as Cloudflare reports it (never stored).
pub fn client_ip(req: &Request) -> String {
    header(req, "cf-connecting-ip").unwrap_or_else(|| "unknown".into())
}
