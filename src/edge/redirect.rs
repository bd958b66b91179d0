//! `GET|HEAD /{handle}/{slug}`: the redirect. The hot path: it serves, and
//! hands the click to `clicks`, which records it after the response.
//!
//! Reads come from the isolate cache (`cache::link`, `cache::rules`: one D1
//! round trip per link and per handle's rules at most every `CACHE_TTL_MS`,
//! both in parallel when cold); the decision is the pure
//! `core::redirect::decide`.
//!
//! On a branded host (`core::host`, claimed through `hosts`) `/{slug}` is the
//! claiming handle's link: the host → handle lookup is cached like links
//! (`cache::host`), and a host that cannot be claimed (an IP address,
//! `localhost`, a `SHORT_HOSTS` member) never costs one.

use crate::core::access::{
    form_page, gate, parse_form, unlock_cookie, unlocked, FormState, Gate, EXPIRED_PAGE,
    MAX_FORM_BYTES,
};
use crate::core::click::Click;
use crate::core::error::{ApiError, ApiResult};
use crate::core::host;
use crate::core::ids::{fill_random, ClickId, Handle, Slug};
use crate::core::link::TrackingMode;
use crate::core::redirect::{decide, Incoming, LinkView, Packed};
use crate::core::rules::{read_country, read_language};
use crate::core::unique::Keyer;
use crate::edge::cache::{self, LinkEntry};
use crate::edge::config::Config;
use crate::edge::ctx::Ctx;
use crate::edge::db::Db;
use crate::edge::http::{self, respond};
use crate::edge::{access, clicks, log};
use std::rc::Rc;
use worker::web_sys;
use worker::{Context, Env, Headers, Response};

/// A short link that does not exist (or was removed): the HTML 404 page.
fn not_found_page() -> Response {
    html_page(
        404,
        "<!doctype html><html lang=en><meta charset=utf-8><title>Link not found</title>\
         <h1>Link not found</h1><p>This short link does not exist or was removed.</p>"
            .to_string(),
    )
}

/// The HTML pages a short link may answer instead of its redirect (404,
/// 410, the password form): never cached, never framed, no referrer sent on.
fn html_page(status: u16, body: String) -> Response {
    let h = Headers::new();
    let _ = h.set("content-type", "text/html; charset=utf-8");
    let _ = h.set("cache-control", "no-store");
    let _ = h.set("referrer-policy", "no-referrer");
    let _ = h.set("x-frame-options", "DENY");
    let _ = h.set(
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    respond(status, h, body.into_bytes())
}

/// What a request for the link meets before its redirect (`core::access::gate`).
fn gate_of(link: &LinkEntry, now: i64) -> Gate<'_> {
    gate(
        link.expires_at,
        link.expired_url.as_deref(),
        link.password.is_some(),
        now,
    )
}

/// The visitor facts a request for `link` needs, and the link's gate once
/// the unlock cookie is read: a protected link the visitor unlocked in the
/// last day is open. `request.cf`, the address and `Accept-Language` are read
/// only for a link that is served: neither an expired link's answer nor the
/// password form reads them (the form reads the cookie and the referrer only).
fn facts_for<'l>(
    cfg: &Config,
    hs: (&Handle, &Slug),
    req: &web_sys::Request,
    link: &'l LinkEntry,
    rules: &[crate::core::rules::Rule],
    now: i64,
) -> (String, Gate<'l>) {
    let g = match gate_of(link, now) {
        Gate::Locked => {
            let f = visitor_facts(req, false, false, true, false);
            if !remembered(cfg, hs, link, Packed::unpack(&f).cookie, now) {
                return (f, Gate::Locked);
            }
            Gate::Open
        }
        g => g,
    };
    let serving = matches!(g, Gate::Open);
    let facts = visitor_facts(
        req,
        serving && reads_cf(link, rules),
        serving && link.tracks(),
        link.experiment.is_some(),
        serving && read_language(rules),
    );
    (facts, g)
}

/// What an expired link, or a protected one the visitor has not unlocked
/// (`facts_for`), answers instead of its redirect (`None`: serve the
/// redirect). Nothing is recorded for either.
fn gated(g: Gate<'_>, v: &Packed<'_>) -> Option<Response> {
    match g {
        Gate::Open => None,
        Gate::Expired(url) => Some(expired(url)),
        Gate::Locked => Some(html_page(200, form_page(FormState::First, v.referer))),
    }
}

/// An expired link's answer: 302 to its fallback URL, or the 410 page.
fn expired(url: Option<&str>) -> Response {
    url.and_then(|u| redirect_302(u, None).ok())
        .map(Response::from)
        .unwrap_or_else(|| html_page(410, EXPIRED_PAGE.to_string()))
}

/// Whether the request carries a valid unlock cookie for the link
/// (`core::access::unlocked`).
fn remembered(
    cfg: &Config,
    (h, slug): (&Handle, &Slug),
    link: &LinkEntry,
    cookie: Option<&str>,
    now: i64,
) -> bool {
    match (&link.password, cookie) {
        (Some(Some(stored)), Some(c)) => {
            unlocked(&cfg.jwt.secret, h.as_str(), slug.as_str(), stored, c, now)
        }
        _ => false,
    }
}

/// `POST /{handle}/{slug}`: a password form's try. Right → the link's
/// normal 302 (the click is recorded then, attributed to the referrer the
/// visitor first arrived with); wrong → 401 and the form again; every try
/// counts against `PASSWORD_LIMITER` per client and link (429 past it).
/// The right password's 302 sets the unlock cookie for the link's `path`,
/// so the visitor is not asked again for a day.
#[allow(clippy::too_many_arguments)]
pub async fn unlock(
    ctx: &Ctx,
    raw: web_sys::Request,
    path: &str,
    query: Option<&str>,
    https: bool,
    h: &Handle,
    slug: &Slug,
) -> ApiResult<Response> {
    let now = http::now_ms();
    let Some(Loaded {
        link,
        rules,
        day_key,
    }) = load(ctx, h, slug, now).await?
    else {
        return Ok(not_found_page());
    };
    match gate_of(&link, now) {
        Gate::Locked => {}
        Gate::Expired(url) => return Ok(expired(url)),
        Gate::Open => {
            let resp = http::error_response(&ApiError::MethodNotAllowed);
            let _ = resp.headers().set("allow", "GET, HEAD");
            return Ok(resp);
        }
    }
    // The address always: the limiter counts tries per client.
    let facts = visitor_facts(
        &raw,
        reads_cf(&link, &rules),
        true,
        link.experiment.is_some(),
        read_language(&rules),
    );
    let v = Packed::unpack(&facts);
    let key = format!("{} {}/{}", v.client_ip, h.as_str(), slug.as_str());
    if let Err(ApiError::RateLimited { retry_after_secs }) =
        http::rate_limit(&ctx.env, "PASSWORD_LIMITER", &key, 60).await
    {
        let resp = html_page(429, form_page(FormState::TooManyTries, None));
        let _ = resp
            .headers()
            .set("retry-after", &retry_after_secs.to_string());
        return Ok(resp);
    }
    let mut req = worker::Request::from(raw);
    let attempt = parse_form(&http::read_body(&mut req, MAX_FORM_BYTES).await?);
    let right = match &link.password {
        Some(Some(stored)) if access::verify(stored, &attempt.password).await? => Some(stored),
        _ => None,
    };
    let Some(stored) = right else {
        return Ok(html_page(
            401,
            form_page(FormState::Wrong, attempt.referrer.as_deref()),
        ));
    };
    let v = Packed {
        referer: attempt.referrer.as_deref(),
        ..v
    };
    let served = Served {
        link: &link,
        rules: &rules,
        day_key: day_key.as_deref(),
        https,
    };
    let resp = answer(
        &ctx.env, &ctx.wctx, &ctx.cfg, &v, query, h, slug, &served, now,
    )?;
    let cookie = unlock_cookie(
        &ctx.cfg.jwt.secret,
        h.as_str(),
        slug.as_str(),
        stored,
        path,
        https,
        now,
    );
    resp.headers()
        .append("set-cookie", &cookie)
        .map_err(|e| ApiError::Internal(format!("Set-Cookie: {e:?}")))?;
    Ok(Response::from(resp))
}

/// `host` when it may be a branded host: well-formed and not one of ours.
fn claimable<'a>(cfg: &Config, host: Option<&'a str>) -> Option<&'a str> {
    host.filter(|h| host::well_formed(h) && !cfg.own_hosts.iter().any(|o| o == h))
}

/// The handle whose branded host the request came to (None: a main host or
/// an unclaimed one), if known without a read: `None` on a cache miss.
pub fn branded_cached(cfg: &Config, request_host: Option<&str>) -> Option<Option<Handle>> {
    match claimable(cfg, request_host) {
        None => Some(None),
        Some(h) => cache::get_host(h, http::now_ms(), cfg.cache_ttl_ms),
    }
}

/// The handle whose branded host the request came to (None: a main host or
/// an unclaimed one): the isolate cache, else D1.
pub async fn branded(
    db: &Db,
    cfg: &Config,
    request_host: Option<&str>,
) -> ApiResult<Option<Handle>> {
    match claimable(cfg, request_host) {
        None => Ok(None),
        Some(h) => cache::host(db, cfg.cache_ttl_ms, h, http::now_ms()).await,
    }
}

/// The redirect through the async path: loads the link and the handle's
/// rules (isolate cache, else D1), then answers like `cached`.
pub async fn redirect(
    ctx: &Ctx,
    req: &web_sys::Request,
    query: Option<&str>,
    https: bool,
    h: &Handle,
    slug: &Slug,
) -> ApiResult<Response> {
    let now = http::now_ms();
    let Some(Loaded {
        link,
        rules,
        day_key,
    }) = load(ctx, h, slug, now).await?
    else {
        return Ok(not_found_page());
    };
    let (facts, g) = facts_for(&ctx.cfg, (h, slug), req, &link, &rules, now);
    let v = Packed::unpack(&facts);
    if let Some(page) = gated(g, &v) {
        return Ok(page);
    }
    let served = Served {
        link: &link,
        rules: &rules,
        day_key: day_key.as_deref(),
        https,
    };
    answer(
        &ctx.env, &ctx.wctx, &ctx.cfg, &v, query, h, slug, &served, now,
    )
    .map(Response::from)
}

/// What the async paths (a cold cache, the password form's try) serve from.
struct Loaded {
    link: Rc<LinkEntry>,
    rules: Rc<Vec<crate::core::rules::Rule>>,
    day_key: Option<Rc<Keyer>>,
}

/// The link, the handle's rules and today's visitor key, read in parallel
/// (isolate cache, else D1); `None`: no such link.
async fn load(ctx: &Ctx, h: &Handle, slug: &Slug, now: i64) -> ApiResult<Option<Loaded>> {
    let ttl = ctx.cfg.cache_ttl_ms;
    let (link, rules, day_key) = futures_util::future::join3(
        cache::link(&ctx.db, ttl, h.as_str(), slug.as_str(), now),
        cache::rules(&ctx.db, ttl, h.as_str(), now),
        cache::day_key(&ctx.db, now),
    )
    .await;
    let Some(link) = link? else {
        return Ok(None);
    };
    Ok(Some(Loaded {
        link,
        // Rules failing to load must not stop the visitor: fall back to the link.
        rules: rules.unwrap_or_else(|e| {
            log::event("rules_load_failed", &e.to_string());
            Rc::new(Vec::new())
        }),
        // Nor may the day's visitor key: the click then counts, but not as unique.
        day_key: day_key
            .inspect_err(|e| log::event("visitor_key_failed", &e.to_string()))
            .ok(),
    }))
}

/// Whether the visitor facts must include `request.cf`, which the runtime
/// parses on access (it costs more than the whole decision): only when the
/// click is recorded (country, bot signals) or a rule looks at the country.
fn reads_cf(link: &LinkEntry, rules: &[crate::core::rules::Rule]) -> bool {
    link.tracks() || read_country(rules)
}

/// The redirect without any await, when the link and the handle's rules are
/// both in the isolate cache (the steady state of a busy link): `None` when
/// something must be read first (the async path then serves the request).
/// One synchronous call from `src/entry.mjs`: no future, no Promise, no
/// microtask on the visitor's path.
#[allow(clippy::too_many_arguments)]
pub fn cached(
    env: &Env,
    wctx: &Context,
    cfg: &Config,
    req: &web_sys::Request,
    query: Option<&str>,
    https: bool,
    h: &Handle,
    slug: &Slug,
) -> Option<ApiResult<web_sys::Response>> {
    let now = http::now_ms();
    let link = cache::get_link(h.as_str(), slug.as_str(), now, cfg.cache_ttl_ms)?;
    let rules = cache::get_rules(h.as_str(), now, cfg.cache_ttl_ms)?;
    // A unique-counted click needs today's visitor-key secret (a new day
    // reads it once per isolate, on the async path).
    let day_key = match &link {
        Some(l) if counts_visitors(l) => Some(cache::day_key_cached(now)?),
        _ => None,
    };
    let (facts, gated_link) = match link.as_deref() {
        Some(l) => {
            let (f, g) = facts_for(cfg, (h, slug), req, l, &rules, now);
            (f, Some((l, g)))
        }
        None => (visitor_facts(req, false, false, false, false), None),
    };
    let v = Packed::unpack(&facts);
    // Other methods go to the async path, which answers 405.
    if v.method != "GET" && v.method != "HEAD" {
        return None;
    }
    Some(match gated_link {
        Some((link, g)) => match gated(g, &v) {
            Some(page) => Ok(page.into()),
            None => {
                let served = Served {
                    link,
                    rules: &rules,
                    day_key: day_key.as_deref(),
                    https,
                };
                answer(env, wctx, cfg, &v, query, h, slug, &served, now)
            }
        },
        None => Ok(not_found_page().into()),
    })
}

/// Whether clicks on the link count unique visitors: tracked `DIRECT` links
/// (`AGGREGATE_ONLY` keeps no per-visitor data at all).
fn counts_visitors(link: &LinkEntry) -> bool {
    link.tracks() && link.policy.mode == TrackingMode::Direct
}

/// What the redirect serves from: the link, the handle's rules, and today's
/// visitor-key secret (None: not needed, or not to be had).
struct Served<'a> {
    link: &'a LinkEntry,
    rules: &'a [crate::core::rules::Rule],
    day_key: Option<&'a Keyer>,
    /// The request came over https (an experiment cookie is `Secure` then).
    https: bool,
}

/// Decide, answer 302, and buffer the click for recording.
#[allow(clippy::too_many_arguments)]
fn answer(
    env: &Env,
    wctx: &Context,
    cfg: &Config,
    v: &Packed<'_>,
    query: Option<&str>,
    h: &Handle,
    slug: &Slug,
    served: &Served<'_>,
    now: i64,
) -> ApiResult<web_sys::Response> {
    let Served { link, rules, .. } = *served;
    let tracking = link.tracks();
    // A click id only for a click that is recorded: one handed out by a
    // DRAFT or PAUSED campaign (or a link without a campaign) could never be
    // attributed, and a conversion carrying it would be refused.
    let click_id = if tracking {
        Some(ClickId::generate()?)
    } else {
        None
    };

    // Cryptographic randomness for an experiment's draw, only when one may happen.
    let draw = match &link.experiment {
        Some(e) if e.winner.is_none() => {
            let mut b = [0u8; 4];
            fill_random(&mut b)?;
            u32::from_le_bytes(b)
        }
        _ => 0,
    };
    let inc = Incoming {
        user_agent: v.user_agent,
        referer: v.referer,
        query,
        country: v.country,
        is_head: v.method == "HEAD",
        ua_class: Some(cache::ua_class(v.user_agent)),
        verified_bot: v.verified_bot,
        bot_score: v.bot_score,
        cookie: v.cookie,
        draw,
        https: served.https,
        accept_language: v.accept_language,
        now_ms: now,
    };
    let view = LinkView {
        slug: slug.as_str(),
        destination_url: &link.destination_url,
        campaign_id: link.campaign_id.as_deref(),
        policy: &link.policy,
        experiment: link.experiment.as_ref(),
    };
    let d = decide(&view, rules, &inc, click_id.as_ref().map(|c| c.as_str()));

    let resp = redirect_302(&d.location, d.set_cookie.as_deref())
        .map_err(|e| ApiError::Internal(format!("Response: {e:?}")))?;

    if let (true, Some(id), Some(campaign)) = (tracking, click_id, link.campaign_id.clone()) {
        let f = d.facts;
        let visitor = match (served.day_key, &f.bot_reason) {
            (Some(keyer), None) if counts_visitors(link) => {
                Some(keyer.key(v.client_ip, v.user_agent, h.as_str(), slug.as_str()))
            }
            _ => None,
        };
        clicks::buffer(
            env,
            wctx,
            cfg.rollup_shards,
            Click {
                handle: h.as_str().to_string(),
                slug: slug.as_str().to_string(),
                campaign,
                mode: link.policy.mode,
                click_id: id.into_string(),
                country: f.country,
                device: f.device.as_str().to_string(),
                source: f.source,
                referrer_host: f.referrer_host,
                segment: f.segment,
                bot_reason: f.bot_reason.map(|r| r.as_str().to_string()),
                rule_id: f.rule_id,
                variant_id: f.variant_id,
                experiment_id: f.experiment_id,
                ts: now,
                attempt: 1,
                batch: None,
                visitor,
            },
        );
    }
    Ok(resp)
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/redirect.js")]
extern "C" {
    /// `method \n user-agent \n referer|\0 \n country \n verifiedBot \n botScore
    /// \n clientIp \n cookie \n acceptLanguage` (see `core::redirect::Packed`);
    /// `request.cf` only when `with_cf`, the address only `with_ip` (the click
    /// is recorded: it is hashed into the visitor key), the last two only when
    /// asked.
    fn visitor_facts(
        req: &web_sys::Request,
        with_cf: bool,
        with_ip: bool,
        with_cookie: bool,
        with_language: bool,
    ) -> String;
    /// The 302 in one call into the runtime (as a JS Worker would build it),
    /// instead of a `Headers` object, three `set`s and a `ResponseInit`
    /// (`cookie`: None crosses as `undefined`, no string decoded).
    #[wasm_bindgen(catch)]
    fn redirect_302(
        location: &str,
        cookie: Option<&str>,
    ) -> Result<web_sys::Response, wasm_bindgen::JsValue>;
}
