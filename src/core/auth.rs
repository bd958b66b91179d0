//! Authentication and authorization, pure: HS256 JWT verification, roles,
//! PAT scopes, and the one decision function [`authorize`].

use crate::core::collect::SortedMap;
use crate::core::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub type HmacSha256 = Hmac<Sha256>;

/// Clock skew tolerated on `exp` / `nbf`.
pub const LEEWAY_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Creator,
    Admin,
    Owner,
}

impl Role {
    /// Lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Creator, Role::Admin, Role::Owner];

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "VIEWER" => Some(Role::Viewer),
            "CREATOR" => Some(Role::Creator),
            "ADMIN" => Some(Role::Admin),
            "OWNER" => Some(Role::Owner),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "VIEWER",
            Role::Creator => "CREATOR",
            Role::Admin => "ADMIN",
            Role::Owner => "OWNER",
        }
    }
}

/// A PAT scope a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    CampaignsRead,
    CampaignsWrite,
    LinksRead,
    LinksWrite,
    AnalyticsRead,
    ConversionsWrite,
    PagesRead,
    PagesWrite,
    WebhooksRead,
    WebhooksWrite,
}

impl Scope {
    pub const ALL: [Scope; 10] = [
        Scope::CampaignsRead,
        Scope::CampaignsWrite,
        Scope::LinksRead,
        Scope::LinksWrite,
        Scope::AnalyticsRead,
        Scope::ConversionsWrite,
        Scope::PagesRead,
        Scope::PagesWrite,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CampaignsRead => "campaigns.read",
            Scope::CampaignsWrite => "campaigns.write",
            Scope::LinksRead => "links.read",
            Scope::LinksWrite => "links.write",
            Scope::AnalyticsRead => "analytics.read",
            Scope::ConversionsWrite => "conversions.write",
            Scope::PagesRead => "pages.read",
            Scope::PagesWrite => "pages.write",
            Scope::WebhooksRead => "webhooks.read",
            Scope::WebhooksWrite => "webhooks.write",
        }
    }
    fn family(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or("")
    }
}

/// A scope as granted to a token: exact, `family.*`, or `*`.
pub fn is_grantable_scope(s: &str) -> bool {
    s == "*"
        || Scope::ALL
            .iter()
            .any(|sc| sc.as_str() == s || (s.ends_with(".*") && sc.family() == &s[..s.len() - 2]))
}

/// The lowest JWT role that may hold a scope (a PAT never exceeds its
/// creator's role): the minimum role of the routes the scope opens.
pub fn scope_min_role(granted: &str) -> Role {
    let family = granted.split('.').next().unwrap_or("");
    match (granted, family) {
        ("*", _) | (_, "webhooks") => Role::Admin,
        (_, "campaigns" | "links") if granted.ends_with(".read") => Role::Viewer,
        _ => Role::Creator,
    }
}

pub fn scope_granted(granted: &[String], need: Scope) -> bool {
    granted.iter().any(|g| {
        g == "*" || g == need.as_str() || (g.ends_with(".*") && &g[..g.len() - 2] == need.family())
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub handles: SortedMap<String, Role>,
    pub exp: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JwtConfig {
    pub secret: Vec<u8>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

fn unauthorized(m: &str) -> ApiError {
    ApiError::Unauthorized(m.to_string())
}

/// Verify an HS256 JWT. The algorithm is pinned: the header must say HS256.
pub fn verify_jwt(token: &str, cfg: &JwtConfig, now_secs: i64) -> Result<Claims, ApiError> {
    let invalid = || unauthorized("The bearer token is not a valid JWT.");
    if cfg.secret.is_empty() {
        return Err(unauthorized(
            "JWT verification is not configured (JWT_SECRET is missing).",
        ));
    }
    let mut parts = token.split('.');
    let (h, p, s) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => (h, p, s),
        _ => return Err(invalid()),
    };
    let header: Value = decode_part(h).ok_or_else(invalid)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(unauthorized("The JWT must be signed with HS256."));
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
    let mut mac = HmacSha256::new_from_slice(&cfg.secret).map_err(|_| invalid())?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&sig)
        .map_err(|_| unauthorized("The JWT signature is not valid."))?;
    let payload: Value = decode_part(p).ok_or_else(invalid)?;
    let exp = payload
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| unauthorized("The JWT has no exp claim."))?;
    if now_secs > exp + LEEWAY_SECS {
        return Err(unauthorized("The JWT has expired."));
    }
    if let Some(nbf) = payload.get("nbf") {
        let nbf = nbf.as_i64().ok_or_else(invalid)?;
        if now_secs + LEEWAY_SECS < nbf {
            return Err(unauthorized("The JWT is not valid yet (nbf)."));
        }
    }
    if let Some(iss) = &cfg.issuer {
        if payload.get("iss").and_then(Value::as_str) != Some(iss.as_str()) {
            return Err(unauthorized("The JWT issuer is not accepted."));
        }
    }
    if let Some(aud) = &cfg.audience {
        let ok = match payload.get("aud") {
            Some(Value::String(a)) => a == aud,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(aud.as_str())),
            _ => false,
        };
        if !ok {
            return Err(unauthorized("The JWT audience is not accepted."));
        }
    }
    let sub = payload
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if sub.is_empty() {
        return Err(unauthorized("The JWT has no sub claim."));
    }
    let mut handles = SortedMap::new();
    if let Some(Value::Object(m)) = payload.get("handles") {
        for (h, r) in m {
            // Unknown roles grant nothing rather than failing the whole token.
            if let Some(role) = r.as_str().and_then(Role::parse) {
                handles.insert(h.clone(), role);
            }
        }
    }
    Ok(Claims { sub, handles, exp })
}

fn decode_part(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        v @ Value::Object(_) => Some(v),
        _ => None,
    }
}

/// Sign an HS256 JWT (tests, and the development token helper).
pub fn sign_jwt(payload: &Value, secret: &[u8]) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(payload.to_string().as_bytes());
    let signing_input = format!("{h}.{p}");
    let sig = hmac_sha256(secret, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = hmac_keyed(key);
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// An HMAC-SHA256 keyed with `key`, ready for `update`s. HMAC accepts keys
/// of any length, so `new_from_slice` never fails; the fallback (an empty
/// key) only satisfies the type.
pub fn hmac_keyed(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()))
}

pub fn sha256_hex(data: &[u8]) -> String {
    crate::core::ids::hex(&Sha256::digest(data))
}

/// Which credentials a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creds {
    /// No credential needed (the redirect, health).
    Public,
    /// A JWT with the role, or a PAT of the handle with the scope.
    JwtOrPat,
    /// Control-plane only (tokens: a PAT can never mint a PAT).
    JwtOnly,
    /// `/v2/public/…` automation routes.
    PatOnly,
}

/// What a route needs: declared once per route in `route.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub creds: Creds,
    pub role: Role,
    pub scope: Option<Scope>,
}

impl Need {
    pub const PUBLIC: Need = Need {
        creds: Creds::Public,
        role: Role::Viewer,
        scope: None,
    };
    pub const fn any(role: Role, scope: Scope) -> Need {
        Need {
            creds: Creds::JwtOrPat,
            role,
            scope: Some(scope),
        }
    }
    pub const fn jwt(role: Role) -> Need {
        Need {
            creds: Creds::JwtOnly,
            role,
            scope: None,
        }
    }
    pub const fn pat(scope: Scope) -> Need {
        Need {
            creds: Creds::PatOnly,
            role: Role::Viewer,
            scope: Some(scope),
        }
    }
}

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Jwt(Claims),
    Pat {
        token_id: String,
        handle: String,
        scopes: Vec<String>,
        created_by: String,
    },
}

impl Principal {
    pub fn subject(&self) -> &str {
        match self {
            Principal::Jwt(c) => &c.sub,
            Principal::Pat { created_by, .. } => created_by,
        }
    }
    /// The JWT role on `handle`, if this is a JWT.
    pub fn role_on(&self, handle: &str) -> Option<Role> {
        match self {
            Principal::Jwt(c) => c.handles.get(handle).copied(),
            Principal::Pat { .. } => None,
        }
    }
}

/// The one authorization decision. `None` principal means no credential was sent.
/// A credential for another handle gets 403 whether or not the resource exists.
pub fn authorize(principal: Option<&Principal>, handle: &str, need: Need) -> Result<(), ApiError> {
    if need.creds == Creds::Public {
        return Ok(());
    }
    let p = principal
        .ok_or_else(|| unauthorized("Send a bearer token: Authorization: Bearer <token>."))?;
    let allowed = match (p, need.creds) {
        (Principal::Jwt(c), Creds::JwtOrPat | Creds::JwtOnly) => {
            c.handles.get(handle).is_some_and(|r| *r >= need.role)
        }
        (
            Principal::Pat {
                handle: h, scopes, ..
            },
            Creds::JwtOrPat | Creds::PatOnly,
        ) => h == handle && need.scope.is_some_and(|s| scope_granted(scopes, s)),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn cfg() -> JwtConfig {
        JwtConfig {
            secret: b"s3cret".to_vec(),
            issuer: None,
            audience: None,
        }
    }

    fn token(extra: Value) -> String {
        let mut p = json!({"sub":"u1","exp":NOW+3600,"handles":{"demo":"OWNER","b":"VIEWER"}});
        if let (Some(m), Value::Object(e)) = (p.as_object_mut(), extra) {
            for (k, v) in e {
                m.insert(k, v);
            }
        }
        sign_jwt(&p, b"s3cret")
    }

    #[test]
    fn valid_token() {
        let c = verify_jwt(&token(json!({})), &cfg(), NOW).unwrap();
        assert_eq!(c.sub, "u1");
        assert_eq!(c.handles.get("demo"), Some(&Role::Owner));
    }

    #[test]
    fn rejected_tokens() {
        let none_alg = {
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let p = URL_SAFE_NO_PAD
                .encode(json!({"sub":"u","exp":NOW+10,"handles":{"demo":"OWNER"}}).to_string());
            format!("{h}.{p}.")
        };
        let hs512_header = {
            let t = token(json!({}));
            let mut parts: Vec<&str> = t.split('.').collect();
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
            parts[0] = &h;
            parts.join(".")
        };
        let cases = [
            (token(json!({"exp": NOW - 61})), "expired"),
            (
                sign_jwt(&json!({"sub":"u","exp":NOW+10}), b"other"),
                "wrong secret",
            ),
            (none_alg, "alg none"),
            (hs512_header, "alg swapped"),
            (token(json!({"exp": null})), "no exp"),
            (token(json!({"nbf": NOW + 120})), "not yet valid"),
            (token(json!({"sub": ""})), "no sub"),
            ("abc".to_string(), "garbage"),
            ("a.b.c.d".to_string(), "four parts"),
            (String::new(), "empty"),
        ];
        for (t, why) in cases {
            assert!(
                matches!(verify_jwt(&t, &cfg(), NOW), Err(ApiError::Unauthorized(_))),
                "{why}"
            );
        }
        // leeway
        assert!(verify_jwt(&token(json!({"exp": NOW - 59})), &cfg(), NOW).is_ok());
        assert!(verify_jwt(&token(json!({"nbf": NOW + 59})), &cfg(), NOW).is_ok());
    }

    #[test]
    fn issuer_and_audience() {
        let c = JwtConfig {
            issuer: Some("idp".into()),
            audience: Some("ef".into()),
            ..cfg()
        };
        assert!(verify_jwt(&token(json!({"iss":"idp","aud":"ef"})), &c, NOW).is_ok());
        assert!(verify_jwt(&token(json!({"iss":"idp","aud":["x","ef"]})), &c, NOW).is_ok());
        assert!(verify_jwt(&token(json!({"iss":"other","aud":"ef"})), &c, NOW).is_err());
        assert!(verify_jwt(&token(json!({"iss":"idp"})), &c, NOW).is_err());
    }

    #[test]
    fn authorization_matrix() {
        let jwt = Principal::Jwt(verify_jwt(&token(json!({})), &cfg(), NOW).unwrap());
        let write = Need::any(Role::Creator, Scope::CampaignsWrite);
        assert_eq!(
            authorize(None, "demo", write),
            Err(ApiError::Unauthorized(
                "Send a bearer token: Authorization: Bearer <token>.".into()
            ))
        );
        assert!(authorize(Some(&jwt), "demo", write).is_ok());
        assert_eq!(
            authorize(Some(&jwt), "b", write),
            Err(ApiError::Forbidden),
            "viewer cannot write"
        );
        assert_eq!(
            authorize(Some(&jwt), "zzz", write),
            Err(ApiError::Forbidden),
            "other handle"
        );
        assert_eq!(
            authorize(Some(&jwt), "demo", Need::pat(Scope::PagesRead)),
            Err(ApiError::Forbidden),
            "jwt on PAT-only"
        );
        let pat = |scopes: &[&str]| Principal::Pat {
            token_id: "t".into(),
            handle: "demo".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            created_by: "u1".into(),
        };
        let analytics = Need::any(Role::Creator, Scope::AnalyticsRead);
        assert!(authorize(Some(&pat(&["analytics.read"])), "demo", analytics).is_ok());
        assert!(authorize(Some(&pat(&["analytics.*"])), "demo", analytics).is_ok());
        assert!(authorize(Some(&pat(&["*"])), "demo", analytics).is_ok());
        assert!(authorize(Some(&pat(&["links.*"])), "demo", analytics).is_err());
        assert!(authorize(Some(&pat(&["*"])), "other", analytics).is_err());
        assert!(
            authorize(Some(&pat(&["*"])), "demo", Need::jwt(Role::Creator)).is_err(),
            "PAT cannot mint PAT"
        );
    }

    #[test]
    fn scope_roles() {
        assert_eq!(scope_min_role("campaigns.read"), Role::Viewer);
        assert_eq!(scope_min_role("links.read"), Role::Viewer);
        assert_eq!(scope_min_role("campaigns.*"), Role::Creator);
        assert_eq!(scope_min_role("analytics.read"), Role::Creator);
        assert_eq!(scope_min_role("pages.write"), Role::Creator);
        assert_eq!(scope_min_role("webhooks.read"), Role::Admin);
        assert_eq!(scope_min_role("*"), Role::Admin);
    }

    #[test]
    fn grantable_scopes() {
        for s in [
            "*",
            "analytics.*",
            "campaigns.read",
            "webhooks.write",
            "pages.*",
        ] {
            assert!(is_grantable_scope(s), "{s}");
        }
        for s in ["", "analytics", "analytics.delete", "foo.*", "**", ".*"] {
            assert!(!is_grantable_scope(s), "{s}");
        }
    }
}
