//! Personal access tokens: the create body, and the secret format.
//! The secret is `pat_` + 48 hex characters (192 random bits); only its
//! SHA-256 is stored.

use crate::core::auth::{is_grantable_scope, scope_min_role, sha256_hex, Role};
use crate::core::error::ApiError;
use crate::core::ids::random_hex;
use crate::core::json::Obj;
use crate::core::time::parse_rfc3339;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
}

impl NewToken {
    /// `role`: the creator's role on the handle; no scope may exceed it.
    pub fn parse(body: &Map<String, Value>, role: Role, now_ms: i64) -> Result<NewToken, ApiError> {
        let o = Obj::new(body);
        o.only(&["name", "scopes", "expiresAt"])?;
        let name = o.req_str("name")?;
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(o.err("name", "must be 1-64 characters"));
        }
        let scopes = o
            .str_array("scopes", 20)?
            .ok_or_else(|| o.err("scopes", "is required"))?;
        if scopes.is_empty() {
            return Err(o.err("scopes", "must list at least one scope"));
        }
        let mut out: Vec<String> = Vec::with_capacity(scopes.len());
        for s in scopes {
            if !is_grantable_scope(s) {
                return Err(o.err(
                    "scopes",
                    &format!(
                        "contains unknown scope '{}'",
                        s.chars().take(40).collect::<String>()
                    ),
                ));
            }
            if scope_min_role(s) > role {
                return Err(ApiError::Forbidden);
            }
            if !out.iter().any(|x| x == s) {
                out.push(s.to_string());
            }
        }
        let expires_at = match o.str("expiresAt")? {
            None => None,
            Some(t) => {
                let ms = parse_rfc3339(t)
                    .ok_or_else(|| o.err("expiresAt", "must be an RFC 3339 timestamp"))?;
                if ms <= now_ms {
                    return Err(o.err("expiresAt", "must be in the future"));
                }
                Some(ms)
            }
        };
        Ok(NewToken {
            name: name.to_string(),
            scopes: out,
            expires_at,
        })
    }
}

/// A fresh secret and its stored hash.
pub fn new_secret() -> Result<(String, String), ApiError> {
    let secret = format!("pat_{}", random_hex(24)?);
    let hash = sha256_hex(secret.as_bytes());
    Ok((secret, hash))
}

pub fn looks_like_pat(s: &str) -> bool {
    s.len() == 52
        && s.starts_with("pat_")
        && s.as_bytes()[4..].iter().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse_object;

    fn p(body: &str, role: Role) -> Result<NewToken, ApiError> {
        NewToken::parse(&parse_object(body.as_bytes()).unwrap(), role, 1_000)
    }

    #[test]
    fn create_bodies() {
        let t = p(
            r#"{"name":"ci","scopes":["analytics.*","campaigns.read","campaigns.read"]}"#,
            Role::Creator,
        )
        .unwrap();
        assert_eq!(t.scopes, vec!["analytics.*", "campaigns.read"]);
        assert_eq!(
            p(r#"{"name":"x","scopes":["*"]}"#, Role::Creator),
            Err(ApiError::Forbidden),
            "creator cannot grant *"
        );
        assert_eq!(
            p(r#"{"name":"x","scopes":["webhooks.read"]}"#, Role::Creator),
            Err(ApiError::Forbidden)
        );
        assert!(p(r#"{"name":"x","scopes":["*"]}"#, Role::Admin).is_ok());
        for bad in [
            r#"{"scopes":["*"]}"#,
            r#"{"name":"x"}"#,
            r#"{"name":"x","scopes":[]}"#,
            r#"{"name":"x","scopes":["nope.read"]}"#,
            r#"{"name":"x","scopes":"*"}"#,
            r#"{"name":"x","scopes":["*"],"expiresAt":"1970-01-01T00:00:00Z"}"#,
        ] {
            assert_eq!(
                p(bad, Role::Owner).err().map(|e| e.code()),
                Some("invalid_field"),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets() {
        let (s, h) = new_secret().unwrap();
        assert!(looks_like_pat(&s));
        assert_eq!(h, sha256_hex(s.as_bytes()));
        assert!(!looks_like_pat("pat_short"));
    }
}
