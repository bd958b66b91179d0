//! The Workers layer: one `fetch` entry point that resolves the route (pure,
//! `core::route`), authenticates and authorizes once, and calls the one
//! handler of the resource module. Handlers return `ApiResult<Response>`; the
//! error envelope is produced here and nowhere else.

mod access;
mod analytics;
mod cache;
mod campaigns;
mod clicks;
mod config;
mod consistency;
mod conversions;
mod ctx;
mod db;
mod experiments;
mod exports;
mod faults;
mod hosts;
mod http;
mod jobs;
mod ledger;
mod links;
mod log;
mod mcp;
mod qr;
mod queue;
mod rebuild;
mod redirect;
mod retry;
mod rollup;
pub mod rollup_object;
mod rows;
mod rules;
mod structures;
mod tokens;
mod webhook_delivery;
mod webhooks;

use crate::core::auth::{authorize, verify_jwt, Principal};
use crate::core::error::{ApiError, ApiResult};
use crate::core::route::{resolve, resolve_branded, Method, NoRoute, Route};
use ctx::Ctx;
use db::Db;
use http::error_response;
use worker::{event, web_sys, Context, Env, Request, Response};

/// Runs once when the wasm instance starts (and again for each instance
/// re-created after a panic): a panic's message and location go to
/// `console.error`, so the log says what failed, not only "unreachable".
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

#[event(queue)]
async fn queue(
    batch: worker::MessageBatch<queue::Job>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    jobs::consume(batch, env).await
}

/// Every minute: apply rollup events parked while a rollup object was
/// failing, forget aggregate write ids past their use and past days' visitor
/// keys, and reconcile the rollups with the ledger once a day.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let cfg = config::get(&env);
    if let Ok(db) = Db::new(&env) {
        if let Err(e) = rollup::drain(&env, &db, cfg.rollup_shards).await {
            log::event("rollup_drain_failed", &e.to_string());
        }
        if let Err(e) = clicks::forget_old_writes(&db, http::now_ms()).await {
            log::event("aggregate_writes_purge_failed", &e.to_string());
        }
        // A day's visitor-key secret is never kept past its day.
        let now = http::now_ms();
        let today = now - now.rem_euclid(crate::core::time::DAY_MS);
        if let Err(e) = db
            .run("DELETE FROM visitor_keys WHERE day < ?", &[db::int(today)])
            .await
        {
            log::event("visitor_keys_purge_failed", &e.to_string());
        }
        if let Err(e) = experiments::promote_due(&env, &db, cfg.rollup_shards).await {
            log::event("experiment_promotion_failed", &e.to_string());
        }
        if let Err(e) = consistency::reconcile_daily(&env, &db, cfg.rollup_shards, now).await {
            log::event("reconciliation_failed", &e.to_string());
        }
    }
}

/// The synchronous fast path of the redirect, called by `src/entry.mjs` for
/// every request before `fetch`: it answers a `GET|HEAD /{handle}/{slug}`
/// whose link and rules are in the isolate cache without creating a single
/// future or Promise, and returns `undefined` for everything else (the
/// request then goes to `fetch`, which may also be the redirect on a cache
/// miss).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn redirect_cached(
    req: web_sys::Request,
    env: Env,
    ctx: worker::worker_sys::Context,
) -> Option<web_sys::Response> {
    // The method is checked by `redirect::cached`, with the other visitor facts.
    let url = req.url();
    let (path, query) = crate::core::route::path_and_query(&url)?;
    let cfg = config::get(&env);
    let matched = match redirect::branded_cached(&cfg, crate::core::host::of_url(&url))? {
        None => resolve(Method::Get, path),
        Some(brand) => resolve_branded(Method::Get, path, &brand),
    };
    let Ok(Route::Redirect(h, s)) = matched.ok()?.route else {
        return None;
    };
    faults::maybe_panic();
    let wctx = Context::new(ctx);
    Some(
        match redirect::cached(
            &env,
            &wctx,
            &cfg,
            &req,
            query,
            url.starts_with("https:"),
            &h,
            &s,
        )? {
            Ok(r) => r,
            Err(e) => answer_error(&e).into(),
        },
    )
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, wctx: Context) -> worker::Result<Response> {
    Ok(match handle(req, env, wctx).await {
        Ok(r) => r,
        Err(e) => answer_error(&e),
    })
}

/// The error envelope for a failed request; an internal error's detail is
/// logged here, once, and never sent.
fn answer_error(e: &ApiError) -> Response {
    if let ApiError::Internal(detail) = e {
        log::internal(detail);
    }
    error_response(e)
}

/// Takes the runtime's request as is: `worker::Request` reads `request.cf`
/// when built, which the redirect mostly does not need and which is not free,
/// so it is built only past the redirect.
async fn handle(raw: web_sys::Request, env: Env, wctx: Context) -> ApiResult<Response> {
    // The raw method: workers-rs maps methods it does not know to GET, which
    // would serve `PROPFIND` or `PURGE` as a GET.
    let method = Method::parse(&raw.method());
    // Clicks a panicked instance left in the buffer are written by this one.
    clicks::adopt_orphans(&env, &wctx, config::get(&env).rollup_shards);
    // Parsed once: the path routes, the host is a short-link host, the
    // redirect reuses the query.
    let url: worker::Url = raw
        .url()
        .parse()
        .map_err(|_| ApiError::NotFound("Route".into()))?;
    let cfg = config::get(&env);
    let db = Db::new(&env)?;
    let host = url.host_str().map(|h| h.to_ascii_lowercase());
    // On a branded host only the claiming handle's `/{slug}` exists.
    let matched = match redirect::branded(&db, &cfg, host.as_deref()).await? {
        None => resolve(method, url.path()),
        Some(brand) => resolve_branded(method, url.path(), &brand),
    };
    let matched = match matched {
        Ok(m) => m,
        Err(NoRoute::MethodNotAllowed(allow)) => {
            let resp = error_response(&ApiError::MethodNotAllowed);
            let _ = resp.headers().set("allow", allow);
            return Ok(resp);
        }
        Err(NoRoute::NotFound) => return Err(ApiError::NotFound("Route".into())),
    };
    let mut ctx = Ctx {
        host,
        env,
        cfg,
        db,
        wctx,
        principal: None,
    };

    // The redirect is the hot path: no auth work at all.
    if let Ok(Route::Redirect(h, s)) = &matched.route {
        return redirect::redirect(&ctx, &raw, url.query(), url.scheme() == "https", h, s).await;
    }
    if let Ok(Route::Unlock(h, s)) = &matched.route {
        return redirect::unlock(
            &ctx,
            raw,
            url.path(),
            url.query(),
            url.scheme() == "https",
            h,
            s,
        )
        .await;
    }
    let req = Request::from(raw);

    if let Some(handle) = &matched.handle {
        ctx.principal = authenticate(&ctx, &req).await?;
        authorize(ctx.principal.as_ref(), handle.as_str(), matched.need)?;
    }
    if let Ok(Route::Mcp) = &matched.route {
        mcp::transport_check(&ctx, &req, &url)?;
        ctx.principal = authenticate(&ctx, &req).await?;
    }
    let route = matched.route?;
    dispatch(&ctx, req, route).await
}

/// Call the one handler of a matched, authorized route. Also used by the MCP
/// endpoint, whose tools are their REST twins.
pub(crate) async fn dispatch(c: &Ctx, mut req: Request, route: Route) -> ApiResult<Response> {
    if let Some(allowed) = route.query_params() {
        http::Query::of(&req).only(allowed)?;
    }
    match route {
        Route::Healthz => {
            faults::maybe_panic();
            http::ok(serde_json::json!({"ok": true}))
        }
        Route::Meta => http::ok(crate::core::catalog::catalog()),
        // Answered by the assets router (static/openapi.json) before the
        // Worker runs; here only where no router is in front (a direct socket).
        Route::OpenApi => Ok(c.env.assets("ASSETS")?.fetch_request(req).await?),
        Route::DevToken => dev_token(c, &mut req).await,
        Route::DevFaults => dev_faults(c, &mut req).await,
        Route::DevClock => dev_clock(c, &mut req).await,
        Route::DevMemory => dev_memory(c),
        Route::Redirect(..) | Route::Unlock(..) => Err(ApiError::NotFound("Route".into())),
        Route::CampaignCreate(h) => campaigns::create(c, &mut req, h).await,
        Route::CampaignList(h) => campaigns::list(c, &req, h).await,
        Route::CampaignGet(h, id) => campaigns::get(c, h, id).await,
        Route::CampaignPatch(h, id) => campaigns::patch(c, &mut req, h, id).await,
        Route::CampaignHealth(h, id) => analytics::health(c, h, id).await,
        Route::TestConversion(h, id) => conversions::create_test(c, &mut req, h, id).await,
        Route::RollupRebuild(h, id) => rebuild::rebuild(c, h, id).await,
        Route::LinkList(h) => links::list(c, &req, h).await,
        Route::LinkPut(h, s) => links::put(c, &mut req, h, s).await,
        Route::LinkGet(h, s) => links::get(c, &req, h, s).await,
        Route::LinkDelete(h, s) => links::delete(c, h, s).await,
        Route::LinkQr(h, s) => qr::get(c, &req, h, s).await,
        Route::HostList(h) => hosts::list(c, h).await,
        Route::HostPut(h, host) => hosts::put(c, h, host).await,
        Route::HostDelete(h, host) => hosts::delete(c, h, host).await,
        Route::RuleList(h) => rules::list(c, &req, h).await,
        Route::RulePut(h, id) => rules::put(c, &mut req, h, id).await,
        Route::RuleGet(h, id) => rules::get(c, h, id).await,
        Route::RuleDelete(h, id) => rules::delete(c, h, id).await,
        Route::RuleExplain(h) => rules::explain(c, &mut req, h).await,
        Route::ExperimentList(h) => experiments::list(c, &req, h).await,
        Route::ExperimentPut(h, id) => experiments::put(c, &mut req, h, id).await,
        Route::ExperimentGet(h, id) => experiments::get(c, h, id).await,
        Route::ExperimentDelete(h, id) => experiments::delete(c, h, id).await,
        Route::ExperimentResults(h, id) => experiments::results(c, h, id).await,
        Route::ConversionCreate(h) => conversions::create(c, &mut req, h).await,
        Route::Analytics(h) => analytics::get(c, &req, h).await,
        Route::ClicksCsv(h, id) => exports::clicks(c, &req, h, id).await,
        Route::ConversionsCsv(h, id) => exports::conversions(c, &req, h, id).await,
        Route::TokenCreate(h) => tokens::create(c, &mut req, h).await,
        Route::TokenList(h) => tokens::list(c, &req, h).await,
        Route::TokenDelete(h, id) => tokens::delete(c, h, id).await,
        Route::StructurePut(h, id) => structures::put(c, &mut req, h, id).await,
        Route::StructureGet(h, id) => structures::get(c, &req, h, id).await,
        Route::StructurePublish(h, id) => structures::publish(c, h, id).await,
        Route::DetailPage(h, s) => structures::detail_page(c, &req, h, s).await,
        Route::Mcp => mcp::handle(c, &mut req, dispatch_boxed).await,
        Route::WebhookCreate(h) => webhooks::create(c, &mut req, h).await,
        Route::WebhookList(h) => webhooks::list(c, &req, h).await,
        Route::WebhookGet(h, id) => webhooks::get(c, h, id).await,
        Route::WebhookDelete(h, id) => webhooks::delete(c, h, id).await,
        Route::WebhookDeliveries(h, id) => webhooks::deliveries(c, &req, h, id).await,
        Route::WebhookEnable(h, id) => webhooks::enable(c, h, id).await,
        Route::WebhookRedeliver(h, id, d) => webhooks::redeliver(c, h, id, d).await,
    }
}

/// `dispatch` as the MCP endpoint takes it (its tools are REST twins, so
/// the call recurses through a box).
fn dispatch_boxed(c: &Ctx, req: Request, route: Route) -> mcp::Dispatched<'_> {
    Box::pin(dispatch(c, req, route))
}

/// `principal`, with failed authentications counted per client: past the
/// limit a failure is answered 429 instead of 401.
async fn authenticate(ctx: &Ctx, req: &Request) -> ApiResult<Option<Principal>> {
    match principal(ctx, req).await {
        Err(e @ ApiError::Unauthorized(_)) => {
            http::rate_limit(&ctx.env, "AUTH_FAILURE_LIMITER", &http::client_ip(req), 60).await?;
            Err(e)
        }
        other => other,
    }
}

/// The caller, from `Authorization: Bearer …`. A PAT (`pat_…`) is looked up by
/// its hash; anything else must be a valid JWT. A bad credential is 401 even
/// on routes that would also accept no credential.
pub(crate) async fn principal(ctx: &Ctx, req: &Request) -> ApiResult<Option<Principal>> {
    let Some(token) = http::bearer(req) else {
        return Ok(None);
    };
    if token.starts_with("pat_") {
        return Ok(Some(tokens::authenticate(ctx, &token).await?));
    }
    let now = http::wall_ms() / 1000;
    Ok(Some(Principal::Jwt(verify_jwt(&token, &ctx.cfg.jwt, now)?)))
}

/// `POST /v2/dev/token` `{handle?, role?}`: only when `DEV_SIGN_IN` is set
/// (`make dev` writes it into `.dev.vars`); otherwise the route does not exist.
async fn dev_token(ctx: &Ctx, req: &mut Request) -> ApiResult<Response> {
    use crate::core::auth::{sign_jwt, Role};
    if !ctx.cfg.dev_sign_in {
        return Err(ApiError::NotFound("Route".into()));
    }
    let body = http::read_body(req, http::MAX_BODY).await?;
    let m = if body.iter().all(|b| b.is_ascii_whitespace()) {
        Default::default()
    } else {
        crate::core::json::parse_object(&body)?
    };
    let o = crate::core::json::Obj::new(&m);
    o.only(&["handle", "role"])?;
    let handle = crate::core::ids::Handle::parse(o.str("handle")?.unwrap_or("demo"))
        .ok_or_else(|| ApiError::field("handle", "must be a valid handle"))?;
    let role = Role::parse(o.str("role")?.unwrap_or("OWNER"))
        .ok_or_else(|| ApiError::field("role", "must be VIEWER, CREATOR, ADMIN or OWNER"))?;
    let now = http::wall_ms() / 1000;
    let payload = serde_json::json!({"sub": "dev-user", "iat": now, "exp": now + 8 * 3600, "handles": {handle.as_str(): role.as_str()}});
    let token = sign_jwt(&payload, &ctx.cfg.jwt.secret);
    http::ok(
        serde_json::json!({"token": token, "handle": handle.as_str(), "role": role.as_str(), "expiresIn": 8 * 3600}),
    )
}

/// `POST /v2/dev/clock {"offsetMs": n}`: local development and tests only
/// (`DEV_SIGN_IN`); shifts this isolate's clock by `n` ms (0 resets it).
async fn dev_clock(ctx: &Ctx, req: &mut Request) -> ApiResult<Response> {
    if !ctx.cfg.dev_sign_in {
        return Err(ApiError::NotFound("Route".into()));
    }
    let m = crate::core::json::parse_object(&http::read_body(req, http::MAX_BODY).await?)?;
    let o = crate::core::json::Obj::new(&m);
    o.only(&["offsetMs"])?;
    let offset = o
        .int("offsetMs")?
        .filter(|n| n.abs() <= 400 * crate::core::time::DAY_MS)
        .ok_or_else(|| ApiError::field("offsetMs", "must be an integer of at most 400 days"))?;
    http::set_clock_offset(offset);
    http::ok(
        serde_json::json!({"offsetMs": offset, "now": crate::core::time::rfc3339(http::now_ms())}),
    )
}

/// `GET /v2/dev/memory`: local development and tests only (`DEV_SIGN_IN`);
/// the size of this isolate's wasm linear memory (it only ever grows), which
/// the soak bench samples beside the workerd process's RSS.
fn dev_memory(ctx: &Ctx) -> ApiResult<Response> {
    if !ctx.cfg.dev_sign_in {
        return Err(ApiError::NotFound("Route".into()));
    }
    let bytes = core::arch::wasm32::memory_size(0) * 65536;
    let [links, rules, hosts] = cache::reads();
    http::ok(serde_json::json!({
        "wasmMemoryBytes": bytes,
        "cacheReads": {"links": links, "rules": rules, "hosts": hosts},
    }))
}

/// `POST /v2/dev/faults {"faults": ["rollup", "d1_clicks"]}`: local development
/// and tests only (`DEV_SIGN_IN`); switches injected faults in this isolate.
async fn dev_faults(ctx: &Ctx, req: &mut Request) -> ApiResult<Response> {
    if !ctx.cfg.dev_sign_in {
        return Err(ApiError::NotFound("Route".into()));
    }
    let m = crate::core::json::parse_object(&http::read_body(req, http::MAX_BODY).await?)?;
    let o = crate::core::json::Obj::new(&m);
    o.only(&["faults"])?;
    let list = o.str_array("faults", 4)?.unwrap_or_default();
    if let Some(bad) = list.iter().find(|f| !faults::KNOWN.contains(f)) {
        return Err(ApiError::field(
            "faults",
            format!(
                "has unknown fault '{}'",
                bad.chars().take(32).collect::<String>()
            ),
        ));
    }
    faults::set(list.iter().map(|f| f.to_string()).collect());
    http::ok(serde_json::json!({"faults": faults::list()}))
}
