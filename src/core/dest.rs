//! Destination URLs: what a link (or a rule's variant) may point at, and the
//! final `Location` a visitor is sent to.
//!
//! Parsing uses the WHATWG-conformant `url` crate (already part of the Worker
//! runtime crate, so it costs no extra size) so that we judge a URL the way a
//! browser will read it: `http:127.1`, `http://0x7f.1`, `http://127.0.0.%31`
//! and `http://[::ffff:127.0.0.1]` are all recognised as loopback.

use crate::core::error::ApiError;
use std::net::{Ipv4Addr, Ipv6Addr};
use url::{form_urlencoded, Host, Url};

pub const MAX_URL_BYTES: usize = 2048;

/// An absolute http(s) URL that is safe to redirect to. Stored normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationUrl(String);

impl DestinationUrl {
    /// `own_hosts`: this service's own short-link hosts (lower-case); a link
    /// pointing back at them could loop, so it is refused.
    pub fn parse(raw: &str, field: &str, own_hosts: &[&str]) -> Result<DestinationUrl, ApiError> {
        let bad = |m: &str| ApiError::field(field, m);
        if raw.is_empty() {
            return Err(bad("is required"));
        }
        if raw.len() > MAX_URL_BYTES {
            return Err(bad("must be at most 2048 bytes"));
        }
        // The WHATWG parser silently strips or rewrites these; we refuse them so
        // that what is stored is exactly what was meant.
        if raw.bytes().any(|b| b <= b' ' || b == b'\\' || b == 0x7f) {
            return Err(bad(
                "must not contain spaces, control characters or backslashes",
            ));
        }
        let url = Url::parse(raw).map_err(|_| bad("must be an absolute http or https URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must be an absolute http or https URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not contain user information (user@host)"));
        }
        match url.host() {
            None => return Err(bad("must have a host")),
            Some(Host::Ipv4(ip)) if !is_public_v4(ip) => {
                return Err(bad(
                    "must not point at a private, loopback or link-local address",
                ))
            }
            Some(Host::Ipv6(ip)) if !is_public_v6(ip) => {
                return Err(bad(
                    "must not point at a private, loopback or link-local address",
                ))
            }
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.');
                if d == "localhost" || d.ends_with(".localhost") {
                    return Err(bad(
                        "must not point at a private, loopback or link-local address",
                    ));
                }
                if own_hosts.iter().any(|h| h.eq_ignore_ascii_case(d)) {
                    return Err(bad(
                        "must not point at this short-link service (it would loop)",
                    ));
                }
            }
            Some(_) => {}
        }
        let s = url.to_string();
        if s.len() > MAX_URL_BYTES {
            return Err(bad("must be at most 2048 bytes"));
        }
        Ok(DestinationUrl(s))
    }

    /// Wrap a value read back from our own storage (it was validated on write).
    pub fn from_stored(s: String) -> DestinationUrl {
        DestinationUrl(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
        || o[0] >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0))
    // ::a.b.c.d (deprecated compat)
}

/// The final `Location` for a visitor.
///
/// - `visitor_query` (without `?`) is carried over when `forward` is set; a
///   parameter the destination already has wins over the visitor's.
/// - `context`: `(name, clickId)` appended last; it replaces any parameter of
///   that name (attribution must not be spoofable by the visitor or stale in
///   the destination).
/// - The destination's fragment stays at the end.
pub fn final_url(
    dest: &str,
    visitor_query: Option<&str>,
    forward: bool,
    context: Option<(&str, &str)>,
) -> String {
    let (base, fragment) = match dest.find('#') {
        Some(i) => (&dest[..i], &dest[i..]),
        None => (dest, ""),
    };
    let (path, dest_query) = match base.find('?') {
        Some(i) => (&base[..i], &base[i + 1..]),
        None => (base, ""),
    };
    let ctx_name = context.map(|(n, _)| n);
    let mut out = String::with_capacity(dest.len() + visitor_query.map_or(0, str::len) + 48);
    out.push_str(path);
    let mut first = true;
    let mut push = |out: &mut String, seg: &str| {
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(seg);
    };
    let mut dest_keys: Vec<std::borrow::Cow<'_, str>> = Vec::new();
    for seg in dest_query.split('&').filter(|s| !s.is_empty()) {
        let key = decoded_key(seg);
        if Some(key.as_ref()) == ctx_name {
            continue;
        }
        dest_keys.push(key);
        push(&mut out, seg);
    }
    if forward {
        if let Some(q) = visitor_query {
            for seg in q.split('&').filter(|s| !s.is_empty()) {
                if !seg.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
                    continue;
                }
                let key = decoded_key(seg);
                if Some(key.as_ref()) == ctx_name || dest_keys.contains(&key) {
                    continue;
                }
                push(&mut out, seg);
            }
        }
    }
    if let Some((name, value)) = context {
        let mut seg = String::with_capacity(name.len() + value.len() + 1);
        seg.push_str(name);
        seg.push('=');
        seg.push_str(value);
        push(&mut out, &seg);
    }
    out.push_str(fragment);
    out
}

fn decoded_key(seg: &str) -> std::borrow::Cow<'_, str> {
    let raw_key = seg.split('=').next().unwrap_or("");
    if raw_key.bytes().any(|b| b == b'%' || b == b'+') {
        let decoded: String = form_urlencoded::parse(raw_key.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        std::borrow::Cow::Owned(decoded)
    } else {
        std::borrow::Cow::Borrowed(raw_key)
    }
}

/// The first value of a query parameter (decoded), e.g. `utm_source`.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        DestinationUrl::parse(s, "destinationUrl", &["sho.rt"])
            .map(|d| d.0)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }
    fn rejected(s: &str) -> bool {
        DestinationUrl::parse(s, "destinationUrl", &["sho.rt"]).is_err()
    }

    #[test]
    fn accepts_ordinary_destinations() {
        assert_eq!(
            ok("https://shop.example.com/spring"),
            "https://shop.example.com/spring"
        );
        assert_eq!(ok("HTTPS://Shop.Example.com"), "https://shop.example.com/");
        ok("http://example.com:8080/a?b=c#d");
        ok("https://8.8.8.8/");
        ok("https://[2606:4700::1111]/");
        // An internationalized domain arrives here in its ASCII (punycode)
        // form: the edge converts Unicode hosts with the runtime's URL parser
        // first (`edge::http::ascii_urls`). The core alone refuses them.
        assert_eq!(
            ok("https://xn--bcher-kva.example/stra%C3%9Fe"),
            "https://xn--bcher-kva.example/stra%C3%9Fe"
        );
        assert!(rejected("https://bücher.example/"));
    }

    #[test]
    fn rejects_what_could_hurt_or_loop() {
        let cases = [
            ("javascript:alert(1)", "javascript scheme"),
            ("data:text/html,hi", "data scheme"),
            ("ftp://example.com/", "ftp"),
            ("//example.com/", "scheme-relative"),
            ("/relative", "relative"),
            ("https://user:pw@example.com/", "user info"),
            ("https://user@example.com/", "user only"),
            ("http://127.0.0.1/", "loopback"),
            ("http://127.1/", "IPv4 shorthand"),
            ("http:127.1", "no slashes shorthand"),
            ("http://2130706433/", "decimal IPv4"),
            ("http://0x7f.0.0.1/", "hex IPv4"),
            ("http://127.0.0.%31/", "percent-encoded host"),
            ("http://10.0.0.8/", "private 10/8"),
            ("http://172.16.3.4/", "private 172.16/12"),
            ("http://192.168.1.1/", "private 192.168/16"),
            (
                "http://169.254.169.254/latest/meta-data",
                "link-local metadata",
            ),
            ("http://0.0.0.0/", "unspecified"),
            ("http://[::1]/", "IPv6 loopback"),
            ("http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"),
            ("http://[fe80::1]/", "IPv6 link-local"),
            ("http://[fd00::1]/", "IPv6 unique local"),
            ("http://localhost:8787/", "localhost"),
            ("http://a.localhost/", "sub.localhost"),
            ("https://sho.rt/demo/x", "own host loop"),
            ("https://SHO.RT./demo/x", "own host with dot"),
            ("https://example.com\\@evil.com/", "backslash"),
            (" https://example.com/", "leading space"),
            ("https://exa mple.com/", "space"),
            ("https://example.com/\n", "newline"),
            ("", "empty"),
        ];
        for (u, why) in cases {
            assert!(rejected(u), "{why}: {u} should be rejected");
        }
        assert!(rejected(&format!(
            "https://example.com/{}",
            "a".repeat(2100)
        )));
    }

    #[test]
    fn final_url_forwards_query_and_appends_context() {
        let d = "https://shop.example.com/spring";
        assert_eq!(final_url(d, None, true, None), d);
        assert_eq!(
            final_url(
                d,
                Some("utm_source=email&x=1"),
                true,
                Some(("ctx", "clk_a"))
            ),
            "https://shop.example.com/spring?utm_source=email&x=1&ctx=clk_a"
        );
        assert_eq!(
            final_url(d, Some("x=1"), false, Some(("ctx", "clk_a"))),
            "https://shop.example.com/spring?ctx=clk_a"
        );
        // destination params win; visitor cannot spoof the context param
        assert_eq!(
            final_url(
                "https://e.com/p?a=1&ctx=old#frag",
                Some("a=2&b=3&ctx=evil&c%74x=evil2"),
                true,
                Some(("ctx", "clk_b"))
            ),
            "https://e.com/p?a=1&b=3&ctx=clk_b#frag"
        );
        // no context param: a visitor's ctx passes through (nothing to protect)
        assert_eq!(
            final_url("https://e.com/", Some("ctx=1"), true, None),
            "https://e.com/?ctx=1"
        );
        // empty segments dropped
        assert_eq!(
            final_url("https://e.com/?", Some("&&a=1&"), true, None),
            "https://e.com/?a=1"
        );
    }

    #[test]
    fn query_param_decodes() {
        assert_eq!(
            query_param("utm_source=E%6Dail&x=1", "utm_source").as_deref(),
            Some("Email")
        );
        assert_eq!(query_param("a=1", "utm_source"), None);
    }
}
