//! The redirect decision, pure: visitor facts + link + rules → where the
//! visitor goes and what the click record says. This is the hot path; it is
//! benchmarked natively (`make bench`).

use crate::core::classify::{
    bot_reason, classify_source, classify_ua, referrer_host, segment, BotReason, BotSignals,
    Device, UaClass,
};
use crate::core::dest::{final_url, query_param};
use crate::core::experiment::Active;
use crate::core::link::TrackingPolicy;
use crate::core::rules::{evaluate, primary_language, Rule, Visitor};

/// What the edge knows about an incoming click.
#[derive(Debug, Clone, Copy, Default)]
pub struct Incoming<'a> {
    pub user_agent: &'a str,
    pub referer: Option<&'a str>,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// `request.cf.country`
    pub country: Option<&'a str>,
    pub is_head: bool,
    pub verified_bot: bool,
    pub bot_score: Option<u32>,
    /// `classify_ua(user_agent)` when the caller has it already (the edge
    /// memoizes it per isolate); computed here when `None`.
    pub ua_class: Option<UaClass>,
    /// The `Cookie` header (a returning visitor's experiment variant).
    pub cookie: Option<&'a str>,
    /// Uniform random bits for an experiment's weighted draw (only read for
    /// a RUNNING experiment and a visitor without its cookie).
    pub draw: u32,
    /// The request came over https (the experiment cookie is `Secure` then).
    pub https: bool,
    /// The `Accept-Language` header (its start), read only when a rule
    /// tests the language.
    pub accept_language: Option<&'a str>,
    /// The time of the request, epoch ms (rules with time windows).
    pub now_ms: i64,
}

/// What the runtime knows about a visitor, as the edge reads it in one call:
/// `method \n user-agent \n referer \n country \n verifiedBot \n botScore
/// \n clientIp \n cookie \n acceptLanguage`, where a missing referer is `\0` (header values can hold
/// neither a line break nor NUL), and the others are empty when unknown or
/// not read. The client address is only ever hashed (`core::unique`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Packed<'a> {
    pub method: &'a str,
    pub user_agent: &'a str,
    pub referer: Option<&'a str>,
    pub country: Option<&'a str>,
    pub verified_bot: bool,
    pub bot_score: Option<u32>,
    pub client_ip: &'a str,
    /// The `Cookie` header, read only when the link has an experiment.
    pub cookie: Option<&'a str>,
    /// The start of `Accept-Language`, read only when a rule tests the language.
    pub accept_language: Option<&'a str>,
}

impl<'a> Packed<'a> {
    pub fn unpack(s: &'a str) -> Packed<'a> {
        let mut f = s.splitn(9, '\n');
        let mut next = || f.next().unwrap_or("");
        let (method, user_agent, referer) = (next(), next(), next());
        let (country, verified, score) = (next(), next(), next());
        Packed {
            method,
            user_agent,
            referer: (referer != "\0").then_some(referer),
            country: (!country.is_empty()).then_some(country),
            verified_bot: verified == "1",
            bot_score: score.parse().ok(),
            client_ip: next(),
            cookie: Some(next()).filter(|c| !c.is_empty()),
            accept_language: Some(next()).filter(|l| !l.is_empty()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct LinkView<'a> {
    pub slug: &'a str,
    pub destination_url: &'a str,
    pub campaign_id: Option<&'a str>,
    pub policy: &'a TrackingPolicy,
    /// The link's RUNNING (or latest CONCLUDED) experiment.
    pub experiment: Option<&'a Active>,
}

/// The classified visitor, as recorded with the click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickFacts {
    pub country: String,
    pub device: Device,
    pub source: String,
    pub referrer_host: Option<String>,
    pub segment: String,
    pub bot_reason: Option<BotReason>,
    pub rule_id: Option<String>,
    /// The fired rule's variant, or the experiment's.
    pub variant_id: Option<String>,
    /// The RUNNING experiment the visitor was assigned in.
    pub experiment_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub location: String,
    /// The `Set-Cookie` pinning a visitor to their experiment variant.
    pub set_cookie: Option<String>,
    pub facts: ClickFacts,
}

/// Country from `request.cf`, `XX` when unknown or malformed.
pub fn country_of(c: Option<&str>) -> String {
    match c {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        _ => "XX".to_string(),
    }
}

/// `rules` must be in evaluation order. `click_id` is appended as the context
/// parameter when the link asks for it.
pub fn decide(
    link: &LinkView<'_>,
    rules: &[Rule],
    inc: &Incoming<'_>,
    click_id: Option<&str>,
) -> Decision {
    let ua = inc.ua_class.unwrap_or_else(|| classify_ua(inc.user_agent));
    let device = ua.device;
    let ref_host = inc.referer.and_then(referrer_host);
    let utm = inc
        .query
        .and_then(|q| query_param(q, "utm_source").or_else(|| query_param(q, "src")));
    let source = classify_source(utm.as_deref(), ref_host.as_deref());
    let country = country_of(inc.country);
    let bot_reason = bot_reason(
        ua.bot,
        &BotSignals {
            user_agent: inc.user_agent,
            is_head: inc.is_head,
            verified_bot: inc.verified_bot,
            bot_score: inc.bot_score,
        },
    );
    let visitor = Visitor {
        slug: link.slug,
        campaign_id: link.campaign_id,
        device,
        country: &country,
        source: &source,
        language: inc.accept_language.and_then(primary_language),
        query: inc.query,
        referrer: inc.referer,
        user_agent: inc.user_agent,
        at_ms: inc.now_ms,
    };
    let fired = evaluate(rules, &visitor);
    // Rules first; when none fires, the link's experiment (if any) decides.
    let assigned = match (fired, link.experiment) {
        (None, Some(e)) => e
            .pick(inc.cookie, inc.draw, inc.https)
            .map(|(v, c)| (e, v, c)),
        _ => None,
    };
    let dest = match (fired, &assigned) {
        (Some(r), _) => r.variant.destination_url.as_str(),
        (None, Some((_, v, _))) => v.destination_url.as_str(),
        (None, None) => link.destination_url,
    };
    let context = match (link.policy.append_context_param, click_id) {
        (true, Some(id)) => Some((link.policy.context_param_name.as_str(), id)),
        _ => None,
    };
    let location = final_url(dest, inc.query, link.policy.forward_query, context);
    // A concluded experiment only routes: its traffic is not counted as the experiment's.
    let (experiment_id, experiment_variant, set_cookie) = match assigned {
        Some((e, v, cookie)) if e.winner.is_none() => (
            Some(e.id.as_str().to_string()),
            Some(v.id.as_str().to_string()),
            cookie,
        ),
        _ => (None, None, None),
    };
    Decision {
        location,
        set_cookie,
        facts: ClickFacts {
            segment: segment(device, &source),
            country,
            device,
            source,
            referrer_host: ref_host,
            bot_reason,
            rule_id: fired.map(|r| r.rule_id.as_str().to_string()),
            variant_id: fired.map(|r| r.variant.id.clone()).or(experiment_variant),
            experiment_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::RuleId;
    use crate::core::json::parse_object;

    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    fn guide_rule() -> Vec<Rule> {
        let body = br#"{"enabled":true,"priority":100,"when":{"campaignIn":["spring-launch"],"deviceIn":["MOBILE"]},"variant":{"id":"mobile-optimized","destinationUrl":"https://m.shop.example.com/spring"}}"#;
        vec![Rule::parse(
            RuleId::parse("spring-mobile-variant").unwrap(),
            &parse_object(body).unwrap(),
            &[],
        )
        .unwrap()]
    }

    #[test]
    fn rules_first_then_the_experiment() {
        let body = br#"{"slug":"spring-promo","status":"RUNNING","variants":[{"id":"a","destinationUrl":"https://shop.example.com/a","weight":50},{"id":"b","destinationUrl":"https://shop.example.com/b","weight":50}]}"#;
        let e = crate::core::experiment::NewExperiment::parse(&parse_object(body).unwrap(), &[])
            .unwrap();
        let json = crate::core::experiment::variants_json(&e.variants).to_string();
        let active = Active::from_stored("spring-test", "RUNNING", &json, None).unwrap();
        let policy = TrackingPolicy {
            append_context_param: true,
            ..TrackingPolicy::default()
        };
        let link = LinkView {
            slug: "spring-promo",
            destination_url: "https://shop.example.com/spring",
            campaign_id: Some("spring-launch"),
            policy: &policy,
            experiment: Some(&active),
        };
        // a mobile visitor: the rule fires, the experiment is not consulted
        let mobile = Incoming {
            user_agent: IPHONE,
            ..Default::default()
        };
        let d = decide(&link, &guide_rule(), &mobile, Some("clk_x"));
        assert_eq!(d.location, "https://m.shop.example.com/spring?ctx=clk_x");
        assert_eq!((d.set_cookie, d.facts.experiment_id), (None, None));
        // a desktop visitor without the cookie: drawn, pinned by a cookie
        let desk = Incoming {
            user_agent: MAC,
            draw: u32::MAX,
            https: true,
            query: Some("utm_source=email"),
            ..Default::default()
        };
        let d = decide(&link, &guide_rule(), &desk, Some("clk_y"));
        assert_eq!(
            d.location,
            "https://shop.example.com/b?utm_source=email&ctx=clk_y"
        );
        assert_eq!(
            d.set_cookie.as_deref(),
            Some("ef_exp_spring-test=b; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly; Secure")
        );
        assert_eq!(
            (
                d.facts.experiment_id.as_deref(),
                d.facts.variant_id.as_deref()
            ),
            (Some("spring-test"), Some("b"))
        );
        // returning with the cookie: the same variant, no new cookie
        let back = Incoming {
            user_agent: MAC,
            draw: 0,
            cookie: Some("a=1; ef_exp_spring-test=b"),
            ..Default::default()
        };
        let d = decide(&link, &guide_rule(), &back, None);
        assert_eq!(
            (d.location.as_str(), d.set_cookie),
            ("https://shop.example.com/b", None)
        );
    }

    #[test]
    fn mobile_visitor_gets_the_variant_with_context() {
        let policy = TrackingPolicy {
            append_context_param: true,
            ..TrackingPolicy::default()
        };
        let link = LinkView {
            slug: "spring-promo",
            destination_url: "https://shop.example.com/spring",
            campaign_id: Some("spring-launch"),
            policy: &policy,
            experiment: None,
        };
        let inc = Incoming {
            user_agent: IPHONE,
            query: Some("utm_source=Email"),
            country: Some("gb"),
            ..Default::default()
        };
        let d = decide(&link, &guide_rule(), &inc, Some("clk_x"));
        assert_eq!(
            d.location,
            "https://m.shop.example.com/spring?utm_source=Email&ctx=clk_x"
        );
        assert_eq!(d.facts.rule_id.as_deref(), Some("spring-mobile-variant"));
        assert_eq!(d.facts.variant_id.as_deref(), Some("mobile-optimized"));
        assert_eq!(
            (
                d.facts.country.as_str(),
                d.facts.source.as_str(),
                d.facts.segment.as_str()
            ),
            ("GB", "email", "mobile:email")
        );
        let desk = Incoming {
            user_agent: MAC,
            ..Default::default()
        };
        let d = decide(&link, &guide_rule(), &desk, Some("clk_y"));
        assert_eq!(d.location, "https://shop.example.com/spring?ctx=clk_y");
        assert_eq!(d.facts.rule_id, None);
        assert_eq!(d.facts.country, "XX");
        assert_eq!(d.facts.source, "direct");
    }

    #[test]
    fn packed_visitor_facts() {
        assert_eq!(
            Packed::unpack("GET\nMozilla/5.0 (X)\nhttps://l.facebook.com/\nGB\n1\n12\n203.0.113.9"),
            Packed {
                method: "GET",
                user_agent: "Mozilla/5.0 (X)",
                referer: Some("https://l.facebook.com/"),
                country: Some("GB"),
                verified_bot: true,
                bot_score: Some(12),
                client_ip: "203.0.113.9",
                cookie: None,
                accept_language: None,
            }
        );
        assert_eq!(
            Packed::unpack("HEAD\n\n\0\n\n\n\n"),
            Packed {
                method: "HEAD",
                ..Default::default()
            }
        );
        // an empty Referer header is still a header; garbage scores are unknown
        let p = Packed::unpack("GET\nua\n\0\nGB\n\n\n1.2.3.4\nef=1\nde-CH,de;q=0.9");
        assert_eq!(
            (p.cookie, p.accept_language),
            (Some("ef=1"), Some("de-CH,de;q=0.9"))
        );
        assert_eq!(
            Packed::unpack("GET\nua\n\0\nGB\n\n\n1.2.3.4\n\n").accept_language,
            None
        );
        let p = Packed::unpack("GET\nua\n\nXX\n0\n-3");
        assert_eq!(
            (p.referer, p.verified_bot, p.bot_score),
            (Some(""), false, None)
        );
    }

    #[test]
    fn a_precomputed_ua_class_decides_exactly_like_classifying_here() {
        let policy = TrackingPolicy::default();
        let link = LinkView {
            slug: "spring-promo",
            destination_url: "https://shop.example.com/spring",
            campaign_id: Some("spring-launch"),
            policy: &policy,
            experiment: None,
        };
        for ua in [
            IPHONE,
            MAC,
            "",
            "curl/8.4.0",
            "facebookexternalhit/1.1",
            "WhatsApp/2.23",
        ] {
            for is_head in [false, true] {
                let inc = Incoming {
                    user_agent: ua,
                    is_head,
                    query: Some("utm_source=email"),
                    ..Default::default()
                };
                let given = Incoming {
                    ua_class: Some(classify_ua(ua)),
                    ..inc
                };
                assert_eq!(
                    decide(&link, &guide_rule(), &inc, Some("clk_x")),
                    decide(&link, &guide_rule(), &given, Some("clk_x")),
                    "{ua} head={is_head}"
                );
            }
        }
    }

    #[test]
    fn the_request_feeds_language_query_referrer_ua_and_time() {
        let body = br#"{"when":{"languageIn":["de"],"queryHas":{"vip":null},"referrerMatches":"(?i)newsletter","userAgentMatches":"Macintosh","daysOfWeek":["MON"],"hoursUtc":[9,17]},"variant":{"id":"de-vip","destinationUrl":"https://shop.example.com/de"}}"#;
        let rules = vec![Rule::parse(
            RuleId::parse("de-vip").unwrap(),
            &parse_object(body).unwrap(),
            &[],
        )
        .unwrap()];
        let policy = TrackingPolicy::default();
        let link = LinkView {
            slug: "s",
            destination_url: "https://e.com/",
            campaign_id: None,
            policy: &policy,
            experiment: None,
        };
        // Monday 2026-12-07 10:00 UTC
        let monday_10 = crate::core::time::parse_rfc3339("2026-12-07T10:00:00Z").unwrap();
        let inc = Incoming {
            user_agent: MAC,
            referer: Some("https://News.example.com/NEWSLETTER/42"),
            query: Some("vip&utm_source=email"),
            accept_language: Some("de-AT,de;q=0.9"),
            now_ms: monday_10,
            ..Default::default()
        };
        let d = decide(&link, &rules, &inc, None);
        assert_eq!(d.facts.rule_id.as_deref(), Some("de-vip"));
        assert_eq!(
            d.location,
            "https://shop.example.com/de?vip&utm_source=email"
        );
        let misses = [
            Incoming {
                accept_language: Some("en-US,de;q=0.9"),
                ..inc
            },
            Incoming {
                accept_language: None,
                ..inc
            },
            Incoming {
                query: Some("utm_source=email"),
                ..inc
            },
            Incoming {
                referer: None,
                ..inc
            },
            Incoming {
                user_agent: IPHONE,
                ..inc
            },
            Incoming {
                now_ms: monday_10 + 7 * 3_600_000,
                ..inc
            },
            Incoming {
                now_ms: monday_10 + 24 * 3_600_000,
                ..inc
            },
        ];
        for (i, m) in misses.iter().enumerate() {
            assert_eq!(
                decide(&link, &rules, m, None).facts.rule_id,
                None,
                "case {i}"
            );
        }
    }

    #[test]
    fn head_and_preview_fetchers_are_bots() {
        let policy = TrackingPolicy::default();
        let link = LinkView {
            slug: "s",
            destination_url: "https://e.com/",
            campaign_id: None,
            policy: &policy,
            experiment: None,
        };
        let head = Incoming {
            user_agent: MAC,
            is_head: true,
            ..Default::default()
        };
        assert_eq!(
            decide(&link, &[], &head, None).facts.bot_reason,
            Some(BotReason::HeadRequest)
        );
        let fb = Incoming {
            user_agent: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            ..Default::default()
        };
        assert_eq!(
            decide(&link, &[], &fb, None).facts.bot_reason,
            Some(BotReason::UserAgent)
        );
        assert_eq!(decide(&link, &[], &fb, None).location, "https://e.com/");
    }
}
