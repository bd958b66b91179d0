//! Traffic source: the visitor's `utm_source`/`src`, else the Referer host
//! classified as social, search, email or referral.

use super::tables::{EMAIL_DOMAINS, SEARCH_DOMAINS, SOCIAL_DOMAINS};
use super::{starts_with_ci, MAX_SOURCE_LEN};

// ---------------------------------------------------------------------------
// Source
// ---------------------------------------------------------------------------

/// The `source` of a click.
///
/// An explicit `utm_source` (the caller passes `src` instead when `utm_source`
/// is absent) wins, because it is what the campaign owner chose to call the
/// channel. It is trimmed, lower-cased and reduced to `[a-z0-9._-]` (every other
/// character becomes `_`), then truncated to 64 characters, so it is safe as a
/// report key and in a `segment`. A value with no letter or digit left
/// (empty, `"!!!"`, `"日本"`) carries no information and is ignored.
///
/// Otherwise the Referer host decides: `social`, `search`, `email` (webmail),
/// `referral` (any other site) or `direct` (no usable Referer — typed URLs,
/// native apps, and browsers that strip the Referer).
pub fn classify_source(utm_source: Option<&str>, referrer_host: Option<&str>) -> String {
    if let Some(source) = utm_source.and_then(sanitize_source) {
        return source;
    }
    let class = match referrer_host.map(str::trim).filter(|h| !h.is_empty()) {
        None => return "direct".to_owned(),
        Some(host) => classify_host(host),
    };
    match class {
        HostClass::Social => "social",
        HostClass::Search => "search",
        HostClass::Email => "email",
        HostClass::Other => "referral",
    }
    .to_owned()
}

/// Sanitizes a visitor-supplied source name; `None` when nothing useful remains.
fn sanitize_source(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(trimmed.len().min(MAX_SOURCE_LEN));
    for c in trimmed.chars().take(MAX_SOURCE_LEN) {
        let c = c.to_ascii_lowercase();
        let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        out.push(if keep { c } else { '_' });
    }
    out.bytes()
        .any(|b| b.is_ascii_alphanumeric())
        .then_some(out)
}

/// Host of a `Referer` header value: lower-case, without port, userinfo,
/// trailing dot or a leading `www.`.
///
/// `"https://www.Google.com/search?q=x"` gives `Some("google.com")`. Empty or
/// garbage values, non-http(s) schemes and hosts with characters a DNS name
/// cannot have give `None`, which [`classify_source`] reports as `direct`.
///
/// One exception to "http(s) only": Android apps send
/// `android-app://<package>/` as Referer. The few packages whose channel is
/// unambiguous (Gmail, the Google app, the big social apps) are mapped to the
/// corresponding web host so the click lands in the right bucket; unknown
/// packages give `None`.
pub fn referrer_host(referer: &str) -> Option<String> {
    let (scheme, rest) = referer.trim().split_once("://")?;
    if scheme.eq_ignore_ascii_case("android-app") {
        return android_app_host(rest).map(str::to_owned);
    }
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);

    if let Some(v6) = host_port.strip_prefix('[') {
        let (addr, after) = v6.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        let addr_ok = !addr.is_empty()
            && addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return (port_ok && addr_ok).then(|| format!("[{}]", addr.to_ascii_lowercase()));
    }

    let host = match host_port.split_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return None,
        None => host_port,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let valid = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !valid {
        return None;
    }
    Some(strip_www(host).to_ascii_lowercase())
}

/// Drops a leading `www.` (any case) when something domain-like remains, so
/// `www.example.com` and `example.com` report together but `www.com` stays.
fn strip_www(host: &str) -> &str {
    match host.get(4..) {
        Some(rest) if starts_with_ci(host, "www.") && rest.contains('.') => rest,
        _ => host,
    }
}

/// Web host standing in for a well-known Android app package.
fn android_app_host(rest: &str) -> Option<&'static str> {
    const APPS: &[(&str, &str)] = &[
        ("com.google.android.gm", "mail.google.com"),
        ("com.google.android.googlequicksearchbox", "google.com"),
        ("com.google.android.youtube", "youtube.com"),
        ("com.microsoft.office.outlook", "outlook.live.com"),
        ("com.yahoo.mobile.client.android.mail", "mail.yahoo.com"),
        ("com.facebook.katana", "facebook.com"),
        ("com.facebook.orca", "messenger.com"),
        ("com.instagram.android", "instagram.com"),
        ("com.linkedin.android", "linkedin.com"),
        ("com.twitter.android", "twitter.com"),
        ("com.reddit.frontpage", "reddit.com"),
        ("com.pinterest", "pinterest.com"),
        ("org.telegram.messenger", "t.me"),
        ("com.whatsapp", "whatsapp.com"),
    ];
    let package = rest.split(['/', '?', '#']).next().unwrap_or("");
    APPS.iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(package))
        .map(|&(_, host)| host)
}

/// Coarse class of a referring host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostClass {
    Social,
    Search,
    Email,
    Other,
}

/// `host` is `domain` or a subdomain of it.
#[inline]
fn under_domain(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

/// For `host` = `[prefix.]label.<suffix>` where `<suffix>` looks like a public
/// suffix (`com`, `de`, `co.uk`, `com.br`, …), returns `prefix` (empty when
/// there is none). This is how `google.*`, `yandex.*`, `pinterest.*` and `gmx.*`
/// are matched without a public-suffix list: the TLD must be 2..=6 letters and an
/// optional second-level part (`co`, `com`, `org`, …) 2..=3 letters, so
/// `google.example.com` does not qualify.
fn wildcard_prefix<'h>(host: &'h str, label: &str) -> Option<&'h str> {
    let mut rest = host;
    for depth in 0..2 {
        let (head, last) = rest.rsplit_once('.')?;
        let max_len = if depth == 0 { 6 } else { 3 };
        let suffix_ok =
            (2..=max_len).contains(&last.len()) && last.bytes().all(|b| b.is_ascii_lowercase());
        if !suffix_ok {
            return None;
        }
        let (prefix, candidate) = head.rsplit_once('.').unwrap_or(("", head));
        if candidate == label {
            return Some(prefix);
        }
        rest = head;
    }
    None
}

/// Classifies a referring host (lower case, as returned by [`referrer_host`])
/// as social, search, email or other.
///
/// Email is checked first because webmail lives under search and portal
/// domains (`mail.google.com` is Gmail, not Google search; `mail.yahoo.com`,
/// `mail.yandex.ru`). Upper case, a trailing dot and a leading `www.` are
/// tolerated anyway.
pub fn classify_host(host: &str) -> HostClass {
    let host = host.trim();
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = strip_www(host);
    let lowered;
    let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        lowered = host.to_ascii_lowercase();
        lowered.as_str()
    } else {
        host
    };

    if EMAIL_DOMAINS.iter().any(|d| under_domain(host, d))
        || wildcard_prefix(host, "gmx").is_some()
        || wildcard_prefix(host, "yandex") == Some("mail")
    {
        return HostClass::Email;
    }
    if SOCIAL_DOMAINS.iter().any(|d| under_domain(host, d))
        || wildcard_prefix(host, "pinterest").is_some()
    {
        return HostClass::Social;
    }
    if SEARCH_DOMAINS.iter().any(|d| under_domain(host, d))
        || wildcard_prefix(host, "google").is_some()
        || wildcard_prefix(host, "yandex").is_some()
    {
        return HostClass::Search;
    }
    HostClass::Other
}
