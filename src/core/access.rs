//! Who may pass a short link, and when: expiry (with a fallback URL) and
//! password protection. The password is never stored: only a salted
//! PBKDF2-HMAC-SHA256 hash (derived by Web Crypto in the edge), in the form
//! `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.

use crate::core::error::ApiError;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;

/// PBKDF2 iterations for new hashes: the most Web Crypto on Workers derives
/// (workerd refuses more than 100,000). Stored with each hash, so raising it
/// later keeps old hashes verifiable.
pub const PBKDF2_ITERATIONS: u32 = 100_000;
/// Salt bytes per hash.
pub const SALT_LEN: usize = 16;
/// Derived key bytes (SHA-256 output).
pub const HASH_LEN: usize = 32;
/// Form bodies larger than this are refused unread.
pub const MAX_FORM_BYTES: usize = 4096;

/// A link password as written: 4–128 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub fn parse(s: &str) -> Result<Password, ApiError> {
        match s.chars().count() {
            4..=128 => Ok(Password(s.to_string())),
            _ => Err(ApiError::field("password", "must be 4 to 128 characters")),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

impl PasswordHash {
    pub fn to_stored(&self) -> String {
        format!(
            "pbkdf2-sha256${}${}${}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.hash)
        )
    }

    pub fn from_stored(s: &str) -> Option<PasswordHash> {
        let mut f = s.split('$');
        if f.next()? != "pbkdf2-sha256" {
            return None;
        }
        let iterations = f.next()?.parse().ok().filter(|n| *n > 0)?;
        let salt = B64.decode(f.next()?).ok()?;
        let hash = B64.decode(f.next()?).ok()?;
        (f.next().is_none() && !salt.is_empty() && hash.len() == HASH_LEN).then_some(PasswordHash {
            iterations,
            salt,
            hash,
        })
    }

    /// Whether a key derived from a try (same salt and iterations) matches,
    /// in time independent of where the bytes differ.
    pub fn matches(&self, derived: &[u8]) -> bool {
        same_bytes(derived, &self.hash)
    }
}

/// Equal, in time independent of where the bytes differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The cookie that remembers a right password: the visitor is not asked
/// again for that link, in that browser, for `UNLOCK_TTL_SECS`. Its value is
/// `<expiry, unix seconds>.<HMAC-SHA256, base64url>` over the handle, the
/// slug, the stored hash (a new password — new salt — voids every cookie)
/// and the expiry, keyed with the server's secret. Scoped by `Path` to the
/// link's own URL, `HttpOnly`, `SameSite=Lax` (a followed link is a top-level
/// GET, which sends it).
pub const UNLOCK_COOKIE: &str = "ef_unlock";
/// How long a right password is remembered: one day.
pub const UNLOCK_TTL_SECS: i64 = 24 * 3600;

/// What an unlock cookie signs, in one place for `unlock_cookie` and `unlocked`.
fn unlock_mac(
    secret: &[u8],
    handle: &str,
    slug: &str,
    stored: &PasswordHash,
    expires: i64,
) -> Vec<u8> {
    // The hash's raw bytes (length-prefixed salt, fixed-length hash), not its
    // stored text: no base64 encoding on every protected request.
    let mut msg = format!(
        "edge-funnel unlock\n{handle}\n{slug}\n{expires}\n{}\n{}\n",
        stored.iterations,
        stored.salt.len()
    )
    .into_bytes();
    msg.extend_from_slice(&stored.salt);
    msg.extend_from_slice(&stored.hash);
    crate::core::auth::hmac_sha256(secret, &msg)
}

/// The `Set-Cookie` value after a right password at `now_ms`, for the link
/// served at `path` (`/{handle}/{slug}`, or `/{slug}` on a branded host).
pub fn unlock_cookie(
    secret: &[u8],
    handle: &str,
    slug: &str,
    stored: &PasswordHash,
    path: &str,
    https: bool,
    now_ms: i64,
) -> String {
    let expires = now_ms.div_euclid(1000) + UNLOCK_TTL_SECS;
    let mac = unlock_mac(secret, handle, slug, stored, expires);
    format!(
        "{UNLOCK_COOKIE}={expires}.{}; Path={path}; Max-Age={UNLOCK_TTL_SECS}; HttpOnly; SameSite=Lax{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac),
        if https { "; Secure" } else { "" }
    )
}

/// Whether a `Cookie` header carries a valid, unexpired unlock cookie for
/// this link and its current password (any of several same-named cookies).
pub fn unlocked(
    secret: &[u8],
    handle: &str,
    slug: &str,
    stored: &PasswordHash,
    cookie_header: &str,
    now_ms: i64,
) -> bool {
    let now = now_ms.div_euclid(1000);
    crate::core::cookie::values(cookie_header, UNLOCK_COOKIE).any(|value| {
        let Some((exp, mac)) = value.split_once('.') else {
            return false;
        };
        let (Ok(expires), Ok(mac)) = (
            exp.parse::<i64>(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(mac),
        ) else {
            return false;
        };
        expires > now
            && expires <= now + UNLOCK_TTL_SECS
            && same_bytes(&mac, &unlock_mac(secret, handle, slug, stored, expires))
    })
}

/// What a request for a link meets before its redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate<'a> {
    /// Serve the redirect.
    Open,
    /// Past `expiresAt`: 302 to the fallback URL, or 410 without one.
    Expired(Option<&'a str>),
    /// Password protected: the form (GET) or the check (POST).
    Locked,
}

/// Expiry first: an expired link never asks for its password.
pub fn gate<'a>(
    expires_at: Option<i64>,
    expired_url: Option<&'a str>,
    protected: bool,
    now: i64,
) -> Gate<'a> {
    match expires_at {
        Some(t) if now >= t => Gate::Expired(expired_url),
        _ if protected => Gate::Locked,
        _ => Gate::Open,
    }
}

/// The fields of a submitted password form.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FormTry {
    pub password: String,
    /// The referrer the visitor arrived with (carried by the form, so the
    /// click is attributed to where they came from, not to the form).
    pub referrer: Option<String>,
}

/// An `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> FormTry {
    let mut t = FormTry::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        match &*k {
            "password" => t.password = v.into_owned(),
            "r" if !v.is_empty() => t.referrer = Some(v.into_owned()),
            _ => {}
        }
    }
    t
}

/// Why the form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormState {
    First,
    Wrong,
    TooManyTries,
}

/// The password form: small, accessible, no script, posts back to the same
/// URL (query included, so the visitor's parameters survive).
pub fn form_page(state: FormState, referrer: Option<&str>) -> String {
    let (alert, invalid) = match state {
        FormState::First => ("", ""),
        FormState::Wrong => (
            "<p id=err role=alert>That password is not right. Try again.</p>",
            " aria-invalid=true aria-describedby=err",
        ),
        FormState::TooManyTries => (
            "<p id=err role=alert>Too many tries. Wait a minute, then try again.</p>",
            " aria-describedby=err",
        ),
    };
    let hidden = referrer
        .map(|r| format!("<input type=hidden name=r value=\"{}\">", escape(r)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=en><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <meta name=robots content=noindex><title>Password required</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:24rem;margin:15vh auto;padding:0 1rem;color:#1a1a1a}}\
         input[type=password]{{display:block;width:100%;box-sizing:border-box;font:inherit;padding:.5rem;margin:.25rem 0 1rem}}\
         button{{font:inherit;padding:.5rem 1rem}}#err{{color:#b00020}}</style>\
         <main><h1>This link is password protected</h1>{alert}\
         <form method=post><label for=pw>Password</label>\
         <input id=pw name=password type=password required maxlength=128 autocomplete=current-password autofocus{invalid}>\
         {hidden}<button type=submit>Continue</button></form></main></html>"
    )
}

/// The page of an expired link without a fallback URL (410).
pub const EXPIRED_PAGE: &str = "<!doctype html><html lang=en><meta charset=utf-8>\
    <meta name=viewport content=\"width=device-width,initial-scale=1\"><title>Link expired</title>\
    <main><h1>This link has expired</h1><p>The short link you followed is no longer active.</p></main></html>";

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(salt: u8) -> PasswordHash {
        PasswordHash {
            iterations: PBKDF2_ITERATIONS,
            salt: vec![salt; SALT_LEN],
            hash: vec![7; HASH_LEN],
        }
    }

    /// The cookie's value, as a browser sends it back.
    fn value(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_string()
    }

    #[test]
    fn unlock_cookie_attributes() {
        let now = 1_780_000_000_000;
        let c = unlock_cookie(b"k", "demo", "sale", &stored(1), "/demo/sale", true, now);
        let parts: Vec<&str> = c.split("; ").collect();
        assert_eq!(
            &parts[1..],
            [
                "Path=/demo/sale",
                "Max-Age=86400",
                "HttpOnly",
                "SameSite=Lax",
                "Secure"
            ]
        );
        assert!(parts[0].starts_with("ef_unlock=1780086400."), "{c}");
        let plain = unlock_cookie(b"k", "demo", "sale", &stored(1), "/sale", false, now);
        assert!(plain.ends_with("; Path=/sale; Max-Age=86400; HttpOnly; SameSite=Lax"));
    }

    #[test]
    fn unlocked_only_for_its_link_password_secret_and_day() {
        let now = 1_780_000_000_000;
        let h = stored(1);
        let v = value(&unlock_cookie(
            b"k",
            "demo",
            "sale",
            &h,
            "/demo/sale",
            true,
            now,
        ));
        assert!(unlocked(b"k", "demo", "sale", &h, &v, now));
        assert!(unlocked(
            b"k",
            "demo",
            "sale",
            &h,
            &format!("a=1; {v}; b=2"),
            now + 1000
        ));
        // Among several same-named cookies, a valid one is enough.
        assert!(unlocked(
            b"k",
            "demo",
            "sale",
            &h,
            &format!("ef_unlock=1.AAAA; {v}"),
            now
        ));
        // Another link, handle, password (new salt) or secret: locked.
        assert!(!unlocked(b"k", "demo", "other", &h, &v, now));
        assert!(!unlocked(b"k", "acme", "sale", &h, &v, now));
        assert!(!unlocked(b"k", "demo", "sale", &stored(2), &v, now));
        assert!(!unlocked(b"other", "demo", "sale", &h, &v, now));
        // A day later: locked again (expiry is inside the MAC, so it cannot be moved).
        assert!(unlocked(b"k", "demo", "sale", &h, &v, now + 86_399_000));
        assert!(!unlocked(b"k", "demo", "sale", &h, &v, now + 86_400_000));
        let (exp, mac) = v.trim_start_matches("ef_unlock=").split_once('.').unwrap();
        let later = format!("ef_unlock={}.{mac}", exp.parse::<i64>().unwrap() + 3600);
        assert!(!unlocked(b"k", "demo", "sale", &h, &later, now));
        // Garbage, a flipped MAC byte, a prefix-named cookie: locked.
        let mut flipped = v.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        for bad in [
            String::new(),
            "ef_unlock=".into(),
            "ef_unlock=x.y".into(),
            "ef_unlock=99999999999.AAAA".into(),
            String::from_utf8(flipped).unwrap(),
            v.replace("ef_unlock=", "ef_unlockx="),
        ] {
            assert!(!unlocked(b"k", "demo", "sale", &h, &bad, now), "{bad}");
        }
    }

    #[test]
    fn password_length() {
        assert!(Password::parse("abc").is_err());
        assert!(Password::parse("abcd").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert_eq!(
            Password::parse(&"x".repeat(129)).err().map(|e| e.code()),
            Some("invalid_field")
        );
        assert_eq!(
            format!("{:?}", Password::parse("secret").unwrap()),
            "Password(…)"
        );
    }

    #[test]
    fn hash_round_trip_and_match() {
        let h = PasswordHash {
            iterations: PBKDF2_ITERATIONS,
            salt: vec![7; SALT_LEN],
            hash: (0..32).collect(),
        };
        let s = h.to_stored();
        assert!(s.starts_with("pbkdf2-sha256$100000$"));
        assert_eq!(PasswordHash::from_stored(&s), Some(h.clone()));
        assert!(h.matches(&(0..32).collect::<Vec<u8>>()));
        let mut other: Vec<u8> = (0..32).collect();
        other[31] ^= 1;
        assert!(!h.matches(&other));
        assert!(!h.matches(&other[..31]));
        for bad in [
            "",
            "md5$1$AA$AA",
            "pbkdf2-sha256$0$AAAA$AAAA",
            "pbkdf2-sha256$10$!!$AA",
            "pbkdf2-sha256$10$AAAA$AAAA",
        ] {
            assert_eq!(PasswordHash::from_stored(bad), None, "{bad}");
        }
    }

    #[test]
    fn expiry_before_password() {
        assert_eq!(gate(None, None, false, 5), Gate::Open);
        assert_eq!(gate(Some(10), None, false, 9), Gate::Open);
        assert_eq!(gate(Some(10), None, true, 9), Gate::Locked);
        assert_eq!(
            gate(Some(10), Some("https://e.com"), true, 10),
            Gate::Expired(Some("https://e.com"))
        );
        assert_eq!(gate(Some(10), None, false, 11), Gate::Expired(None));
    }

    #[test]
    fn form_bodies() {
        assert_eq!(
            parse_form(b"password=p%40ss+word&r=https%3A%2F%2Fnews.example%2Fa"),
            FormTry {
                password: "p@ss word".into(),
                referrer: Some("https://news.example/a".into())
            }
        );
        assert_eq!(parse_form(b"r=&x=1"), FormTry::default());
    }

    #[test]
    fn form_escapes_the_referrer() {
        let p = form_page(FormState::Wrong, Some("https://x.example/\"><script>"));
        assert!(p.contains("value=\"https://x.example/&quot;&gt;&lt;script&gt;\""));
        assert!(!p.contains("<script>"));
        assert!(p.contains("role=alert"));
        assert!(p.contains("<label for=pw>"));
        assert!(!form_page(FormState::First, None).contains("role=alert"));
    }
}
