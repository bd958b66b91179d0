//! Property-based fuzzing of every parser in the core (stable Rust: proptest;
//! `cargo fuzz` needs nightly, which this toolchain cannot fetch).
//! `make test` runs each property with the default number of cases;
//! `make fuzz` runs them for minutes (`FUZZ_CASES`, see the Makefile).
//! Every input here is hostile: the properties say "never panics" and
//! "whatever is accepted is safe".

use edge_funnel::core::auth::{sign_jwt, verify_jwt, JwtConfig};
use edge_funnel::core::campaign::{CampaignPatch, NewCampaign};
use edge_funnel::core::classify::{
    classify_device, classify_source, is_bot_user_agent, referrer_host,
};
use edge_funnel::core::conversion::NewConversion;
use edge_funnel::core::dest::{final_url, DestinationUrl};
use edge_funnel::core::host::{self as branded, Host as BrandedHost};
use edge_funnel::core::ids::{CampaignId, Handle, RuleId, Slug};
use edge_funnel::core::json::parse_object;
use edge_funnel::core::link::NewLink;
use edge_funnel::core::qr::{scan_url, svg, QrOptions};
use edge_funnel::core::route::{resolve, resolve_branded, Method};
use edge_funnel::core::rules::{expanded_size, Pattern, Rule, Simulated};
use edge_funnel::core::structure::Structure;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::net::IpAddr;
use url::{Host, Url};

fn config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(512);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces that confuse URL parsers, combined at random.
fn confusing_url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "http:",
        "https:",
        "HTTP:",
        "hTTps:",
        "javascript:",
        "data:",
        "ftp:",
        "",
        "//",
        "http:/",
        "https:\\\\",
    ]);
    let slashes = prop::sample::select(vec!["//", "/", "", "\\\\", "/\\", "///"]);
    let user = prop::sample::select(vec![
        "",
        "user@",
        "user:pw@",
        "a%40b@",
        "@",
        "evil.com@",
        "x\\@",
    ]);
    let host = prop::sample::select(vec![
        "example.com",
        "127.0.0.1",
        "127.1",
        "0x7f.1",
        "2130706433",
        "017700000001",
        "127.0.0.%31",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "localhost",
        "LOCALHOST.",
        "10.0.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "0",
        "[fe80::1]",
        "[fc00::1]",
        "xn--bcher-kva.example",
        "bücher.example",
        "１２７.０.０.１",
        "127。0。0。1",
        "exa mple.com",
        "example.com%2F@evil.com",
        "sho.rt",
        "SHO.RT.",
        "100.64.0.1",
        "8.8.8.8",
        "[2606:4700::1111]",
        "a.localhost",
    ]);
    let port = prop::sample::select(vec!["", ":80", ":8080", ":0", ":99999", ":"]);
    let path = prop::sample::select(vec![
        "",
        "/",
        "/a/../b",
        "/%2F%2F",
        "/\\evil",
        "?a=1",
        "#frag",
        "/p?x=%00",
        "/\u{202e}",
    ]);
    (scheme, slashes, user, host, port, path)
        .prop_map(|(a, b, c, d, e, f)| format!("{a}{b}{c}{d}{e}{f}"))
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Whatever `DestinationUrl` accepts, a browser reads as a safe public http(s) URL.
fn assert_safe(accepted: &str) {
    let u = Url::parse(accepted).expect("accepted URLs re-parse");
    assert!(matches!(u.scheme(), "http" | "https"), "{accepted}");
    assert!(
        u.username().is_empty() && u.password().is_none(),
        "{accepted}"
    );
    match u.host() {
        Some(Host::Ipv4(ip)) => assert!(!is_private(IpAddr::V4(ip)), "{accepted}"),
        Some(Host::Ipv6(ip)) => assert!(!is_private(IpAddr::V6(ip)), "{accepted}"),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            assert!(
                d != "localhost" && !d.ends_with(".localhost") && !d.eq_ignore_ascii_case("sho.rt"),
                "{accepted}"
            );
        }
        None => panic!("no host: {accepted}"),
    }
    assert!(accepted.len() <= 2048);
    // Stored form is stable: parsing it again gives the same string.
    assert_eq!(
        DestinationUrl::parse(accepted, "f", &["sho.rt"])
            .map(|d| d.as_str().to_string())
            .as_deref(),
        Ok(accepted)
    );
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "MOBILE",
            "GB",
            "email",
            "spring-launch",
            "https://e.example/",
            "PRODUCT_SALE",
            "ACTIVE",
            "clk_aaaaaaaaaaaaaaaaaaaaaaaa"
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "campaignId",
                    "goalType",
                    "status",
                    "name",
                    "currency",
                    "primarySlug",
                    "destinationUrl",
                    "trackingPolicy",
                    "mode",
                    "appendContextParam",
                    "contextParamName",
                    "forwardQuery",
                    "when",
                    "variant",
                    "id",
                    "priority",
                    "enabled",
                    "campaignIn",
                    "deviceIn",
                    "countryIn",
                    "sourceIn",
                    "slugIn",
                    "languageIn",
                    "queryHas",
                    "activeFrom",
                    "activeUntil",
                    "daysOfWeek",
                    "hoursUtc",
                    "referrerMatches",
                    "userAgentMatches",
                    "clickId",
                    "eventType",
                    "value",
                    "orderId",
                    "occurredAt",
                    "metadata",
                    "page",
                    "schema",
                    "slug",
                    "title",
                    "x",
                ])
                .prop_map(str::to_string),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_destination_confusing(raw in confusing_url()) {
        if let Ok(d) = DestinationUrl::parse(&raw, "destinationUrl", &["sho.rt"]) {
            assert_safe(d.as_str());
        }
    }

    #[test]
    fn fuzz_destination_arbitrary(raw in "\\PC{0,80}") {
        if let Ok(d) = DestinationUrl::parse(&raw, "destinationUrl", &["sho.rt"]) {
            assert_safe(d.as_str());
        }
    }

    #[test]
    fn fuzz_final_url(query in "[ -~]{0,120}", fwd in any::<bool>(), ctx in any::<bool>()) {
        let dest = "https://shop.example.com/spring?a=1#frag";
        let out = final_url(dest, Some(&query), fwd, ctx.then_some(("ctx", "clk_aaaaaaaaaaaaaaaaaaaaaaaa")));
        prop_assert!(out.starts_with("https://shop.example.com/spring?a=1"));
        prop_assert!(out.ends_with("#frag"));
        prop_assert_eq!(out.matches('#').count(), 1, "{}", out);
        prop_assert!(out.bytes().all(|b| b.is_ascii_graphic()), "{}", out);
        let parsed = Url::parse(&out).expect("final URL parses");
        let ctx_values: Vec<String> = parsed.query_pairs().filter(|(k, _)| k == "ctx").map(|(_, v)| v.into_owned()).collect();
        if ctx {
            prop_assert_eq!(ctx_values, vec!["clk_aaaaaaaaaaaaaaaaaaaaaaaa".to_string()], "{}", out);
        }
        let a_values: Vec<String> = parsed.query_pairs().filter(|(k, _)| k == "a").map(|(_, v)| v.into_owned()).collect();
        prop_assert_eq!(a_values, vec!["1".to_string()], "the destination's param wins: {}", out);
    }

    #[test]
    fn fuzz_ids(s in "\\PC{0,70}") {
        let _ = (Handle::parse(&s), Slug::parse(&s), CampaignId::parse(&s), RuleId::parse(&s));
    }

    #[test]
    fn fuzz_jwt_garbage_never_verifies(t in "[A-Za-z0-9_.=-]{0,200}") {
        let cfg = JwtConfig { secret: b"k".to_vec(), issuer: None, audience: None };
        prop_assert!(verify_jwt(&t, &cfg, 1_800_000_000).is_err());
    }

    #[test]
    fn fuzz_jwt_any_tamper_is_rejected(pos in 0usize..400, byte in any::<u8>()) {
        let cfg = JwtConfig { secret: b"secret".to_vec(), issuer: None, audience: None };
        let tok = sign_jwt(&json!({"sub": "u", "exp": 1_900_000_000i64, "handles": {"demo": "OWNER"}}), b"secret");
        let mut bytes = tok.clone().into_bytes();
        let i = pos % bytes.len();
        // Always a real change (no assume: long runs would exhaust the reject budget).
        bytes[i] = if bytes[i] == byte { byte ^ 0x01 } else { byte };
        if let Ok(t) = String::from_utf8(bytes) {
            // base64url has a few aliasing bits at the end of each part; a change
            // that still decodes to the same bytes is the same token.
            if verify_jwt(&t, &cfg, 1_800_000_000).is_ok() {
                let same = t.split('.').zip(tok.split('.')).all(|(a, b)| {
                    use base64::Engine;
                    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                    e.decode(a).ok() == e.decode(b).ok()
                });
                prop_assert!(same, "tampered token verified: {}", t);
            }
        }
    }

    #[test]
    fn fuzz_json_bodies(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_object(&bytes);
    }

    #[test]
    fn fuzz_resource_parsers(v in arb_json()) {
        if let Value::Object(m) = &v {
            let _ = NewCampaign::parse(m);
            let _ = CampaignPatch::parse(m);
            if let Ok(l) = NewLink::parse(m, &["sho.rt"]) {
                assert_safe(l.destination_url.as_str());
            }
            let _ = NewConversion::parse(m);
            let _ = NewConversion::parse_test(m);
            let _ = Structure::parse(m);
            if let Ok(rule) = Rule::parse(RuleId::parse("r-1").unwrap(), m, &["sho.rt"]) {
                assert_safe(rule.variant.destination_url.as_str());
                // accepted rules round-trip through their stored form
                let stored = Rule::from_stored("r-1", rule.enabled, rule.priority, &rule.when.to_json().to_string(),
                    &rule.variant.id, rule.variant.destination_url.as_str().to_string());
                prop_assert_eq!(stored, Some(rule));
            }
        }
    }

    #[test]
    fn fuzz_rule_patterns_and_simulated_visitors(
        pattern in "[-a-z()|*+?{},0-9\\\\.^$\\[\\]]{0,40}",
        input in "[a-z0-9 ./:é]{0,700}",
        v in arb_json(),
    ) {
        // Any pattern is compiled or refused, never a panic; a compiled one matches or not.
        if let Ok(p) = Pattern::compile(&pattern) {
            let _ = p.is_match(&input);
        }
        if let Value::Object(m) = &v {
            if let Ok(s) = Simulated::parse(m, 0) {
                let _ = s.visitor(None);
            }
        }
    }

    /// The written-out size read from the text bounds what the engine builds:
    /// any pattern we accept also compiles under a size limit proportional to
    /// it (~256 bytes of program per counted unit, far more than a state and
    /// its ranges take), whatever verbose mode, escapes and classes hide.
    #[test]
    fn fuzz_pattern_size_bound_is_sound(
        pattern in "([-ab.()|*+?{},0-9\\\\^$\\[\\]#: \n]|\\(\\?x\\)|\\(\\?-x\\)|\\(\\?x:|\\(\\?P<n|>|\\[:alpha:\\]|\\\\x\\{7B\\}|\\{[0-9]{1,2}(,[0-9]{0,2})?\\}|é){0,40}",
        input in "[ab é]{0,700}",
    ) {
        let Ok(p) = Pattern::compile(&pattern) else { return Ok(()) };
        let size = usize::try_from(expanded_size(&pattern)).unwrap_or(usize::MAX);
        let tight = regex_lite::RegexBuilder::new(&pattern)
            .size_limit(4096 + 256 * size)
            .build();
        prop_assert!(tight.is_ok(), "{:?}: size {} but {:?}", pattern, size, tight.err());
        // The cut at MAX_INPUT bytes never splits a character (no panic).
        let _ = p.is_match(&input);
    }

    #[test]
    fn fuzz_classification(ua in "\\PC{0,300}", referer in "\\PC{0,100}", utm in proptest::option::of("\\PC{0,100}")) {
        let _ = (classify_device(&ua), is_bot_user_agent(&ua));
        let host = referrer_host(&referer);
        let source = classify_source(utm.as_deref(), host.as_deref());
        prop_assert!(!source.is_empty() && source.len() <= 64);
    }

    #[test]
    fn fuzz_routes(path in "(/[a-zA-Z0-9%._~:@!$&'()*+,;=-]{0,12}){0,8}", m in 0usize..8) {
        let methods = [Method::Get, Method::Head, Method::Post, Method::Put, Method::Patch, Method::Delete, Method::Options, Method::Other];
        let _ = resolve(methods[m], &path);
    }

    #[test]
    fn fuzz_branded_hosts(raw in "([a-zA-Z0-9-]{1,12}\\.){1,4}[a-zA-Z0-9-]{1,12}|[a-zA-Z0-9.:\\[\\]_%-]{0,70}|\\PC{0,40}") {
        if let Ok(h) = BrandedHost::parse(&raw, &["go.example"]) {
            let s = h.as_str();
            prop_assert!(branded::well_formed(s), "{}", s);
            prop_assert_eq!(s, s.to_ascii_lowercase());
            prop_assert_ne!(s, "go.example");
            // a DNS name to a URL parser too, never an IP address
            prop_assert!(matches!(Host::parse(s), Ok(Host::Domain(_))), "{}", s);
            prop_assert_eq!(BrandedHost::parse(s, &[]), Ok(h.clone()));
        }
        let url = format!("https://{raw}/demo/x?q");
        let _ = branded::of_url(&url);
    }

    #[test]
    fn fuzz_branded_routes(path in "(/[a-zA-Z0-9%._~:@!$&'()*+,;=-]{0,12}){0,4}", m in 0usize..8) {
        let methods = [Method::Get, Method::Head, Method::Post, Method::Put, Method::Patch, Method::Delete, Method::Options, Method::Other];
        let _ = resolve_branded(methods[m], &path, &Handle::parse("demo").unwrap());
    }

    #[test]
    fn fuzz_qr(size in proptest::option::of("[-+0-9a-z.]{0,6}"), margin in proptest::option::of("[-+0-9.]{0,4}"), url in "\\PC{0,300}") {
        if let Ok(o) = QrOptions::parse(size.as_deref(), margin.as_deref()) {
            prop_assert!((64..=2048).contains(&o.size) && o.margin <= 16);
            let doc = svg(&scan_url(&url), o);
            prop_assert!(doc.is_ok());
            let doc = doc.unwrap_or_default();
            prop_assert_eq!(doc.matches("<path").count(), 1);
            // the URL is escaped into the title: no markup of its own
            prop_assert_eq!(doc.matches('<').count(), 6, "{}", doc);
        }
    }
}
