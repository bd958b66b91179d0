//! Visitor classification: device, bot, traffic source and segment.
//!
//! Everything here runs on the redirect hot path, once per click, so it is
//! deliberately plain: no regex engine, no heap allocation for the User-Agent
//! (it is lower-cased once into a 512-byte stack buffer and searched with
//! `str::contains`; longer UAs are scanned case-insensitively in place), and
//! only small constant tables. The only allocations are the returned `String`s
//! (source, referrer host, segment), which the caller stores anyway.
//!
//! Classification is *analytics only*. None of these functions decides whether a
//! visitor is redirected: bots are redirected exactly like humans (see
//! [`classify_bot`]), and a wrong guess only ever moves a click into another
//! bucket of a report.

mod source;
mod tables;
pub use source::{classify_host, classify_source, referrer_host, HostClass};
use tables::{BOT_TOKENS, MOBILE_TOKENS, TABLET_TOKENS};

/// Longest `source` value we keep; longer `utm_source` values are truncated.
pub(crate) const MAX_SOURCE_LEN: usize = 64;

/// Cloudflare bot scores below this are "automated" (1) or "likely automated"
/// (2..=29); 30..=99 is "likely human". 0 means "not computed".
const BOT_SCORE_THRESHOLD: u32 = 30;

// ---------------------------------------------------------------------------
// Byte-level helpers (no allocation)
// ---------------------------------------------------------------------------

/// Position of the first case-insensitive occurrence of `needle` in `hay`,
/// starting the search at byte `from`.
///
/// `needle` must already be lower-case ASCII (all call sites pass literals), so
/// only the haystack side needs folding. Comparing bytes is sound on UTF-8:
/// an ASCII needle can only match ASCII bytes, never the middle of a
/// multi-byte character.
#[inline]
fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    debug_assert!(!needle.iter().any(u8::is_ascii_uppercase));
    let (&first, rest) = needle.split_first()?;
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w[0].to_ascii_lowercase() == first && w[1..].eq_ignore_ascii_case(rest))
        .map(|p| p + from)
}

/// `true` when `haystack` contains `needle_lower` ignoring ASCII case.
#[inline]
fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    find_ci(haystack.as_bytes(), needle_lower.as_bytes(), 0).is_some()
}

/// `true` when `haystack` starts with `prefix_lower` ignoring ASCII case.
#[inline]
pub(crate) fn starts_with_ci(haystack: &str, prefix_lower: &str) -> bool {
    haystack
        .as_bytes()
        .get(..prefix_lower.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix_lower.as_bytes()))
}

/// User-Agents up to this many bytes are lower-cased once into a stack buffer;
/// longer ones (rare) fall back to per-token case-insensitive scanning.
const LOWER_BUF: usize = 512;

/// Copies `s` into `buf` with ASCII lower-cased and returns it as a `&str`, or
/// `None` when it does not fit.
///
/// Lower-casing once and then using `str::contains` (a fast substring searcher)
/// for each token is several times faster than folding case inside every
/// token scan, and still allocates nothing. Only ASCII bytes change, so the
/// copy stays valid UTF-8.
#[inline]
fn lowercase_in<'b>(buf: &'b mut [u8; LOWER_BUF], s: &str) -> Option<&'b str> {
    let dst = buf.get_mut(..s.len())?;
    dst.copy_from_slice(s.as_bytes());
    dst.make_ascii_lowercase();
    std::str::from_utf8(dst).ok()
}

// ---------------------------------------------------------------------------
// Device
// ---------------------------------------------------------------------------

/// The device family of a visitor, as far as the User-Agent tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    Mobile,
    Desktop,
    Tablet,
}

impl Device {
    /// Upper-case storage form (`"MOBILE"`, `"DESKTOP"`, `"TABLET"`), as used in
    /// rule conditions and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "MOBILE",
            Device::Desktop => "DESKTOP",
            Device::Tablet => "TABLET",
        }
    }

    /// Lower-case form used in segments and report keys.
    pub fn lower(self) -> &'static str {
        match self {
            Device::Mobile => "mobile",
            Device::Desktop => "desktop",
            Device::Tablet => "tablet",
        }
    }

    /// Parses the storage form. Only the exact upper-case spelling is accepted
    /// so that a value read back always round-trips through [`Device::as_str`].
    pub fn parse(s: &str) -> Option<Device> {
        match s {
            "MOBILE" => Some(Device::Mobile),
            "DESKTOP" => Some(Device::Desktop),
            "TABLET" => Some(Device::Tablet),
            _ => None,
        }
    }
}

/// Classifies the device from the User-Agent alone.
///
/// Order matters:
/// 1. explicit tablet tokens (`iPad`, Kindle/Silk, PlayBook, Nexus 7/9/10, and
///    `Tablet` — except the `Tablet PC` token old Windows laptops sent);
/// 2. explicit phone tokens (`iPhone`, `iPod`, `Windows Phone`, `Mobi…`,
///    BlackBerry, Opera Mini, feature-phone platforms);
/// 3. `Android` *without* a phone token is a tablet: Android browsers put
///    `Mobile` in the UA on phones and leave it out on tablets, by convention
///    of Google's own guidance;
/// 4. everything else — desktop browsers, the empty UA, tools — is desktop.
///
/// iPadOS 13+ Safari requests desktop sites by default and sends a UA that is
/// byte-for-byte a Mac one (`Macintosh; Intel Mac OS X 10_15_7`). It cannot be
/// told apart server-side, so it is counted as `Desktop`.
///
/// Device and bot detection are independent: a crawler that announces a phone
/// (smartphone Googlebot, Lighthouse's mobile run) is `Mobile` here and is a
/// bot according to [`is_bot_user_agent`]; the caller decides what to do with
/// the combination.
pub fn classify_device(user_agent: &str) -> Device {
    let mut buf = [0u8; LOWER_BUF];
    match lowercase_in(&mut buf, user_agent) {
        Some(lower) => device_from_tokens(|token| lower.contains(token)),
        None => device_from_tokens(|token| contains_ci(user_agent, token)),
    }
}

/// The decision of [`classify_device`], given a case-insensitive
/// "UA contains this lower-case token" test.
#[inline]
fn device_from_tokens(has: impl Fn(&str) -> bool) -> Device {
    if TABLET_TOKENS.iter().any(|t| has(t)) || (has("tablet") && !has("tablet pc")) {
        return Device::Tablet;
    }
    if MOBILE_TOKENS.iter().any(|t| has(t)) {
        return Device::Mobile;
    }
    if has("android") {
        return Device::Tablet;
    }
    Device::Desktop
}

// ---------------------------------------------------------------------------
// Bots
// ---------------------------------------------------------------------------

/// Why a request was classified as automated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotReason {
    UserAgent,
    HeadRequest,
    VerifiedBot,
    BotScore,
}

impl BotReason {
    /// Stable snake-case name, stored with the click.
    pub fn as_str(self) -> &'static str {
        match self {
            BotReason::UserAgent => "user_agent",
            BotReason::HeadRequest => "head_request",
            BotReason::VerifiedBot => "verified_bot",
            BotReason::BotScore => "bot_score",
        }
    }
}

/// The request facts bot detection looks at.
pub struct BotSignals<'a> {
    /// The raw `User-Agent` header, empty when absent.
    pub user_agent: &'a str,
    /// The request method was `HEAD`.
    pub is_head: bool,
    /// Cloudflare's `cf.botManagement.verifiedBot`.
    pub verified_bot: bool,
    /// Cloudflare bot score 1..=99 when Bot Management ran (0 = not computed).
    pub bot_score: Option<u32>,
}

/// Classifies a request as automated, returning the *first* matching reason in
/// this order: `user_agent`, `head_request`, `verified_bot`, `bot_score`.
///
/// Bots are still redirected like any visitor: link-preview fetchers need the
/// real destination to build the card people then click, search engines must
/// see the redirect to index the target, and a false positive must never cost a
/// human their page. The reason only keeps bot traffic out of click counts and
/// funnels, and the order makes the stored reason the cheapest, most
/// explainable one.
///
/// - `head_request`: browsers never navigate with `HEAD`; link checkers,
///   unfurlers and uptime monitors do.
/// - `verified_bot`: Cloudflare vouches that this is a known, well-behaved bot.
/// - `bot_score`: Cloudflare scores 1..=29 are "(likely) automated". A score of
///   0 means "not computed" and is ignored, as is any out-of-range value.
pub fn classify_bot(s: &BotSignals<'_>) -> Option<BotReason> {
    bot_reason(is_bot_user_agent(s.user_agent), s)
}

/// What the User-Agent string alone says: the device class, and whether it
/// names an automated client. A pure function of the string, so the edge may
/// memoize it per isolate (the same few UA strings make most of the traffic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UaClass {
    pub device: Device,
    pub bot: bool,
}

pub fn classify_ua(user_agent: &str) -> UaClass {
    UaClass {
        device: classify_device(user_agent),
        bot: is_bot_user_agent(user_agent),
    }
}

/// [`classify_bot`] with the User-Agent test already made (`ua_is_bot`).
pub fn bot_reason(ua_is_bot: bool, s: &BotSignals<'_>) -> Option<BotReason> {
    if ua_is_bot {
        Some(BotReason::UserAgent)
    } else if s.is_head {
        Some(BotReason::HeadRequest)
    } else if s.verified_bot {
        Some(BotReason::VerifiedBot)
    } else if s
        .bot_score
        .is_some_and(|score| (1..BOT_SCORE_THRESHOLD).contains(&score))
    {
        Some(BotReason::BotScore)
    } else {
        None
    }
}

/// UAs that are link-preview fetchers when they *start* with this token.
///
/// - `WhatsApp/2.23.20.0 A` is WhatsApp's preview fetcher; Signal's link
///   previews send the bare `WhatsApp`. Anchoring at the start keeps any
///   browser UA that merely mentions WhatsApp (browser UAs start with
///   `Mozilla/`) from being flagged.
/// - `Viber` / `Viber/…` is Viber's preview fetcher, same reasoning.
const BOT_PREFIXES: &[&str] = &["whatsapp", "viber"];

/// `true` when the UA contains the word `bot` anywhere except as part of
/// `Cubot` (a phone brand whose model names appear in real browser UAs).
/// Case-insensitive; `ua` need not be lower-cased.
fn contains_bot_word(ua: &str) -> bool {
    let hay = ua.as_bytes();
    let mut from = 0;
    while let Some(pos) = find_ci(hay, b"bot", from) {
        let cubot = pos >= 2
            && hay
                .get(pos - 2..pos)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"cu"));
        if !cubot {
            return true;
        }
        from = pos + 1;
    }
    false
}

/// [`contains_bot_word`] for an already lower-cased UA, using the fast
/// substring searcher.
fn contains_bot_word_lower(lower: &str) -> bool {
    lower
        .match_indices("bot")
        .any(|(pos, _)| pos < 2 || lower.get(pos - 2..pos) != Some("cu"))
}

/// `true` when the User-Agent belongs to a crawler, a link-preview fetcher or
/// an HTTP tool rather than a person's browser.
///
/// An empty (or blank) UA counts as a bot: every browser and every in-app
/// webview sends one, so its absence means a script or a tool that did not
/// bother to set it.
///
/// False positives are worse than misses here (a miss only inflates a click
/// count; a false positive hides a real visitor from the funnel), so the lists
/// stay with tokens that never occur in browser UAs, and in-app browsers are
/// handled deliberately (see [`BOT_TOKENS`]).
pub fn is_bot_user_agent(user_agent: &str) -> bool {
    let ua = user_agent.trim();
    if ua.is_empty() {
        return true;
    }
    if BOT_PREFIXES.iter().any(|p| starts_with_ci(ua, p)) {
        return true;
    }
    let mut buf = [0u8; LOWER_BUF];
    match lowercase_in(&mut buf, ua) {
        Some(lower) => {
            contains_bot_word_lower(lower) || BOT_TOKENS.iter().any(|t| lower.contains(t))
        }
        None => contains_bot_word(ua) || BOT_TOKENS.iter().any(|t| contains_ci(ua, t)),
    }
}

// ---------------------------------------------------------------------------
// Segment
// ---------------------------------------------------------------------------

/// The visitor segment `{device}:{source}` in lower case, e.g. `"mobile:email"`;
/// used as a rollup key so device and channel can be compared together.
pub fn segment(device: Device, source: &str) -> String {
    let device = device.lower();
    let mut out = String::with_capacity(device.len() + 1 + source.len());
    out.push_str(device);
    out.push(':');
    out.push_str(&source.to_ascii_lowercase());
    out
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::Device::{Desktop, Mobile, Tablet};
    use super::*;
    use proptest::prelude::*;

    /// (user agent, expected device, expected is_bot, label)
    const UAS: &[(&str, Device, bool, &str)] = &[
        // --- desktop browsers ---
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Desktop, false, "Chrome Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Desktop, false, "Chrome macOS"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Desktop, false, "Chrome Linux"),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Desktop, false, "Chrome ChromeOS"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", Desktop, false, "Firefox Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0", Desktop, false, "Firefox macOS"),
        ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", Desktop, false, "Firefox Ubuntu"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", Desktop, false, "Safari macOS"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51", Desktop, false, "Edge Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51", Desktop, false, "Edge macOS"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0", Desktop, false, "Opera Windows"),
        ("Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", Desktop, false, "IE 11"),
        ("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; WOW64; Trident/4.0; SLCC2; .NET CLR 2.0.50727; Media Center PC 6.0; Tablet PC 2.0)", Desktop, false, "IE 8 with 'Tablet PC' token is a laptop"),
        // iPadOS 13+ Safari sends a Mac UA: indistinguishable, counted as Desktop.
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", Desktop, false, "iPadOS Safari desktop-class UA"),
        // --- phones ---
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", Mobile, false, "iPhone Safari"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", Mobile, false, "iPhone Chrome"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15", Mobile, false, "iPhone Firefox"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.50 Mobile/15E148 Safari/605.1.15", Mobile, false, "iPhone Edge"),
        ("Mozilla/5.0 (iPod touch; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6.1 Mobile/15E148 Safari/604.1", Mobile, false, "iPod touch"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36", Mobile, false, "Pixel Chrome"),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", Mobile, false, "Android Chrome reduced UA"),
        ("Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36", Mobile, false, "Galaxy S23 Chrome"),
        ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", Mobile, false, "Samsung Internet phone"),
        ("Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", Mobile, false, "Firefox Android"),
        ("Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", Mobile, false, "Cubot phone is not a bot"),
        ("Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; NOKIA; Lumia 920)", Mobile, false, "Windows Phone 8 IE"),
        ("Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063", Mobile, false, "Windows 10 Mobile Edge"),
        ("Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16", Mobile, false, "Opera Mini Android"),
        ("Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54", Mobile, false, "Opera Mini J2ME"),
        ("Mozilla/5.0 (BB10; Touch) AppleWebKit/537.10+ (KHTML, like Gecko) Version/10.0.9.2372 Mobile Safari/537.10+", Mobile, false, "BlackBerry 10"),
        ("Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ (KHTML, like Gecko) Version/7.1.0.346 Mobile Safari/534.11+", Mobile, false, "BlackBerry OS 7"),
        ("Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5", Mobile, false, "KaiOS feature phone"),
        // --- in-app browsers: humans, not bots ---
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 321.0.2.19.109 (iPhone14,5; iOS 17_3_1; en_US; en; scale=3.00; 1170x2532; 579781466)", Mobile, false, "Instagram in-app iOS"),
        ("Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 Instagram 321.0.0.39.106 Android (33/13; 450dpi; 1080x2177; samsung; SM-A536B; a53x; s5e8825; en_GB; 578454542)", Mobile, false, "Instagram in-app Android"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]", Mobile, false, "Facebook in-app iOS"),
        ("Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/447.0.0.37.106;]", Mobile, false, "Facebook in-app Android"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.6943", Mobile, false, "LinkedIn in-app iOS"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.20.0", Mobile, false, "LINE in-app iOS"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.50.0.38 (like Safari/8615.3.12.10.2, panda)", Mobile, false, "Snapchat in-app iOS"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/311.0.623515398 Mobile/15E148 Safari/604.1", Mobile, false, "Google app iOS"),
        // --- tablets ---
        ("Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1", Tablet, false, "iPad Safari (pre-iPadOS)"),
        ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", Tablet, false, "iPad Chrome"),
        ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPad7,5;FBMD/iPad;FBSN/iPadOS;FBSV/16.6;FBSS/2;FBID/tablet;FBLC/en_US;FBOP/5]", Tablet, false, "Facebook in-app iPad"),
        ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Tablet, false, "Galaxy Tab S8 Chrome"),
        ("Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-T970) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/22.0 Chrome/111.0.5563.116 Safari/537.36", Tablet, false, "Galaxy Tab S7+ Samsung Internet"),
        ("Mozilla/5.0 (Linux; Android 11; Lenovo TB-J606F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Tablet, false, "Lenovo Tab Chrome"),
        ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 7 Build/MOB30X) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.110 Safari/537.36", Tablet, false, "Nexus 7"),
        ("Mozilla/5.0 (Android 13; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", Tablet, false, "Firefox Android tablet"),
        ("Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.2.1 like Chrome/124.0.6367.118 Safari/537.36", Tablet, false, "Kindle Fire Silk"),
        ("Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.68 Mobile Safari/535.19 Silk-Accelerated=true", Tablet, false, "Kindle Fire HD Silk mobile mode"),
        ("Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/531.2+ Kindle/3.0+", Tablet, false, "Kindle e-reader"),
        ("Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.1.0; en-US) AppleWebKit/536.2+ (KHTML, like Gecko) Version/7.2.1.0 Safari/536.2+", Tablet, false, "BlackBerry PlayBook"),
        // --- search crawlers ---
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Desktop, true, "Googlebot desktop (classic)"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.118 Safari/537.36", Desktop, true, "Googlebot desktop (evergreen)"),
        ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Mobile, true, "Googlebot smartphone"),
        ("Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)", Desktop, true, "Google-InspectionTool"),
        ("GoogleOther", Desktop, true, "GoogleOther"),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", Desktop, true, "bingbot"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", Desktop, true, "bingbot evergreen"),
        ("Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", Desktop, true, "Yahoo! Slurp"),
        ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", Desktop, true, "DuckDuckBot"),
        ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", Desktop, true, "Baiduspider"),
        ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", Desktop, true, "YandexBot"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", Desktop, true, "Applebot"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)", Desktop, true, "GPTBot"),
        // --- link-preview fetchers ---
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", Desktop, true, "facebookexternalhit"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", Desktop, true, "iMessage preview (Facebot)"),
        ("Twitterbot/1.0", Desktop, true, "Twitterbot"),
        ("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", Desktop, true, "LinkedInBot"),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", Desktop, true, "Slackbot-LinkExpanding"),
        ("Slack-ImgProxy (+https://api.slack.com/robots)", Desktop, true, "Slack-ImgProxy"),
        ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", Desktop, true, "Discordbot"),
        ("TelegramBot (like TwitterBot)", Desktop, true, "TelegramBot"),
        ("WhatsApp/2.23.20.0 A", Desktop, true, "WhatsApp Android preview"),
        ("WhatsApp/2.24.8.78 i", Desktop, true, "WhatsApp iOS preview"),
        ("WhatsApp", Desktop, true, "Signal link preview (sends 'WhatsApp')"),
        ("Viber", Desktop, true, "Viber preview"),
        ("Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", Desktop, true, "SkypeUriPreview"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36 Edg/112.0.1722.48 MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview", Desktop, true, "Teams MicrosoftPreview"),
        ("Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)", Desktop, true, "Pinterestbot"),
        ("Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)", Desktop, true, "redditbot"),
        ("Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)", Desktop, true, "Embedly"),
        ("Iframely/1.3.1 (+https://iframely.com/docs/about)", Desktop, true, "Iframely"),
        ("Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)", Desktop, true, "vkShare"),
        ("Mastodon/4.2.8 (http.rb/5.1.1; +https://mastodon.social/)", Desktop, true, "Mastodon"),
        ("Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)", Desktop, true, "Bluesky Cardyb"),
        ("facebookexternalhit/1.1;line-poker/1.0", Desktop, true, "LINE preview"),
        // --- tools and headless browsers ---
        ("curl/8.5.0", Desktop, true, "curl"),
        ("python-requests/2.31.0", Desktop, true, "python-requests"),
        ("Go-http-client/1.1", Desktop, true, "Go-http-client 1.1"),
        ("Go-http-client/2.0", Desktop, true, "Go-http-client 2.0"),
        ("Wget/1.21.4", Desktop, true, "Wget"),
        ("okhttp/4.12.0", Desktop, true, "okhttp"),
        ("axios/1.6.8", Desktop, true, "axios"),
        ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", Desktop, true, "node-fetch"),
        ("Java/17.0.10", Desktop, true, "Java"),
        ("Apache-HttpClient/4.5.14 (Java/17.0.10)", Desktop, true, "Apache-HttpClient"),
        ("Scrapy/2.11.1 (+https://scrapy.org)", Desktop, true, "Scrapy"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36", Desktop, true, "HeadlessChrome"),
        ("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", Desktop, true, "PhantomJS"),
        ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", Mobile, true, "Lighthouse mobile"),
        // --- missing UA ---
        ("", Desktop, true, "empty UA"),
        ("   ", Desktop, true, "blank UA"),
    ];

    #[test]
    fn user_agent_table() {
        assert!(UAS.len() >= 45, "table has only {} rows", UAS.len());
        let mut failures = Vec::new();
        for &(ua, device, bot, label) in UAS {
            let got_device = classify_device(ua);
            let got_bot = is_bot_user_agent(ua);
            if got_device != device || got_bot != bot {
                failures.push(format!(
                    "{label}: device {got_device:?} (want {device:?}), bot {got_bot} (want {bot})"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "UA mismatches:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn long_user_agents_take_the_fallback_path_with_same_results() {
        // UAs longer than the stack buffer are scanned without lower-casing;
        // both paths must agree on every table row.
        let padding = ".".repeat(LOWER_BUF);
        for &(ua, device, bot, label) in UAS {
            if ua.trim().is_empty() {
                continue;
            }
            let long = format!("{ua} {padding}");
            assert!(long.len() > LOWER_BUF);
            assert_eq!(classify_device(&long), device, "{label} (long)");
            assert_eq!(is_bot_user_agent(&long), bot, "{label} (long)");
        }
        let exact = "a".repeat(LOWER_BUF);
        assert_eq!(classify_device(&exact), Desktop);
        assert!(!is_bot_user_agent(&exact));
    }

    #[test]
    fn contains_ci_basics() {
        assert!(contains_ci("Mozilla GoogleBot", "googlebot"));
        assert!(contains_ci("abc", "abc"));
        assert!(!contains_ci("ab", "abc"));
        assert!(!contains_ci("", "a"));
        assert!(contains_ci("ÄÖÜ iPad ß", "ipad"));
        assert!(starts_with_ci("WHATSAPP/2", "whatsapp"));
        assert!(!starts_with_ci("Mozilla/5.0 WhatsApp", "whatsapp"));
        assert!(!starts_with_ci("é", "whatsapp"));
    }

    #[test]
    fn whatsapp_mention_inside_browser_ua_is_not_a_bot() {
        // Anchored prefix: a browser UA that merely mentions WhatsApp is a human.
        let ua = "Mozilla/5.0 (Linux; Android 13; SM-A536B; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.0.0 Mobile Safari/537.36 WhatsApp";
        assert!(!is_bot_user_agent(ua));
    }

    #[test]
    fn device_string_forms() {
        for d in [Mobile, Desktop, Tablet] {
            assert_eq!(Device::parse(d.as_str()), Some(d));
            assert_eq!(d.lower(), d.as_str().to_ascii_lowercase());
        }
        assert_eq!(Device::parse("mobile"), None);
        assert_eq!(Device::parse("Tablet"), None);
        assert_eq!(Device::parse(""), None);
        assert_eq!(Device::parse(" DESKTOP"), None);
    }

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    fn signals(
        ua: &str,
        is_head: bool,
        verified_bot: bool,
        bot_score: Option<u32>,
    ) -> BotSignals<'_> {
        BotSignals {
            user_agent: ua,
            is_head,
            verified_bot,
            bot_score,
        }
    }

    #[test]
    fn classify_bot_order_and_reasons() {
        use BotReason::*;
        // Plain browser, nothing suspicious.
        assert_eq!(classify_bot(&signals(CHROME, false, false, Some(80))), None);
        assert_eq!(classify_bot(&signals(CHROME, false, false, None)), None);
        // HEAD with a browser UA.
        assert_eq!(
            classify_bot(&signals(CHROME, true, false, None)),
            Some(HeadRequest)
        );
        // Verified bot with a browser UA.
        assert_eq!(
            classify_bot(&signals(CHROME, false, true, Some(90))),
            Some(VerifiedBot)
        );
        // Score threshold.
        assert_eq!(
            classify_bot(&signals(CHROME, false, false, Some(29))),
            Some(BotScore)
        );
        assert_eq!(
            classify_bot(&signals(CHROME, false, false, Some(1))),
            Some(BotScore)
        );
        assert_eq!(classify_bot(&signals(CHROME, false, false, Some(30))), None);
        // 0 = "not computed" by Cloudflare, not "certainly a bot".
        assert_eq!(classify_bot(&signals(CHROME, false, false, Some(0))), None);
        // Order: user agent beats everything, then HEAD, then verified, then score.
        assert_eq!(
            classify_bot(&signals("curl/8.5.0", true, true, Some(1))),
            Some(UserAgent)
        );
        assert_eq!(
            classify_bot(&signals("", false, false, None)),
            Some(UserAgent)
        );
        assert_eq!(
            classify_bot(&signals(CHROME, true, true, Some(1))),
            Some(HeadRequest)
        );
        assert_eq!(
            classify_bot(&signals(CHROME, false, true, Some(1))),
            Some(VerifiedBot)
        );
    }

    #[test]
    fn bot_reason_strings() {
        assert_eq!(BotReason::UserAgent.as_str(), "user_agent");
        assert_eq!(BotReason::HeadRequest.as_str(), "head_request");
        assert_eq!(BotReason::VerifiedBot.as_str(), "verified_bot");
        assert_eq!(BotReason::BotScore.as_str(), "bot_score");
    }

    #[test]
    fn source_from_utm() {
        // utm wins over referrer
        assert_eq!(
            classify_source(Some("newsletter"), Some("google.com")),
            "newsletter"
        );
        assert_eq!(classify_source(Some("  Email "), None), "email");
        assert_eq!(classify_source(Some("News Letter!"), None), "news_letter_");
        assert_eq!(
            classify_source(Some("Partner.Site-2024_q1"), None),
            "partner.site-2024_q1"
        );
        assert_eq!(classify_source(Some("café"), None), "caf_");
        let long = "A".repeat(200);
        assert_eq!(classify_source(Some(&long), None), "a".repeat(64));
        // multibyte characters count as one character each
        let long_multi = format!("x{}", "é".repeat(100));
        let out = classify_source(Some(&long_multi), None);
        assert_eq!(out.len(), 64);
        assert_eq!(out, format!("x{}", "_".repeat(63)));
        // nothing useful left: fall back to the referrer
        assert_eq!(classify_source(Some(""), Some("l.facebook.com")), "social");
        assert_eq!(classify_source(Some("   "), None), "direct");
        assert_eq!(
            classify_source(Some("!!!"), Some("example.org")),
            "referral"
        );
        assert_eq!(classify_source(Some("日本"), None), "direct");
    }

    #[test]
    fn source_from_referrer() {
        assert_eq!(classify_source(None, Some("mail.google.com")), "email");
        assert_eq!(classify_source(None, Some("google.co.uk")), "search");
        assert_eq!(classify_source(None, Some("www.google.co.uk")), "search");
        assert_eq!(classify_source(None, Some("l.facebook.com")), "social");
        assert_eq!(classify_source(None, Some("example.org")), "referral");
        assert_eq!(classify_source(None, Some("")), "direct");
        assert_eq!(classify_source(None, None), "direct");
        // end to end with referrer_host
        let host = referrer_host("https://www.Google.com/search?q=x");
        assert_eq!(classify_source(None, host.as_deref()), "search");
        let host = referrer_host("https://outlook.live.com/mail/0/inbox");
        assert_eq!(classify_source(None, host.as_deref()), "email");
        let host = referrer_host("not a url");
        assert_eq!(classify_source(None, host.as_deref()), "direct");
    }

    #[test]
    fn host_classes() {
        use HostClass::*;
        let cases: &[(&str, HostClass)] = &[
            ("facebook.com", Social),
            ("m.facebook.com", Social),
            ("l.facebook.com", Social),
            ("lm.facebook.com", Social),
            ("fb.com", Social),
            ("instagram.com", Social),
            ("l.instagram.com", Social),
            ("t.co", Social),
            ("twitter.com", Social),
            ("x.com", Social),
            ("linkedin.com", Social),
            ("lnkd.in", Social),
            ("old.reddit.com", Social),
            ("pinterest.com", Social),
            ("pinterest.co.uk", Social),
            ("pinterest.de", Social),
            ("tiktok.com", Social),
            ("m.youtube.com", Social),
            ("youtu.be", Social),
            ("threads.net", Social),
            ("bsky.app", Social),
            ("mastodon.social", Social),
            ("snapchat.com", Social),
            ("tumblr.com", Social),
            ("vk.com", Social),
            ("weibo.com", Social),
            ("discord.com", Social),
            ("telegram.org", Social),
            ("t.me", Social),
            ("web.whatsapp.com", Social),
            ("quora.com", Social),
            ("google.com", Search),
            ("google.de", Search),
            ("google.co.uk", Search),
            ("google.com.br", Search),
            ("news.google.com", Search),
            ("bing.com", Search),
            ("duckduckgo.com", Search),
            ("search.yahoo.com", Search),
            ("uk.search.yahoo.com", Search),
            ("yahoo.com", Search),
            ("yandex.ru", Search),
            ("yandex.com.tr", Search),
            ("baidu.com", Search),
            ("ecosia.org", Search),
            ("search.brave.com", Search),
            ("startpage.com", Search),
            ("qwant.com", Search),
            ("naver.com", Search),
            ("ask.com", Search),
            ("mail.google.com", Email),
            ("outlook.live.com", Email),
            ("outlook.office.com", Email),
            ("outlook.office365.com", Email),
            ("nam12.safelinks.protection.outlook.com", Email),
            ("mail.yahoo.com", Email),
            ("mail.aol.com", Email),
            ("mail.proton.me", Email),
            ("mail.protonmail.com", Email),
            ("app.fastmail.com", Email),
            ("mail.zoho.com", Email),
            ("icloud.com", Email),
            ("gmx.net", Email),
            ("gmx.de", Email),
            ("web.de", Email),
            ("mail.yandex.ru", Email),
            ("example.org", Other),
            ("mygoogle.com", Other),
            ("google.example.com", Other),
            ("google.blogspot.com", Other),
            ("notfacebook.com", Other),
            ("box.com", Other),
            ("gmail.com", Other),
            ("", Other),
            ("localhost", Other),
            // tolerated input forms
            ("WWW.Google.COM", Search),
            ("www.facebook.com.", Social),
        ];
        for &(host, want) in cases {
            assert_eq!(classify_host(host), want, "host {host:?}");
        }
    }

    #[test]
    fn referrer_host_parsing() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://www.Google.com/search?q=x", Some("google.com")),
            ("https://WWW.Example.COM:8443/x", Some("example.com")),
            ("http://example.com", Some("example.com")),
            ("http://example.com?x=1", Some("example.com")),
            ("http://example.com#frag", Some("example.com")),
            (
                "https://user:pass@Sub.Example.com/",
                Some("sub.example.com"),
            ),
            ("https://example.com./", Some("example.com")),
            ("https://www.com/", Some("www.com")),
            (
                "  https://l.facebook.com/l.php?u=x  ",
                Some("l.facebook.com"),
            ),
            ("https://[2001:DB8::1]:443/", Some("[2001:db8::1]")),
            ("HTTPS://Mail.Google.com/mail/u/0/", Some("mail.google.com")),
            // Android app referrers
            (
                "android-app://com.google.android.gm/",
                Some("mail.google.com"),
            ),
            (
                "android-app://com.google.android.googlequicksearchbox",
                Some("google.com"),
            ),
            ("android-app://com.linkedin.android/", Some("linkedin.com")),
            ("android-app://com.example.unknown/", None),
            // garbage
            ("", None),
            ("   ", None),
            ("not a url", None),
            ("example.com", None),
            ("//example.com/x", None),
            ("ftp://example.com/", None),
            ("javascript://alert(1)", None),
            ("https://", None),
            ("https:///path", None),
            ("https://exa mple.com/", None),
            ("https://example.com:abc/", None),
            ("https://.example.com/", None),
            ("https://a..b/", None),
            ("https://bücher.de/", None),
            ("https://[zz::1]/", None),
            ("https://[::1/", None),
        ];
        for &(input, want) in cases {
            assert_eq!(referrer_host(input).as_deref(), want, "referer {input:?}");
        }
    }

    #[test]
    fn segment_format() {
        assert_eq!(segment(Mobile, "email"), "mobile:email");
        assert_eq!(segment(Desktop, "direct"), "desktop:direct");
        assert_eq!(segment(Tablet, "Social"), "tablet:social");
        let source = classify_source(Some("News Letter!"), None);
        assert_eq!(segment(Mobile, &source), "mobile:news_letter_");
    }

    fn is_valid_source(s: &str) -> bool {
        (1..=MAX_SOURCE_LEN).contains(&s.len())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    }

    proptest! {
        #[test]
        fn never_panics_and_source_is_well_formed(
            ua in ".*",
            utm in proptest::option::of(".*"),
            referer in ".*",
        ) {
            let _ = classify_device(&ua);
            let _ = is_bot_user_agent(&ua);
            let host = referrer_host(&referer);
            if let Some(h) = &host {
                prop_assert!(!h.is_empty());
                prop_assert_eq!(h.to_ascii_lowercase(), h.clone());
            }
            let source = classify_source(utm.as_deref(), host.as_deref());
            prop_assert!(is_valid_source(&source), "bad source {:?}", source);
            // arbitrary strings passed straight in as the host must not break it either
            let source = classify_source(utm.as_deref(), Some(&referer));
            prop_assert!(is_valid_source(&source), "bad source {:?}", source);
        }

        #[test]
        fn url_like_referers_never_panic(
            scheme in "(https?|android-app|ftp|HTTP)",
            host in "[a-zA-Z0-9.\\-:@\\[\\]_]{0,40}",
            tail in "[/?#]?.{0,20}",
        ) {
            let referer = format!("{scheme}://{host}{tail}");
            if let Some(h) = referrer_host(&referer) {
                let _ = classify_host(&h);
                prop_assert!(!h.starts_with("www.") || !h[4..].contains('.'));
            }
        }
    }
}
