//! Unit tests of rule parsing and evaluation.

use super::*;
use crate::core::classify::Device;
use crate::core::json::parse_object;
use proptest::prelude::*;

fn rule(id: &str, priority: i64, when: &str) -> Rule {
    let body = format!(
        r#"{{"priority":{priority},"when":{when},"variant":{{"id":"v-{id}","destinationUrl":"https://{id}.example.com/"}}}}"#
    );
    Rule::parse(
        RuleId::parse(id).unwrap(),
        &parse_object(body.as_bytes()).unwrap(),
        &[],
    )
    .unwrap()
}

fn visitor<'a>(
    campaign: Option<&'a str>,
    device: Device,
    country: &'a str,
    source: &'a str,
) -> Visitor<'a> {
    Visitor {
        slug: "spring-promo",
        campaign_id: campaign,
        device,
        country,
        source,
        language: None,
        query: None,
        referrer: None,
        user_agent: "",
        at_ms: 0,
    }
}

#[test]
fn guide_example_rule() {
    let body = br#"{"ruleId":"spring-mobile-variant","enabled":true,"priority":100,"when":{"campaignIn":["spring-launch"],"deviceIn":["MOBILE"]},"variant":{"id":"mobile-optimized","destinationUrl":"https://m.shop.example.com/spring"}}"#;
    let r = Rule::parse(
        RuleId::parse("spring-mobile-variant").unwrap(),
        &parse_object(body).unwrap(),
        &[],
    )
    .unwrap();
    let rules = vec![r];
    let cases = [
        (
            visitor(Some("spring-launch"), Device::Mobile, "US", "direct"),
            true,
            "mobile in campaign",
        ),
        (
            visitor(Some("spring-launch"), Device::Desktop, "US", "direct"),
            false,
            "desktop",
        ),
        (
            visitor(Some("other"), Device::Mobile, "US", "direct"),
            false,
            "other campaign",
        ),
        (
            visitor(None, Device::Mobile, "US", "direct"),
            false,
            "no campaign",
        ),
    ];
    for (v, fires, why) in cases {
        assert_eq!(evaluate(&rules, &v).is_some(), fires, "{why}");
    }
    assert_eq!(rules[0].to_json()["when"]["deviceIn"], json!(["MOBILE"]));
}

#[test]
fn order_ties_disabled_and_empty_when() {
    let mut rules = vec![
        rule("b-rule", 10, "{}"),
        rule("a-rule", 10, "{}"),
        rule("top", 50, r#"{"countryIn":["GB"]}"#),
    ];
    sort_rules(&mut rules);
    let v = visitor(None, Device::Desktop, "US", "email");
    assert_eq!(
        evaluate(&rules, &v).unwrap().rule_id.as_str(),
        "a-rule",
        "tie by ruleId"
    );
    let gb = visitor(None, Device::Desktop, "GB", "email");
    assert_eq!(
        evaluate(&rules, &gb).unwrap().rule_id.as_str(),
        "top",
        "priority first"
    );
    for r in rules.iter_mut() {
        if r.rule_id.as_str() == "a-rule" {
            r.enabled = false;
        }
    }
    assert_eq!(
        evaluate(&rules, &v).unwrap().rule_id.as_str(),
        "b-rule",
        "disabled skipped"
    );
    let ex = explain(&rules, &v);
    let outcomes: Vec<_> = ex
        .iter()
        .map(|(r, o)| (r.rule_id.as_str(), o.clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("top", Outcome::Failed(Condition::CountryIn)),
            ("a-rule", Outcome::Disabled),
            ("b-rule", Outcome::Fired),
        ]
    );
}

#[test]
fn source_and_slug_conditions() {
    let rules = vec![rule(
        "email-rule",
        1,
        r#"{"sourceIn":["email"],"slugIn":["spring-promo"]}"#,
    )];
    assert!(evaluate(&rules, &visitor(None, Device::Mobile, "US", "email")).is_some());
    assert!(evaluate(&rules, &visitor(None, Device::Mobile, "US", "social")).is_none());
}

#[test]
fn bad_rule_bodies() {
    let cases = [
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"priority":1.5}"#,
            "priority float",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"priority":"1"}"#,
            "priority string",
        ),
        (r#"{"priority":1}"#, "no variant"),
        (
            r#"{"variant":{"id":"v","destinationUrl":"javascript:x"}}"#,
            "bad url",
        ),
        (
            r#"{"variant":{"destinationUrl":"https://e.com"}}"#,
            "no variant id",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"when":{"deviceIn":["PHONE"]}}"#,
            "device",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"when":{"countryIn":["usa"]}}"#,
            "country",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"when":{"weekdayIn":["MON"]}}"#,
            "unknown condition",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"when":{"campaignIn":[]}}"#,
            "empty list",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"when":{"campaignIn":"x"}}"#,
            "not a list",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"ruleId":"other"}"#,
            "id mismatch",
        ),
        (
            r#"{"variant":{"id":"v","destinationUrl":"https://e.com"},"enabled":"yes"}"#,
            "enabled string",
        ),
    ];
    for (body, why) in cases {
        let r = Rule::parse(
            RuleId::parse("r-1").unwrap(),
            &parse_object(body.as_bytes()).unwrap(),
            &[],
        );
        assert_eq!(r.err().map(|e| e.code()), Some("invalid_field"), "{why}");
    }
}

proptest! {
    /// Evaluation does not depend on the order rules were stored in.
    #[test]
    fn evaluation_is_order_independent(
        specs in proptest::collection::vec((0i64..4, any::<bool>(), 0usize..4), 1..8),
        rot in 0usize..8,
        device in 0usize..3,
    ) {
        let whens = [r#"{}"#, r#"{"deviceIn":["MOBILE"]}"#, r#"{"countryIn":["GB"]}"#, r#"{"sourceIn":["email"]}"#];
        let rules: Vec<Rule> = specs.iter().enumerate().map(|(i, (p, en, w))| {
            let mut r = rule(&format!("r{i:02}"), *p, whens[*w]);
            r.enabled = *en;
            r
        }).collect();
        let dev = [Device::Mobile, Device::Desktop, Device::Tablet][device];
        let v = visitor(None, dev, "GB", "email");
        let mut a = rules.clone();
        sort_rules(&mut a);
        let mut b = rules.clone();
        let n = b.len();
        b.rotate_left(rot % n);
        b.reverse();
        sort_rules(&mut b);
        let wa = evaluate(&a, &v).map(|r| r.rule_id.clone());
        let wb = evaluate(&b, &v).map(|r| r.rule_id.clone());
        prop_assert_eq!(&wa, &wb);
        // and deterministic: explain agrees with evaluate
        let fired: Vec<_> = explain(&a, &v).into_iter().filter(|(_, o)| *o == Outcome::Fired).map(|(r, _)| r.rule_id.clone()).collect();
        prop_assert_eq!(fired.first().cloned(), wa);
    }
}

fn at(s: &str) -> i64 {
    crate::core::time::parse_rfc3339(s).unwrap()
}

/// Every newer condition holds for `yes` and fails, named, for `no`.
#[test]
fn newer_conditions_match_and_name_their_failure() {
    let base = visitor(None, Device::Desktop, "US", "email");
    let monday_10 = at("2026-12-07T10:00:00Z");
    let cases: [(&str, Visitor, Visitor, Condition); 9] = [
        (
            r#"{"languageIn":["de","fr"]}"#,
            Visitor {
                language: Some("DE"),
                ..base
            },
            Visitor {
                language: Some("en"),
                ..base
            },
            Condition::LanguageIn,
        ),
        (
            r#"{"queryHas":{"vip":null,"tier":"gold"}}"#,
            Visitor {
                query: Some("tier=gold&vip"),
                ..base
            },
            Visitor {
                query: Some("tier=silver&vip"),
                ..base
            },
            Condition::QueryHas,
        ),
        (
            r#"{"activeFrom":"2026-12-07T10:00:00+00:00"}"#,
            Visitor {
                at_ms: monday_10,
                ..base
            },
            Visitor {
                at_ms: monday_10 - 1,
                ..base
            },
            Condition::ActiveFrom,
        ),
        (
            r#"{"activeUntil":"2026-12-07T11:00:00+01:00"}"#,
            Visitor {
                at_ms: monday_10 - 1,
                ..base
            },
            Visitor {
                at_ms: monday_10,
                ..base
            },
            Condition::ActiveUntil,
        ),
        (
            r#"{"daysOfWeek":["MON","FRI"]}"#,
            Visitor {
                at_ms: monday_10,
                ..base
            },
            Visitor {
                at_ms: monday_10 + 86_400_000,
                ..base
            },
            Condition::DaysOfWeek,
        ),
        (
            r#"{"hoursUtc":[22,2]}"#,
            Visitor {
                at_ms: at("2026-12-07T01:30:00Z"),
                ..base
            },
            Visitor {
                at_ms: monday_10,
                ..base
            },
            Condition::HoursUtc,
        ),
        (
            r#"{"referrerMatches":"^$"}"#,
            Visitor {
                referrer: None,
                ..base
            },
            Visitor {
                referrer: Some("https://a.example/"),
                ..base
            },
            Condition::ReferrerMatches,
        ),
        (
            r#"{"referrerMatches":"(?i)facebook\\.com"}"#,
            Visitor {
                referrer: Some("https://L.FACEBOOK.com/x"),
                ..base
            },
            Visitor {
                referrer: None,
                ..base
            },
            Condition::ReferrerMatches,
        ),
        (
            r#"{"userAgentMatches":"(?i)bot|crawler"}"#,
            Visitor {
                user_agent: "Googlebot/2.1",
                ..base
            },
            Visitor {
                user_agent: "Mozilla/5.0",
                ..base
            },
            Condition::UserAgentMatches,
        ),
    ];
    for (when, yes, no, cond) in cases {
        let r = rule("r-1", 1, when);
        assert_eq!(r.when.first_failure(&yes), None, "{when} should hold");
        assert_eq!(r.when.first_failure(&no), Some(cond), "{when} should fail");
        // what is stored reads back the same
        let back = Rule::from_stored(
            "r-1",
            true,
            1,
            &r.when.to_json().to_string(),
            "v",
            "https://e.com/".into(),
        )
        .unwrap();
        assert_eq!(back.when, r.when, "{when} round trip");
        let shown = Rule::stored_json(
            "r-1",
            true,
            1,
            &r.when.to_json().to_string(),
            "v-r-1",
            "https://r-1.example.com/",
        );
        assert_eq!(shown, Some(r.to_json()), "{when} shown as parsed");
    }
}

#[test]
fn patterns_run_last_and_json_is_normalized() {
    let r = rule(
        "r-1",
        1,
        r#"{"countryIn":["GB"],"userAgentMatches":"x","daysOfWeek":["SUN","MON"],"activeFrom":"2026-12-07T11:00:00+01:00","hoursUtc":[0,24]}"#,
    );
    let v = Visitor {
        user_agent: "y",
        ..visitor(None, Device::Desktop, "US", "email")
    };
    assert_eq!(r.when.first_failure(&v), Some(Condition::CountryIn));
    assert_eq!(
        r.when.to_json(),
        json!({"countryIn":["GB"],"userAgentMatches":"x","daysOfWeek":["MON","SUN"],"activeFrom":"2026-12-07T10:00:00.000Z","hoursUtc":[0,24]})
    );
    assert!(!read_language(&[r]));
    assert!(read_language(&[rule("l-1", 1, r#"{"languageIn":["en"]}"#)]));
    let names: Vec<_> = Condition::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), 13);
    assert!(names.contains(&"userAgentMatches"));
}

#[test]
fn bad_newer_conditions_are_invalid_fields_naming_the_field() {
    let cases = [
        (r#"{"languageIn":["EN"]}"#, "when.languageIn"),
        (r#"{"languageIn":["english"]}"#, "when.languageIn"),
        (r#"{"languageIn":[]}"#, "when.languageIn"),
        (r#"{"queryHas":{}}"#, "when.queryHas"),
        (r#"{"queryHas":{"a":1}}"#, "when.queryHas"),
        (r#"{"queryHas":["a"]}"#, "when.queryHas"),
        (r#"{"activeFrom":"tomorrow"}"#, "when.activeFrom"),
        (r#"{"activeUntil":"2026-12-07"}"#, "when.activeUntil"),
        (
            r#"{"activeFrom":"2026-12-08T00:00:00Z","activeUntil":"2026-12-07T00:00:00Z"}"#,
            "when.activeUntil",
        ),
        (r#"{"daysOfWeek":["MONDAY"]}"#, "when.daysOfWeek"),
        (r#"{"daysOfWeek":"MON"}"#, "when.daysOfWeek"),
        (r#"{"hoursUtc":[9,9]}"#, "when.hoursUtc"),
        (r#"{"hoursUtc":[9,25]}"#, "when.hoursUtc"),
        (r#"{"hoursUtc":[9.5,12]}"#, "when.hoursUtc"),
        (r#"{"hoursUtc":[9]}"#, "when.hoursUtc"),
        (r#"{"referrerMatches":"("}"#, "when.referrerMatches"),
        (r#"{"referrerMatches":7}"#, "when.referrerMatches"),
        (
            r#"{"userAgentMatches":"a{1000}{1000}"}"#,
            "when.userAgentMatches",
        ),
    ];
    for (when, field) in cases {
        let body =
            format!(r#"{{"when":{when},"variant":{{"id":"v","destinationUrl":"https://e.com"}}}}"#);
        let e = Rule::parse(
            RuleId::parse("r-1").unwrap(),
            &parse_object(body.as_bytes()).unwrap(),
            &[],
        )
        .expect_err(when);
        assert_eq!(e.code(), "invalid_field", "{when}");
        assert!(e.to_string().contains(field), "{when}: {e}");
    }
}

#[test]
fn a_simulated_visitor_is_read_like_a_request() {
    let body = br#"{"slug":"spring-promo","language":"de-CH,de;q=0.9","query":{"vip":null,"utm_source":"email"},"referrer":"https://l.facebook.com/","userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)","at":"2026-12-07T10:00:00Z"}"#;
    let s = Simulated::parse(&parse_object(body).unwrap(), 0).unwrap();
    let v = s.visitor(Some("spring"));
    assert_eq!(v.language, Some("de"));
    assert_eq!(v.query, Some("utm_source=email&vip"));
    assert_eq!(
        (v.device, v.source, v.at_ms),
        (Device::Mobile, "email", at("2026-12-07T10:00:00Z"))
    );
    assert_eq!(s.to_json(Some("spring"))["language"], json!("de"));
    // no source given: from the referrer, as the redirect does; no `at`: now
    let s = Simulated::parse(
        &parse_object(br#"{"slug":"s","referrer":"https://l.facebook.com/","query":"a=1"}"#)
            .unwrap(),
        42,
    )
    .unwrap();
    assert_eq!(
        (s.source.as_str(), s.at_ms, s.query.as_deref()),
        ("social", 42, Some("a=1"))
    );
    for bad in [
        r#"{"slug":"s","at":"noon"}"#,
        r#"{"slug":"s","query":{"a":1}}"#,
        r#"{"slug":"s","query":5}"#,
        r#"{"slug":"s","language":5}"#,
        r#"{"slug":"s","nope":1}"#,
        r#"{"slug":"s","device":"PHONE"}"#,
    ] {
        let e = Simulated::parse(&parse_object(bad.as_bytes()).unwrap(), 0).expect_err(bad);
        assert_eq!(e.code(), "invalid_field", "{bad}");
    }
}

#[test]
fn pattern_budget_counts_enabled_pattern_rules_only() {
    let pat = rule("ua-rule", 1, r#"{"userAgentMatches":"bot"}"#);
    let refp = rule("ref-rule", 1, r#"{"referrerMatches":"news\\."}"#);
    let plain = rule("de-rule", 1, r#"{"countryIn":["DE"]}"#);
    let off = Rule {
        enabled: false,
        ..pat.clone()
    };
    assert!(pat.uses_patterns() && refp.uses_patterns());
    assert!(!plain.uses_patterns() && !off.uses_patterns());
    assert!(pattern_budget(&pat, MAX_PATTERN_RULES - 1).is_ok());
    let e = pattern_budget(&refp, MAX_PATTERN_RULES).unwrap_err();
    assert_eq!(e.code(), "invalid_field");
    assert!(e.to_string().contains("the most allowed is 4"), "{e}");
    // Rules without patterns, and disabled ones, are never refused for it.
    assert!(pattern_budget(&plain, 100).is_ok());
    assert!(pattern_budget(&off, 100).is_ok());
}
