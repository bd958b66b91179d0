//! `POST /mcp`: the Model Context Protocol over streamable HTTP (JSON-RPC 2.0,
//! answered as `application/json`). Each tool is its REST twin: the call is
//! turned into the same method + path + body, resolved by the same route
//! table, authorized by the same `authorize` with the caller's PAT, and run by
//! the same handler. A tool therefore needs exactly the scope its REST route
//! needs, and failures come back as `isError` results carrying the API's
//! error envelope.

use crate::core::auth::{authorize, Principal};
use crate::core::error::{ApiError, ApiResult};
use crate::core::mcp::{origin_ok, protocol_header_ok, PROTOCOL_VERSIONS};
use crate::core::route::{resolve, Method, NoRoute, Route};
use crate::edge::ctx::Ctx;
use crate::edge::http::{self, read_body, MAX_BODY};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;
use url::form_urlencoded::byte_serialize;
use wasm_bindgen::JsValue;
use worker::{Headers, Request, RequestInit, Response};

/// The transport's checks, before any credential is looked at: a browser
/// `Origin` that is neither ours nor allowed is 403 (DNS rebinding), an
/// `MCP-Protocol-Version` we do not speak is 400.
pub fn transport_check(ctx: &Ctx, req: &Request, url: &worker::Url) -> ApiResult<()> {
    let own = url.origin().ascii_serialization();
    if !origin_ok(
        http::header(req, "origin").as_deref(),
        &own,
        &ctx.cfg.mcp_origins,
    ) {
        return Err(ApiError::OriginNotAllowed);
    }
    if !protocol_header_ok(http::header(req, "mcp-protocol-version").as_deref()) {
        return Err(ApiError::field(
            "MCP-Protocol-Version",
            format!("must be one of {}", PROTOCOL_VERSIONS.join(", ")),
        ));
    }
    Ok(())
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn rpc_result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// The router's `dispatch`, passed in rather than imported: the tools run
/// their REST twins through it, and the router is the one module that
/// imports every handler (this one included).
pub type Dispatch = for<'a> fn(&'a Ctx, Request, Route) -> Dispatched<'a>;
pub type Dispatched<'a> = Pin<Box<dyn Future<Output = ApiResult<Response>> + 'a>>;

pub async fn handle(ctx: &Ctx, req: &mut Request, dispatch: Dispatch) -> ApiResult<Response> {
    let Some(Principal::Pat { .. }) = &ctx.principal else {
        return Err(match ctx.principal {
            None => ApiError::Unauthorized(
                "The MCP endpoint needs a personal access token: Authorization: Bearer pat_…."
                    .into(),
            ),
            Some(_) => ApiError::Forbidden,
        });
    };
    // The tools' REST twins run on this request's origin, so the URLs they
    // return (a link's `shortUrl`) are real.
    let origin = req
        .url()
        .map(|u| u.origin().ascii_serialization())
        .map_err(ApiError::from)?;
    let origin = origin.as_str();
    let bytes = read_body(req, MAX_BODY).await?;
    let msg: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return http::json(400, &rpc_error(&Value::Null, -32700, "Parse error")),
    };
    let replies = match msg {
        Value::Array(items) if !items.is_empty() => {
            let mut out = Vec::new();
            for m in items {
                if let Some(r) = one(ctx, dispatch, origin, m).await {
                    out.push(r);
                }
            }
            if out.is_empty() {
                None
            } else {
                Some(Value::Array(out))
            }
        }
        m => one(ctx, dispatch, origin, m).await,
    };
    match replies {
        Some(v) => http::ok(v),
        // Only notifications / responses: 202 with no body (streamable HTTP).
        None => Ok(http::respond(202, Headers::new(), Vec::new())),
    }
}

/// Handle one JSON-RPC message; `None` for notifications.
async fn one(ctx: &Ctx, dispatch: Dispatch, origin: &str, m: Value) -> Option<Value> {
    let Value::Object(m) = m else {
        return Some(rpc_error(&Value::Null, -32600, "Invalid Request"));
    };
    let id = m.get("id").cloned();
    let method = m.get("method").and_then(Value::as_str);
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(rpc_error(
            &id.unwrap_or(Value::Null),
            -32600,
            "Invalid Request: jsonrpc must be \"2.0\"",
        ));
    }
    let Some(id) = id else {
        return None; // a notification (e.g. notifications/initialized)
    };
    let Some(method) = method else {
        // A request (it has an id) without a string method must still be answered.
        return Some(rpc_error(
            &id,
            -32600,
            "Invalid Request: method must be a string",
        ));
    };
    let params = m.get("params").cloned().unwrap_or(Value::Null);
    Some(match method {
        "initialize" => {
            let asked = params
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let version = PROTOCOL_VERSIONS
                .iter()
                .find(|v| **v == asked)
                .copied()
                .unwrap_or(PROTOCOL_VERSIONS[1]);
            rpc_result(
                &id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": "edge-funnel", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": "Manage edge-funnel campaigns, links, funnels, A/B experiments and campaign detail structures for the handle of your personal access token. Each tool needs the scope of its REST twin."
                }),
            )
        }
        "ping" => rpc_result(&id, json!({})),
        "tools/list" => rpc_result(&id, json!({"tools": *tools()})),
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            let args = params
                .get("arguments")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            match call_tool(ctx, dispatch, origin, name, args).await {
                Ok(result) => rpc_result(&id, result),
                Err(ToolError::Unknown) => rpc_error(
                    &id,
                    -32602,
                    &format!(
                        "Unknown tool: {}",
                        name.chars().take(64).collect::<String>()
                    ),
                ),
                Err(ToolError::Api(e)) => rpc_result(&id, tool_error(&e.to_json())),
            }
        }
        _ => rpc_error(&id, -32601, "Method not found"),
    })
}

fn tool_error(envelope: &Value) -> Value {
    json!({"content": [{"type": "text", "text": envelope.to_string()}], "structuredContent": envelope, "isError": true})
}

enum ToolError {
    Unknown,
    Api(ApiError),
}

impl From<ApiError> for ToolError {
    fn from(e: ApiError) -> Self {
        ToolError::Api(e)
    }
}

fn seg(v: &Value, key: &str) -> Result<String, ToolError> {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(byte_serialize(s.as_bytes()).collect()),
        _ => Err(ToolError::Api(ApiError::field(
            key,
            "is required and must be a string",
        ))),
    }
}

fn without(args: &Value, keys: &[&str]) -> Value {
    let mut m = args.as_object().cloned().unwrap_or_default();
    for k in keys {
        m.remove(*k);
    }
    Value::Object(m)
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| format!("{k}={}", byte_serialize(v.as_bytes()).collect::<String>()))
        })
        .collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// A tool without a body has no handler to refuse an argument it does not
/// know: refuse it here, with the envelope a body's unknown field gets.
fn only(args: &Value, allowed: &[String]) -> Result<(), ToolError> {
    match args
        .as_object()
        .and_then(|m| m.keys().find(|k| !allowed.contains(k)))
    {
        Some(k) => Err(ApiError::field(
            &k.chars().take(64).collect::<String>(),
            "is not a known field",
        )
        .into()),
        None => Ok(()),
    }
}

/// An optional scalar argument that becomes a query parameter; any other
/// JSON type is an `invalid_field` error rather than silently ignored.
fn opt(args: &Value, key: &str) -> Result<Option<String>, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::field(key, "must be a string or a number").into()),
    }
}

async fn call_tool(
    ctx: &Ctx,
    dispatch: Dispatch,
    origin: &str,
    name: &str,
    args: Value,
) -> Result<Value, ToolError> {
    if !args.is_object() {
        return Err(ApiError::field("arguments", "must be an object").into());
    }
    let own = match &ctx.principal {
        Some(Principal::Pat { handle, .. }) => handle.clone(),
        _ => return Err(ApiError::Forbidden.into()),
    };
    let h = match args.get("handle") {
        None | Some(Value::Null) => own,
        Some(_) => seg(&args, "handle")?,
    };
    let (method, path, body) = match name {
        "campaign_list" => (
            Method::Get,
            format!(
                "/v2/handles/{h}/campaigns{}",
                query(&[
                    ("status", opt(&args, "status")?),
                    ("limit", opt(&args, "limit")?),
                    ("cursor", opt(&args, "cursor")?)
                ])
            ),
            None,
        ),
        "campaign_create" => (
            Method::Post,
            format!("/v2/handles/{h}/campaigns"),
            Some(without(&args, &["handle"])),
        ),
        "campaign_health" => (
            Method::Get,
            format!(
                "/v2/handles/{h}/campaigns/{}/health",
                seg(&args, "campaignId")?
            ),
            None,
        ),
        "funnel_get" => (
            Method::Get,
            format!(
                "/v2/handles/{h}/analytics{}",
                query(&[
                    ("funnel", Some("true".into())),
                    ("campaignId", opt(&args, "campaignId")?)
                ])
            ),
            None,
        ),
        "link_upsert" => (
            Method::Put,
            format!("/v2/handles/{h}/links/{}", seg(&args, "slug")?),
            Some(without(&args, &["handle", "slug"])),
        ),
        "campaign_structure_get" => (
            Method::Get,
            format!(
                "/v2/public/handles/{h}/site-structure/campaigns/{}{}",
                seg(&args, "campaignId")?,
                query(&[("version", opt(&args, "version")?)])
            ),
            None,
        ),
        "campaign_structure_upsert" => (
            Method::Put,
            format!(
                "/v2/public/handles/{h}/site-structure/campaigns/{}",
                seg(&args, "campaignId")?
            ),
            Some(without(&args, &["handle", "campaignId"])),
        ),
        "campaign_structure_publish" => (
            Method::Post,
            format!(
                "/v2/public/handles/{h}/site-structure/campaigns/{}/publish",
                seg(&args, "campaignId")?
            ),
            None,
        ),
        "experiment_upsert" => (
            Method::Put,
            format!(
                "/v2/handles/{h}/experiments/{}",
                seg(&args, "experimentId")?
            ),
            Some(without(&args, &["handle", "experimentId"])),
        ),
        "experiment_results" => (
            Method::Get,
            format!(
                "/v2/handles/{h}/experiments/{}/results",
                seg(&args, "experimentId")?
            ),
            None,
        ),
        _ => return Err(ToolError::Unknown),
    };
    if body.is_none() {
        // No handler sees these arguments as a body: refuse the ones the
        // tool's schema does not list (`funnel_get {"campaignid": …}` must
        // not quietly answer for every campaign).
        only(&args, &schema_properties(name))?;
    }
    let (status, value) = run_twin(ctx, dispatch, origin, method, &path, body).await?;
    if (200..300).contains(&status) {
        Ok(
            json!({"content": [{"type": "text", "text": value.to_string()}], "structuredContent": value, "isError": false}),
        )
    } else {
        Ok(tool_error(&value))
    }
}

/// Resolve, authorize and run the REST twin of a tool call.
async fn run_twin(
    ctx: &Ctx,
    dispatch: Dispatch,
    origin: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), ToolError> {
    let matched = match resolve(method, path.split('?').next().unwrap_or(path)) {
        Ok(m) => m,
        Err(NoRoute::NotFound | NoRoute::MethodNotAllowed(_)) => {
            return Err(ApiError::NotFound("Resource".into()).into())
        }
    };
    if let Some(handle) = &matched.handle {
        authorize(ctx.principal.as_ref(), handle.as_str(), matched.need)?;
    }
    let route = matched.route?;
    let mut init = RequestInit::new();
    let wm = match method {
        Method::Get => worker::Method::Get,
        Method::Post => worker::Method::Post,
        Method::Put => worker::Method::Put,
        Method::Patch => worker::Method::Patch,
        Method::Delete => worker::Method::Delete,
        _ => worker::Method::Get,
    };
    init.with_method(wm);
    if let Some(b) = body {
        let headers = Headers::new();
        headers
            .set("content-type", "application/json")
            .map_err(ApiError::from)?;
        init.with_headers(headers);
        init.with_body(Some(JsValue::from_str(&b.to_string())));
    }
    let req = Request::new_with_init(&format!("{origin}{path}"), &init).map_err(ApiError::from)?;
    let mut resp = match dispatch(ctx, req, route).await {
        Ok(r) => r,
        Err(e) => return Ok((e.status(), e.to_json())),
    };
    let status = resp.status_code();
    let text = resp.text().await.map_err(ApiError::from)?;
    let value = if text.is_empty() {
        json!({})
    } else {
        serde_json::from_str(&text).unwrap_or(json!({"text": text}))
    };
    Ok((status, value))
}

/// Tool definitions (name, description, input JSON Schema), kept as data:
/// `mcp_tools.json` beside this file.
const TOOLS_JSON: &str = include_str!("mcp_tools.json");

/// The argument names a tool's input schema lists.
fn schema_properties(name: &str) -> Vec<String> {
    tools()
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == name))
        .and_then(|t| t["inputSchema"]["properties"].as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

thread_local! {
    /// The tool list, parsed once per isolate (every body-less call checks
    /// its arguments against a tool's schema).
    static TOOLS: std::rc::Rc<Value> =
        std::rc::Rc::new(serde_json::from_str(TOOLS_JSON).unwrap_or_else(|_| json!([])));
}

fn tools() -> std::rc::Rc<Value> {
    TOOLS.with(std::rc::Rc::clone)
}
