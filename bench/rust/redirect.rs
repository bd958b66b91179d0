//! Native micro-benchmarks of the redirect's pure work (`make bench`, see bench/README.md).
//!
//! They time the decision the Worker makes per click, without the Workers
//! runtime: `core::redirect::decide` (User-Agent/referer/query parsing →
//! classification → three personalization rules → final URL with the
//! forwarded query and the context parameter), its parts, and the rule
//! parsing a cold isolate cache pays once per `CACHE_TTL_MS`.
//!
//! The visitor and the rules are the same as in the HTTP benchmark
//! (bench/lib/app.mjs): a desktop Chrome visitor with `?utm_source=email`
//! fails the first two rules and matches the third.

use criterion::{criterion_group, criterion_main, Criterion};
use edge_funnel::core::classify::{classify_device, is_bot_user_agent};
use edge_funnel::core::dest::final_url;
use edge_funnel::core::ids::RuleId;
use edge_funnel::core::json::parse_object;
use edge_funnel::core::link::TrackingPolicy;
use edge_funnel::core::redirect::{decide, Incoming, LinkView};
use edge_funnel::core::rules::Rule;
use std::hint::black_box;
use std::time::Duration;

const CHROME_DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
const FACEBOOK: &str = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";

const CAMPAIGN: &str = "spring";
const CLICK_ID: &str = "clk_6lu4b7nq45w3sm45avwwaqur";

/// The three rules of the HTTP benchmark, as stored (JSON bodies), in evaluation order.
const RULES: [(&str, &str); 3] = [
    (
        "mobile-variant",
        r#"{"enabled":true,"priority":300,"when":{"campaignIn":["spring"],"deviceIn":["MOBILE"]},"variant":{"id":"mobile","destinationUrl":"https://m.shop.example.com/spring"}}"#,
    ),
    (
        "asia-variant",
        r#"{"enabled":true,"priority":200,"when":{"countryIn":["JP","KR","SG"],"deviceIn":["DESKTOP","TABLET"]},"variant":{"id":"asia","destinationUrl":"https://asia.shop.example.com/spring"}}"#,
    ),
    (
        "desktop-email",
        r#"{"enabled":true,"priority":100,"when":{"campaignIn":["spring"],"deviceIn":["DESKTOP"],"sourceIn":["email"]},"variant":{"id":"desktop-email","destinationUrl":"https://shop.example.com/desktop"}}"#,
    ),
];

fn parse_rules() -> Vec<Rule> {
    RULES
        .iter()
        .map(|(id, body)| {
            Rule::parse(
                RuleId::parse(id).unwrap(),
                &parse_object(body.as_bytes()).unwrap(),
                &["sho.rt"],
            )
            .unwrap()
        })
        .collect()
}

fn bench_decide(c: &mut Criterion) {
    let rules = parse_rules();
    let policy = TrackingPolicy {
        append_context_param: true,
        ..TrackingPolicy::default()
    };
    let link = LinkView {
        slug: "spring",
        destination_url: "https://shop.example.com/spring",
        campaign_id: Some(CAMPAIGN),
        policy: &policy,
        experiment: None,
    };
    let desktop = Incoming {
        user_agent: CHROME_DESKTOP,
        referer: None,
        query: Some("utm_source=email"),
        country: Some("US"),
        ..Default::default()
    };
    // Sanity: the desktop visitor really falls through to the third rule.
    let d = decide(&link, &rules, &desktop, Some(CLICK_ID));
    assert_eq!(d.facts.rule_id.as_deref(), Some("desktop-email"));
    assert_eq!(
        d.location,
        format!("https://shop.example.com/desktop?utm_source=email&ctx={CLICK_ID}")
    );
    let mobile = Incoming {
        user_agent: IPHONE,
        referer: Some("https://l.facebook.com/l.php?u=x"),
        query: None,
        country: Some("GB"),
        ..Default::default()
    };

    let mut g = c.benchmark_group("decide");
    g.bench_function("desktop_chrome_3_rules_third_matches", |b| {
        b.iter(|| {
            decide(
                black_box(&link),
                black_box(&rules),
                black_box(&desktop),
                black_box(Some(CLICK_ID)),
            )
        })
    });
    g.bench_function("iphone_facebook_referer_first_rule_matches", |b| {
        b.iter(|| {
            decide(
                black_box(&link),
                black_box(&rules),
                black_box(&mobile),
                black_box(Some(CLICK_ID)),
            )
        })
    });
    g.bench_function("desktop_chrome_no_rules", |b| {
        b.iter(|| {
            decide(
                black_box(&link),
                black_box(&[]),
                black_box(&desktop),
                black_box(Some(CLICK_ID)),
            )
        })
    });
    g.finish();
}

fn bench_classify(c: &mut Criterion) {
    let mut g = c.benchmark_group("classify");
    for (name, ua) in [
        ("chrome_desktop", CHROME_DESKTOP),
        ("iphone_safari", IPHONE),
        ("android_chrome", ANDROID),
        ("facebook_preview", FACEBOOK),
    ] {
        g.bench_function(format!("device_and_bot/{name}"), |b| {
            b.iter(|| {
                (
                    classify_device(black_box(ua)),
                    is_bot_user_agent(black_box(ua)),
                )
            })
        });
    }
    g.finish();
}

fn bench_dest(c: &mut Criterion) {
    let mut g = c.benchmark_group("dest");
    g.bench_function("final_url/forward_query_and_ctx", |b| {
        b.iter(|| {
            final_url(
                black_box("https://shop.example.com/desktop?ref=campaign#top"),
                black_box(Some("utm_source=email&utm_medium=newsletter&ref=spoofed")),
                black_box(true),
                black_box(Some(("ctx", CLICK_ID))),
            )
        })
    });
    g.finish();
}

fn bench_rules_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("rules");
    g.bench_function("parse_3_from_json (isolate cache miss)", |b| {
        b.iter(parse_rules)
    });
    g.finish();
}

fn config() -> Criterion {
    // Short runs: these are nanosecond-scale functions, and `make bench` has a
    // lot more to do afterwards.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_decide, bench_classify, bench_dest, bench_rules_parse
}
criterion_main!(benches);
