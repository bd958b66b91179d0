//! The route table. Every route, the methods it answers, and what it needs
//! (credential kind, minimum role, PAT scope) are declared here, in one place;
//! the edge enforces `Need` with `auth::authorize` before any handler runs.

use crate::core::auth::{Need, Role, Scope};
use crate::core::error::ApiError;
use crate::core::host::Host;
use crate::core::ids::{CampaignId, ExperimentId, Handle, RuleId, Slug};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Healthz,
    /// The enumerations and limits clients build forms from (`core::catalog`).
    Meta,
    /// This API's OpenAPI 3.1 description (`core::openapi`).
    OpenApi,
    /// Local development only (`DEV_SIGN_IN`): a JWT for the dashboard's one-click sign-in.
    DevToken,
    /// Local development only: switch injected faults (tests).
    DevFaults,
    /// Local development only: shift the isolate's clock (tests).
    DevClock,
    /// Local development only: this isolate's wasm memory (the soak bench).
    DevMemory,
    Redirect(Handle, Slug),
    /// `POST /{handle}/{slug}`: a password form's try (password-protected
    /// links only; others answer 405 like any other method).
    Unlock(Handle, Slug),
    DetailPage(Handle, Slug),
    Mcp,
    CampaignCreate(Handle),
    CampaignList(Handle),
    CampaignGet(Handle, CampaignId),
    CampaignPatch(Handle, CampaignId),
    CampaignHealth(Handle, CampaignId),
    TestConversion(Handle, CampaignId),
    RollupRebuild(Handle, CampaignId),
    LinkList(Handle),
    LinkPut(Handle, Slug),
    LinkGet(Handle, Slug),
    LinkDelete(Handle, Slug),
    /// The link's QR code (SVG, `core::qr`).
    LinkQr(Handle, Slug),
    /// Branded hosts (`core::host`): list, claim, release.
    HostList(Handle),
    HostPut(Handle, Host),
    HostDelete(Handle, Host),
    RuleList(Handle),
    RulePut(Handle, RuleId),
    RuleGet(Handle, RuleId),
    RuleDelete(Handle, RuleId),
    ExperimentList(Handle),
    ExperimentPut(Handle, ExperimentId),
    ExperimentGet(Handle, ExperimentId),
    ExperimentDelete(Handle, ExperimentId),
    ExperimentResults(Handle, ExperimentId),
    RuleExplain(Handle),
    ConversionCreate(Handle),
    Analytics(Handle),
    /// CSV export of a campaign's click ledger (`core::csv`).
    ClicksCsv(Handle, CampaignId),
    /// CSV export of a campaign's conversion ledger (`core::csv`).
    ConversionsCsv(Handle, CampaignId),
    TokenCreate(Handle),
    TokenList(Handle),
    TokenDelete(Handle, String),
    WebhookCreate(Handle),
    WebhookList(Handle),
    WebhookGet(Handle, String),
    WebhookDelete(Handle, String),
    WebhookDeliveries(Handle, String),
    /// Re-enable a disabled webhook (clears its failure streak).
    WebhookEnable(Handle, String),
    /// Send a logged delivery again: webhook id, delivery id.
    WebhookRedeliver(Handle, String, String),
    StructurePut(Handle, CampaignId),
    StructureGet(Handle, CampaignId),
    StructurePublish(Handle, CampaignId),
}

const PAGE: &[&str] = &["limit", "cursor"];

impl Route {
    /// The query parameters the route reads: any other is refused (400
    /// `invalid_field`), so a misspelled filter (`?campaignid=`) is never
    /// silently ignored. `None`: the query is a visitor's and passes through
    /// (short links, detail pages).
    pub fn query_params(&self) -> Option<&'static [&'static str]> {
        use Route::*;
        Some(match self {
            // A visitor's query, or a probe's cache-buster: passed through.
            Redirect(..) | Unlock(..) | DetailPage(..) | Healthz | Meta | OpenApi => return None,
            CampaignList(_) => &["status", "limit", "cursor"],
            LinkList(_) => &["campaignId", "limit", "cursor"],
            ExperimentList(_) => &["slug", "limit", "cursor"],
            RuleList(_) | TokenList(_) | WebhookList(_) | WebhookDeliveries(..) => PAGE,
            LinkQr(..) => &["size", "margin"],
            Analytics(_) => &["campaignId", "funnel", "groupBy", "from", "to", "interval"],
            ClicksCsv(..) | ConversionsCsv(..) => &crate::core::csv::PARAMS,
            StructureGet(..) => &["version"],
            DevToken
            | DevFaults
            | DevClock
            | DevMemory
            | Mcp
            | CampaignCreate(_)
            | CampaignGet(..)
            | CampaignPatch(..)
            | CampaignHealth(..)
            | TestConversion(..)
            | RollupRebuild(..)
            | LinkPut(..)
            | LinkGet(..)
            | LinkDelete(..)
            | HostList(_)
            | HostPut(..)
            | HostDelete(..)
            | RulePut(..)
            | RuleGet(..)
            | RuleDelete(..)
            | ExperimentPut(..)
            | ExperimentGet(..)
            | ExperimentDelete(..)
            | ExperimentResults(..)
            | RuleExplain(_)
            | ConversionCreate(_)
            | TokenCreate(_)
            | TokenDelete(..)
            | WebhookCreate(_)
            | WebhookGet(..)
            | WebhookEnable(..)
            | WebhookRedeliver(..)
            | WebhookDelete(..)
            | StructurePut(..)
            | StructurePublish(..) => &[],
        })
    }
}

/// A matched route. `route` is an error when the path shape matched but an id
/// in it is malformed: that error is only revealed after authorization, so a
/// caller without rights on the handle learns nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub handle: Option<Handle>,
    pub need: Need,
    pub route: Result<Route, ApiError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    /// The path exists; these methods are allowed.
    MethodNotAllowed(&'static str),
}

const READ_C: Need = Need::any(Role::Viewer, Scope::CampaignsRead);
const WRITE_C: Need = Need::any(Role::Creator, Scope::CampaignsWrite);
const READ_L: Need = Need::any(Role::Viewer, Scope::LinksRead);
const WRITE_L: Need = Need::any(Role::Creator, Scope::LinksWrite);
const ANALYTICS: Need = Need::any(Role::Creator, Scope::AnalyticsRead);
const CONVERSIONS: Need = Need::any(Role::Creator, Scope::ConversionsWrite);
const READ_W: Need = Need::any(Role::Admin, Scope::WebhooksRead);
const WRITE_W: Need = Need::any(Role::Admin, Scope::WebhooksWrite);
const ADMIN_JWT: Need = Need::jwt(Role::Admin);
const TOKENS: Need = Need::jwt(Role::Creator);
/// Claiming a host changes every short URL of the handle: owners, signed in.
const HOSTS_W: Need = Need::jwt(Role::Owner);
const PAGES_R_JWT: Need = Need::jwt(Role::Viewer);
const PAGES_W_JWT: Need = Need::jwt(Role::Creator);

fn campaign(id: &str) -> Result<CampaignId, ApiError> {
    CampaignId::parse(id)
}
fn slug(s: &str) -> Result<Slug, ApiError> {
    Slug::parse(s).ok_or(ApiError::LinkNotFound)
}
fn rule(s: &str) -> Result<RuleId, ApiError> {
    RuleId::parse(s).map_err(|_| ApiError::NotFound("Rule".into()))
}
fn opaque(s: &str) -> Result<String, ApiError> {
    if !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(s.to_string())
    } else {
        Err(ApiError::NotFound("Resource".into()))
    }
}

/// The path and the query of a request URL as the runtime hands it over: an
/// absolute, already normalized (WHATWG-serialized) `scheme://host/path?query`,
/// whose path is never empty and never contains `?` or `#`. The redirect's
/// fast path uses this instead of a full URL parse (host parsing alone cost
/// more than the redirect decision).
pub fn path_and_query(url: &str) -> Option<(&str, Option<&str>)> {
    let after_scheme = &url[url.find("://")? + 3..];
    let from_path = &after_scheme[after_scheme.find('/')?..];
    let without_fragment = from_path.split('#').next().unwrap_or(from_path);
    Some(match without_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (without_fragment, None),
    })
}

/// Match a request. `path` is the URL path (percent-encoded as received).
pub fn resolve(method: Method, path: &str) -> Result<Matched, NoRoute> {
    use Method::*;
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // A trailing slash is not the same resource; keep matching strict.
    let m = |handle: Option<Handle>, need: Need, route: Result<Route, ApiError>| {
        Ok(Matched {
            handle,
            need,
            route,
        })
    };
    let na = |allow: &'static str| Err(NoRoute::MethodNotAllowed(allow));

    match segs.as_slice() {
        ["healthz"] => match method {
            Get | Head => m(None, Need::PUBLIC, Ok(Route::Healthz)),
            _ => na("GET, HEAD"),
        },
        ["v2", "meta"] => match method {
            Get | Head => m(None, Need::PUBLIC, Ok(Route::Meta)),
            _ => na("GET, HEAD"),
        },
        ["openapi.json"] => match method {
            Get | Head => m(None, Need::PUBLIC, Ok(Route::OpenApi)),
            _ => na("GET, HEAD"),
        },
        ["v2", "dev", "token"] => match method {
            Post => m(None, Need::PUBLIC, Ok(Route::DevToken)),
            _ => na("POST"),
        },
        ["v2", "dev", "faults"] => match method {
            Post => m(None, Need::PUBLIC, Ok(Route::DevFaults)),
            _ => na("POST"),
        },
        ["v2", "dev", "clock"] => match method {
            Post => m(None, Need::PUBLIC, Ok(Route::DevClock)),
            _ => na("POST"),
        },
        ["v2", "dev", "memory"] => match method {
            Get => m(None, Need::PUBLIC, Ok(Route::DevMemory)),
            _ => na("GET"),
        },
        ["mcp"] => match method {
            Post => m(None, Need::PUBLIC, Ok(Route::Mcp)),
            _ => na("POST"),
        },
        ["v2", "handles", h, rest @ ..] => {
            let handle = Handle::parse(h).ok_or(NoRoute::NotFound)?;
            let hh = || handle.clone();
            let r = match (rest, method) {
                (["campaigns"], Post) => (WRITE_C, Ok(Route::CampaignCreate(hh()))),
                (["campaigns"], Get) => (READ_C, Ok(Route::CampaignList(hh()))),
                (["campaigns"], _) => return na("GET, POST"),
                (["campaigns", id], Get) => {
                    (READ_C, campaign(id).map(|c| Route::CampaignGet(hh(), c)))
                }
                (["campaigns", id], Patch) => {
                    (WRITE_C, campaign(id).map(|c| Route::CampaignPatch(hh(), c)))
                }
                (["campaigns", _], _) => return na("GET, PATCH"),
                (["campaigns", id, "health"], Get) => {
                    (READ_C, campaign(id).map(|c| Route::CampaignHealth(hh(), c)))
                }
                (["campaigns", _, "health"], _) => return na("GET"),
                (["campaigns", id, "test-conversion"], Post) => (
                    CONVERSIONS,
                    campaign(id).map(|c| Route::TestConversion(hh(), c)),
                ),
                (["campaigns", _, "test-conversion"], _) => return na("POST"),
                (["campaigns", id, "rollup", "rebuild"], Post) => (
                    ADMIN_JWT,
                    campaign(id).map(|c| Route::RollupRebuild(hh(), c)),
                ),
                (["campaigns", _, "rollup", "rebuild"], _) => return na("POST"),
                (["campaigns", id, "clicks.csv"], Get) => {
                    (ANALYTICS, campaign(id).map(|c| Route::ClicksCsv(hh(), c)))
                }
                (["campaigns", _, "clicks.csv"], _) => return na("GET"),
                (["campaigns", id, "conversions.csv"], Get) => (
                    ANALYTICS,
                    campaign(id).map(|c| Route::ConversionsCsv(hh(), c)),
                ),
                (["campaigns", _, "conversions.csv"], _) => return na("GET"),
                (["links"], Get) => (READ_L, Ok(Route::LinkList(hh()))),
                (["links"], _) => return na("GET"),
                (["links", s], Get) => (READ_L, slug(s).map(|s| Route::LinkGet(hh(), s))),
                (["links", s], Put) => (
                    WRITE_L,
                    Slug::parse_field(s, "slug").map(|s| Route::LinkPut(hh(), s)),
                ),
                (["links", s], Delete) => (WRITE_L, slug(s).map(|s| Route::LinkDelete(hh(), s))),
                (["links", _], _) => return na("GET, PUT, DELETE"),
                (["links", s, "qr"], Get) => (READ_L, slug(s).map(|s| Route::LinkQr(hh(), s))),
                (["links", _, "qr"], _) => return na("GET"),
                (["hosts"], Get) => (READ_L, Ok(Route::HostList(hh()))),
                (["hosts"], _) => return na("GET"),
                (["hosts", x], Put) => (
                    HOSTS_W,
                    Host::parse(x, &[]).map(|x| Route::HostPut(hh(), x)),
                ),
                (["hosts", x], Delete) => (
                    HOSTS_W,
                    Host::parse(x, &[])
                        .map(|x| Route::HostDelete(hh(), x))
                        .map_err(|_| ApiError::NotFound("Host".into())),
                ),
                (["hosts", _], _) => return na("PUT, DELETE"),
                (["rules"], Get) => (READ_C, Ok(Route::RuleList(hh()))),
                (["rules"], _) => return na("GET"),
                (["rules", "explain"], Post) => (READ_C, Ok(Route::RuleExplain(hh()))),
                (["rules", "explain"], _) => return na("POST"),
                (["rules", id], Get) => (READ_C, rule(id).map(|r| Route::RuleGet(hh(), r))),
                (["rules", id], Put) => {
                    (WRITE_C, RuleId::parse(id).map(|r| Route::RulePut(hh(), r)))
                }
                (["rules", id], Delete) => (WRITE_C, rule(id).map(|r| Route::RuleDelete(hh(), r))),
                (["rules", _], _) => return na("GET, PUT, DELETE"),
                (["experiments"], Get) => (READ_C, Ok(Route::ExperimentList(hh()))),
                (["experiments"], _) => return na("GET"),
                (["experiments", id], Get) => (
                    READ_C,
                    ExperimentId::parse(id).map(|e| Route::ExperimentGet(hh(), e)),
                ),
                (["experiments", id], Put) => (
                    WRITE_C,
                    ExperimentId::parse(id).map(|e| Route::ExperimentPut(hh(), e)),
                ),
                (["experiments", id], Delete) => (
                    WRITE_C,
                    ExperimentId::parse(id).map(|e| Route::ExperimentDelete(hh(), e)),
                ),
                (["experiments", _], _) => return na("GET, PUT, DELETE"),
                (["experiments", id, "results"], Get) => (
                    ANALYTICS,
                    ExperimentId::parse(id).map(|e| Route::ExperimentResults(hh(), e)),
                ),
                (["experiments", _, "results"], _) => return na("GET"),
                (["conversions"], Post) => (CONVERSIONS, Ok(Route::ConversionCreate(hh()))),
                (["conversions"], _) => return na("POST"),
                (["analytics"], Get) => (ANALYTICS, Ok(Route::Analytics(hh()))),
                (["analytics"], _) => return na("GET"),
                (["tokens"], Post) => (TOKENS, Ok(Route::TokenCreate(hh()))),
                (["tokens"], Get) => (TOKENS, Ok(Route::TokenList(hh()))),
                (["tokens"], _) => return na("GET, POST"),
                (["tokens", id], Delete) => {
                    (TOKENS, opaque(id).map(|i| Route::TokenDelete(hh(), i)))
                }
                (["tokens", _], _) => return na("DELETE"),
                (["webhooks"], Post) => (WRITE_W, Ok(Route::WebhookCreate(hh()))),
                (["webhooks"], Get) => (READ_W, Ok(Route::WebhookList(hh()))),
                (["webhooks"], _) => return na("GET, POST"),
                (["webhooks", id], Get) => (READ_W, opaque(id).map(|i| Route::WebhookGet(hh(), i))),
                (["webhooks", id], Delete) => {
                    (WRITE_W, opaque(id).map(|i| Route::WebhookDelete(hh(), i)))
                }
                (["webhooks", _], _) => return na("GET, DELETE"),
                (["webhooks", id, "deliveries"], Get) => (
                    READ_W,
                    opaque(id).map(|i| Route::WebhookDeliveries(hh(), i)),
                ),
                (["webhooks", _, "deliveries"], _) => return na("GET"),
                (["webhooks", id, "enable"], Post) => {
                    (WRITE_W, opaque(id).map(|i| Route::WebhookEnable(hh(), i)))
                }
                (["webhooks", _, "enable"], _) => return na("POST"),
                (["webhooks", id, "deliveries", did, "redeliver"], Post) => (
                    WRITE_W,
                    opaque(id)
                        .and_then(|i| opaque(did).map(|d| Route::WebhookRedeliver(hh(), i, d))),
                ),
                (["webhooks", _, "deliveries", _, "redeliver"], _) => return na("POST"),
                (["site-structure", "campaigns", id], Get) => (
                    PAGES_R_JWT,
                    campaign(id).map(|c| Route::StructureGet(hh(), c)),
                ),
                (["site-structure", "campaigns", id], Put) => (
                    PAGES_W_JWT,
                    campaign(id).map(|c| Route::StructurePut(hh(), c)),
                ),
                (["site-structure", "campaigns", _], _) => return na("GET, PUT"),
                (["site-structure", "campaigns", id, "publish"], Post) => (
                    PAGES_W_JWT,
                    campaign(id).map(|c| Route::StructurePublish(hh(), c)),
                ),
                (["site-structure", "campaigns", _, "publish"], _) => return na("POST"),
                _ => return Err(NoRoute::NotFound),
            };
            m(Some(handle), r.0, r.1)
        }
        ["v2", "public", "handles", h, "site-structure", "campaigns", id, rest @ ..] => {
            let handle = Handle::parse(h).ok_or(NoRoute::NotFound)?;
            let r = match (rest, method) {
                ([], Get) => (
                    Need::pat(Scope::PagesRead),
                    campaign(id).map(|c| Route::StructureGet(handle.clone(), c)),
                ),
                ([], Put) => (
                    Need::pat(Scope::PagesWrite),
                    campaign(id).map(|c| Route::StructurePut(handle.clone(), c)),
                ),
                ([], _) => return na("GET, PUT"),
                (["publish"], Post) => (
                    Need::pat(Scope::PagesWrite),
                    campaign(id).map(|c| Route::StructurePublish(handle.clone(), c)),
                ),
                (["publish"], _) => return na("POST"),
                _ => return Err(NoRoute::NotFound),
            };
            m(Some(handle), r.0, r.1)
        }
        [h, "p", s] => public(h, s, method, "GET, HEAD", Route::DetailPage),
        // A password form's try (the form posts back to the page's own URL).
        [h, s] if method == Method::Post => {
            public(h, s, Method::Get, SHORT_LINK_METHODS, Route::Unlock)
        }
        [h, s] => public(h, s, method, SHORT_LINK_METHODS, Route::Redirect),
        _ => Err(NoRoute::NotFound),
    }
}

/// The methods of a short link's URL: GET and HEAD follow it, POST is a
/// password form's try (a link without a password answers that POST with 405
/// and `Allow: GET, HEAD`, once it is known to have none).
const SHORT_LINK_METHODS: &str = "GET, HEAD, POST";

/// `/{handle}/{slug}` and `/{handle}/p/{slug}`: public, GET or HEAD (`allow`
/// lists the methods the URL takes, for the 405 of any other).
fn public(
    h: &str,
    s: &str,
    method: Method,
    allow: &'static str,
    route: fn(Handle, Slug) -> Route,
) -> Result<Matched, NoRoute> {
    let (Some(handle), Some(slug)) = (Handle::parse(h), Slug::parse(s)) else {
        return Err(NoRoute::NotFound);
    };
    match method {
        Method::Get | Method::Head => Ok(Matched {
            handle: Some(handle.clone()),
            need: Need::PUBLIC,
            route: Ok(route(handle, slug)),
        }),
        _ => Err(NoRoute::MethodNotAllowed(allow)),
    }
}

/// Match a request that came to a claimed branded host of `handle`: there
/// `/{slug}` is the handle's link and nothing else exists (the API, `/mcp`,
/// `/healthz` and `/{handle}/{slug}` are served on the main host only, so a
/// branded host never exposes more than its handle's short links).
pub fn resolve_branded(method: Method, path: &str, handle: &Handle) -> Result<Matched, NoRoute> {
    let s = path.strip_prefix('/').ok_or(NoRoute::NotFound)?;
    if s.contains('/') {
        return Err(NoRoute::NotFound);
    }
    let slug = Slug::parse(s).ok_or(NoRoute::NotFound)?;
    let route = match method {
        Method::Get | Method::Head => Route::Redirect(handle.clone(), slug),
        // A password form's try (the form posts back to the page's own URL).
        Method::Post => Route::Unlock(handle.clone(), slug),
        _ => return Err(NoRoute::MethodNotAllowed(SHORT_LINK_METHODS)),
    };
    Ok(Matched {
        handle: Some(handle.clone()),
        need: Need::PUBLIC,
        route: Ok(route),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_query_agree_with_a_full_url_parse() {
        for u in [
            "https://sho.rt/demo/spring",
            "https://sho.rt/demo/spring?utm_source=email&x=%20y",
            "http://127.0.0.1:8787/demo/spring?",
            "https://sho.rt/",
            "https://sho.rt/v2/handles/demo/campaigns?status=ACTIVE#frag",
            "https://xn--bcher-kva.example/a%2Fb/c?q=%C3%BC",
            "https://[2606:4700::1111]:8443/demo/x?a=1?b=2",
        ] {
            let parsed = url::Url::parse(u).unwrap();
            assert_eq!(
                path_and_query(u),
                Some((parsed.path(), parsed.query())),
                "{u}"
            );
        }
        assert_eq!(path_and_query("no-scheme/demo/x"), None);
        assert_eq!(path_and_query("https://host-only"), None);
    }
    use crate::core::auth::Creds;

    fn route(m: Method, p: &str) -> Route {
        match resolve(m, p) {
            Ok(Matched { route: Ok(r), .. }) => r,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn guide_routes() {
        let h = || Handle::parse("demo").unwrap();
        let c = || CampaignId::parse("spring-launch").unwrap();
        assert_eq!(
            route(Method::Post, "/v2/handles/demo/campaigns"),
            Route::CampaignCreate(h())
        );
        assert_eq!(
            route(
                Method::Get,
                "/v2/handles/demo/campaigns/spring-launch/health"
            ),
            Route::CampaignHealth(h(), c())
        );
        assert_eq!(
            route(
                Method::Post,
                "/v2/handles/demo/campaigns/spring-launch/test-conversion"
            ),
            Route::TestConversion(h(), c())
        );
        assert_eq!(
            route(
                Method::Put,
                "/v2/handles/demo/site-structure/campaigns/spring-launch"
            ),
            Route::StructurePut(h(), c())
        );
        assert_eq!(
            route(
                Method::Get,
                "/v2/handles/demo/campaigns/spring-launch/clicks.csv"
            ),
            Route::ClicksCsv(h(), c())
        );
        assert_eq!(
            route(
                Method::Get,
                "/v2/handles/demo/campaigns/spring-launch/conversions.csv"
            ),
            Route::ConversionsCsv(h(), c())
        );
        assert_eq!(
            route(Method::Get, "/demo/spring-promo"),
            Route::Redirect(h(), Slug::parse("spring-promo").unwrap())
        );
        assert_eq!(
            route(Method::Head, "/demo/spring-promo"),
            Route::Redirect(h(), Slug::parse("spring-promo").unwrap())
        );
    }

    #[test]
    fn wrong_methods_and_unknown_paths() {
        assert_eq!(
            resolve(Method::Delete, "/v2/handles/demo/campaigns"),
            Err(NoRoute::MethodNotAllowed("GET, POST"))
        );
        assert_eq!(
            resolve(Method::Put, "/demo/x"),
            Err(NoRoute::MethodNotAllowed("GET, HEAD, POST"))
        );
        assert_eq!(
            resolve(Method::Post, "/demo/x").map(|m| m.route),
            Ok(Ok(Route::Unlock(
                Handle::parse("demo").unwrap(),
                Slug::parse("x").unwrap()
            )))
        );
        assert_eq!(
            resolve(Method::Get, "/mcp"),
            Err(NoRoute::MethodNotAllowed("POST"))
        );
        for p in [
            "/v2/handles/demo/campaigns/x/clicks.csv",
            "/v2/handles/demo/campaigns/x/conversions.csv",
        ] {
            for m in [Method::Head, Method::Post, Method::Delete] {
                assert_eq!(resolve(m, p), Err(NoRoute::MethodNotAllowed("GET")), "{p}");
            }
        }
        for p in [
            "/",
            "/v2",
            "/v2/handles/demo",
            "/v2/handles/demo/nope",
            "/v2/handles/UPPER/campaigns",
            "/demo/x/y/z",
            "/app/x",
            "/demo/Bad%20Slug",
            "/v2/handles/demo/campaigns/x/clicks.CSV",
            "/v2/handles/demo/campaigns/x/clicks.csv/",
            "/v2/handles/demo/campaigns/x/clicks",
            "/v2/handles/demo/campaigns/x/orders.csv",
        ] {
            assert_eq!(resolve(Method::Get, p), Err(NoRoute::NotFound), "{p}");
        }
    }

    #[test]
    fn qr_and_host_routes() {
        let h = || Handle::parse("demo").unwrap();
        let host = || Host::parse("go.brand.example", &[]).unwrap();
        assert_eq!(
            route(Method::Get, "/v2/handles/demo/links/spring/qr"),
            Route::LinkQr(h(), Slug::parse("spring").unwrap())
        );
        assert_eq!(
            resolve(Method::Get, "/v2/handles/demo/links/spring/qr")
                .unwrap()
                .need,
            READ_L
        );
        assert_eq!(
            resolve(Method::Post, "/v2/handles/demo/links/spring/qr"),
            Err(NoRoute::MethodNotAllowed("GET"))
        );
        assert_eq!(
            route(Method::Get, "/v2/handles/demo/hosts"),
            Route::HostList(h())
        );
        assert_eq!(
            resolve(Method::Get, "/v2/handles/demo/hosts").unwrap().need,
            READ_L
        );
        assert_eq!(
            route(Method::Put, "/v2/handles/demo/hosts/Go.Brand.Example"),
            Route::HostPut(h(), host())
        );
        assert_eq!(
            route(Method::Delete, "/v2/handles/demo/hosts/go.brand.example"),
            Route::HostDelete(h(), host())
        );
        for m in [Method::Put, Method::Delete] {
            let need = resolve(m, "/v2/handles/demo/hosts/go.brand.example")
                .unwrap()
                .need;
            assert_eq!(need, HOSTS_W);
            assert_eq!(need.creds, Creds::JwtOnly);
        }
        let bad = resolve(Method::Put, "/v2/handles/demo/hosts/127.0.0.1").unwrap();
        assert_eq!(bad.route.unwrap_err().code(), "invalid_field");
        let bad = resolve(Method::Delete, "/v2/handles/demo/hosts/127.0.0.1").unwrap();
        assert_eq!(bad.route.unwrap_err().code(), "not_found");
        assert_eq!(
            resolve(Method::Get, "/v2/handles/demo/hosts/go.brand.example"),
            Err(NoRoute::MethodNotAllowed("PUT, DELETE"))
        );
    }

    #[test]
    fn webhook_enable_and_redeliver_are_webhook_writes() {
        let h = || Handle::parse("demo").unwrap();
        let m = resolve(Method::Post, "/v2/handles/demo/webhooks/wh_1/enable").unwrap();
        assert_eq!(
            (m.route, m.need),
            (Ok(Route::WebhookEnable(h(), "wh_1".into())), WRITE_W)
        );
        let m = resolve(
            Method::Post,
            "/v2/handles/demo/webhooks/wh_1/deliveries/dlv_2_ab/redeliver",
        )
        .unwrap();
        assert_eq!(
            (m.route, m.need),
            (
                Ok(Route::WebhookRedeliver(
                    h(),
                    "wh_1".into(),
                    "dlv_2_ab".into()
                )),
                WRITE_W
            )
        );
        assert_eq!(
            resolve(Method::Get, "/v2/handles/demo/webhooks/wh_1/enable"),
            Err(NoRoute::MethodNotAllowed("POST"))
        );
        assert_eq!(
            resolve(
                Method::Get,
                "/v2/handles/demo/webhooks/wh_1/deliveries/d/redeliver"
            ),
            Err(NoRoute::MethodNotAllowed("POST"))
        );
        let bad = resolve(
            Method::Post,
            "/v2/handles/demo/webhooks/wh_1/deliveries/a.b/redeliver",
        )
        .unwrap();
        assert_eq!(bad.route, Err(ApiError::NotFound("Resource".into())));
    }

    #[test]
    fn a_branded_host_serves_only_its_handles_slugs() {
        let h = Handle::parse("demo").unwrap();
        let m = resolve_branded(Method::Head, "/spring", &h).unwrap();
        assert_eq!(m.need, Need::PUBLIC);
        assert_eq!(
            m.route,
            Ok(Route::Redirect(h.clone(), Slug::parse("spring").unwrap()))
        );
        assert_eq!(
            resolve_branded(Method::Post, "/spring", &h).map(|m| m.route),
            Ok(Ok(Route::Unlock(h.clone(), Slug::parse("spring").unwrap())))
        );
        assert_eq!(
            resolve_branded(Method::Put, "/spring", &h),
            Err(NoRoute::MethodNotAllowed("GET, HEAD, POST"))
        );
        for p in [
            "/",
            "",
            "/demo/spring",
            "/v2/meta",
            "/v2/handles/demo/links",
            "/Bad",
            "/spring/",
        ] {
            assert_eq!(
                resolve_branded(Method::Get, p, &h),
                Err(NoRoute::NotFound),
                "{p}"
            );
        }
    }

    #[test]
    fn bad_ids_are_reported_after_auth() {
        let m = resolve(Method::Get, "/v2/handles/demo/campaigns/X").unwrap();
        assert_eq!(m.need, READ_C);
        assert_eq!(m.route.unwrap_err().code(), "invalid_campaign_id");
    }

    #[test]
    fn credential_kinds() {
        assert_eq!(
            resolve(Method::Post, "/v2/handles/demo/tokens")
                .unwrap()
                .need
                .creds,
            Creds::JwtOnly
        );
        assert_eq!(
            resolve(
                Method::Get,
                "/v2/public/handles/demo/site-structure/campaigns/abc"
            )
            .unwrap()
            .need
            .creds,
            Creds::PatOnly
        );
        assert_eq!(
            resolve(Method::Get, "/demo/x").unwrap().need.creds,
            Creds::Public
        );
        assert_eq!(
            resolve(Method::Get, "/v2/handles/demo/analytics")
                .unwrap()
                .need,
            ANALYTICS
        );
        for p in [
            "/v2/handles/demo/campaigns/x/clicks.csv",
            "/v2/handles/demo/campaigns/x/conversions.csv",
        ] {
            assert_eq!(resolve(Method::Get, p).unwrap().need, ANALYTICS, "{p}");
        }
        let bad = resolve(Method::Get, "/v2/handles/demo/campaigns/X/clicks.csv").unwrap();
        assert_eq!(bad.need, ANALYTICS);
        assert_eq!(bad.route.unwrap_err().code(), "invalid_campaign_id");
    }
}
