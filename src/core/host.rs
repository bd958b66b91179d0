//! Branded hosts (`…/hosts/{host}`): a DNS name a handle claims so that
//! `https://{host}/{slug}` is its short link. `Host` can only be built valid.
//!
//! Upper-case input is normalized to lower case rather than refused: DNS names
//! are case-insensitive and browsers lower-case them, so `Go.Brand.Example` and
//! `go.brand.example` are the same host and must not be claimable twice.

use crate::core::error::ApiError;
use std::fmt;

/// A claimable host name: lower-case, at most 253 characters, at least two
/// labels of 1–63 characters of `[a-z0-9-]` that neither start nor end with
/// `-`, and a last label that is not all digits (so no IPv4 literal; an IPv6
/// literal has `:`/`[`, never allowed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host(String);

const MAX_LEN: usize = 253;
const MAX_LABEL: usize = 63;

/// Whether `s` (already lower case) has the shape of a claimable host. No
/// allocation: the redirect checks every request's host with it before any
/// lookup (a request to an IP address or `localhost` never costs one).
pub fn well_formed(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_LEN {
        return false;
    }
    let mut labels = 0;
    let mut last = "";
    for label in s.split('.') {
        let b = label.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= MAX_LABEL
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
        if !ok {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && !last.bytes().all(|c| c.is_ascii_digit())
}

impl Host {
    /// Parse a host from a path segment or a body. `own_hosts` are this
    /// service's own short-link hosts (`SHORT_HOSTS` and the request's host):
    /// a handle cannot claim the main host.
    pub fn parse(raw: &str, own_hosts: &[&str]) -> Result<Host, ApiError> {
        let s = raw.to_ascii_lowercase();
        if !well_formed(&s) {
            return Err(ApiError::field(
                "host",
                "must be a DNS name: at least two dot-separated labels of 1-63 characters \
                 of a-z, 0-9 and '-' (not at either end), at most 253 characters, not an IP address",
            ));
        }
        if own_hosts.iter().any(|h| h.eq_ignore_ascii_case(&s)) {
            return Err(ApiError::field(
                "host",
                "is one of this service's own hosts and cannot be claimed",
            ));
        }
        Ok(Host(s))
    }

    /// A stored host (trusted: it was parsed before it was written).
    pub fn from_stored(s: String) -> Host {
        Host(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host name of an absolute, runtime-normalized request URL
/// (`scheme://host[:port]/…`), without the port; no URL parse (the redirect's
/// fast path). An IPv6 literal comes back mangled, which is fine: it is never
/// `well_formed`.
pub fn of_url(url: &str) -> Option<&str> {
    let after_scheme = &url[url.find("://")? + 3..];
    let authority = after_scheme.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    host.split(':').next()
}

/// The short URL of a link on a branded host.
pub fn short_url(host: &Host, slug: &str) -> String {
    format!("https://{}/{slug}", host.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_names_and_lower_cases_them() {
        for (raw, want) in [
            ("go.brand.example", "go.brand.example"),
            ("Go.Brand.EXAMPLE", "go.brand.example"),
            ("a.io", "a.io"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("1.example", "1.example"),
            ("a-b.c-d.e2", "a-b.c-d.e2"),
        ] {
            assert_eq!(Host::parse(raw, &[]).map(|h| h.0), Ok(want.into()), "{raw}");
        }
        let label63 = "a".repeat(63);
        assert!(Host::parse(&format!("{label63}.example"), &[]).is_ok());
        // 253 characters exactly: 63+1+63+1+63+1+61.
        let max = format!("{label63}.{label63}.{label63}.{}", "b".repeat(61));
        assert_eq!(max.len(), 253);
        assert!(Host::parse(&max, &[]).is_ok());
    }

    #[test]
    fn refuses_what_is_not_a_claimable_dns_name() {
        let label64 = "a".repeat(64);
        let too_long = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(62));
        assert_eq!(too_long.len(), 254);
        for (raw, why) in [
            ("", "empty"),
            ("localhost", "one label"),
            ("example", "one label"),
            ("127.0.0.1", "IPv4 literal"),
            ("10.0.0.256", "numeric last label"),
            ("[::1]", "IPv6 literal"),
            ("::1", "IPv6 literal"),
            ("-go.example", "leading hyphen"),
            ("go-.example", "trailing hyphen"),
            ("go..example", "empty label"),
            (".go.example", "leading dot"),
            ("go.example.", "trailing dot"),
            ("go_brand.example", "underscore"),
            ("go brand.example", "space"),
            ("gö.example", "non-ASCII"),
            ("go.example:8080", "port"),
            ("go%2eexample", "percent-encoding"),
            (&format!("{label64}.example"), "label of 64"),
            (&too_long, "254 characters"),
        ] {
            let e = Host::parse(raw, &[]).unwrap_err();
            assert_eq!(e.code(), "invalid_field", "{why}: {raw}");
            assert!(e.message().contains("'host'"), "{why}");
        }
    }

    #[test]
    fn refuses_own_hosts_whatever_their_case() {
        let own = ["go.example", "127.0.0.1"];
        let e = Host::parse("GO.example", &own).unwrap_err();
        assert!(e.message().contains("own hosts"), "{e}");
        assert!(Host::parse("go2.example", &own).is_ok());
    }

    #[test]
    fn host_of_a_request_url() {
        for (u, h) in [
            ("https://go.brand.example/spring", Some("go.brand.example")),
            ("http://127.0.0.1:8787/demo/x?a=1", Some("127.0.0.1")),
            ("https://go.example?x", Some("go.example")),
            ("https://u:p@go.example:443/", Some("go.example")),
            ("no-scheme/x", None),
        ] {
            assert_eq!(of_url(u), h, "{u}");
        }
        assert!(!well_formed(
            of_url("https://[2606:4700::1]:8443/x").unwrap()
        ));
    }

    #[test]
    fn short_urls_on_a_branded_host_are_https() {
        let h = Host::parse("go.brand.example", &[]).unwrap();
        assert_eq!(short_url(&h, "spring"), "https://go.brand.example/spring");
    }
}
