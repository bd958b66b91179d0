//! Personalization rules: parsing, evaluation and explanation.
//!
//! Evaluation order is total and independent of storage order: enabled rules,
//! highest `priority` first, ties by `ruleId` ascending; all conditions present
//! in `when` must hold (an empty `when` matches every visitor); the first
//! match wins. No match → the link's own destination.

use crate::core::classify::Device;
use crate::core::dest::DestinationUrl;
use crate::core::error::ApiError;
use crate::core::ids::{is_country_code, CampaignId, RuleId, Slug};
use crate::core::json::Obj;
use serde_json::{json, Map, Value};

const MAX_LIST: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct When {
    pub campaign_in: Option<Vec<String>>,
    pub device_in: Option<Vec<Device>>,
    pub country_in: Option<Vec<String>>,
    pub source_in: Option<Vec<String>>,
    pub slug_in: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub id: String,
    pub destination_url: DestinationUrl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub rule_id: RuleId,
    pub enabled: bool,
    pub priority: i64,
    pub when: When,
    pub variant: Variant,
}

/// What the evaluator knows about a visitor.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    pub slug: &'a str,
    pub campaign_id: Option<&'a str>,
    pub device: Device,
    pub country: &'a str,
    pub source: &'a str,
}

/// The condition that failed first, in the order `campaignIn`, `deviceIn`,
/// `countryIn`, `sourceIn`, `slugIn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    CampaignIn,
    DeviceIn,
    CountryIn,
    SourceIn,
    SlugIn,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::CampaignIn => "campaignIn",
            Condition::DeviceIn => "deviceIn",
            Condition::CountryIn => "countryIn",
            Condition::SourceIn => "sourceIn",
            Condition::SlugIn => "slugIn",
        }
    }
}

impl When {
    /// `None` when every present condition holds.
    pub fn first_failure(&self, v: &Visitor<'_>) -> Option<Condition> {
        if let Some(list) = &self.campaign_in {
            if !v.campaign_id.is_some_and(|c| list.iter().any(|x| x == c)) {
                return Some(Condition::CampaignIn);
            }
        }
        if let Some(list) = &self.device_in {
            if !list.contains(&v.device) {
                return Some(Condition::DeviceIn);
            }
        }
        if let Some(list) = &self.country_in {
            if !list.iter().any(|x| x == v.country) {
                return Some(Condition::CountryIn);
            }
        }
        if let Some(list) = &self.source_in {
            if !list.iter().any(|x| x == v.source) {
                return Some(Condition::SourceIn);
            }
        }
        if let Some(list) = &self.slug_in {
            if !list.iter().any(|x| x == v.slug) {
                return Some(Condition::SlugIn);
            }
        }
        None
    }

    fn parse(m: &Map<String, Value>) -> Result<When, ApiError> {
        let o = Obj::nested(m, "when");
        o.only(&["campaignIn", "deviceIn", "countryIn", "sourceIn", "slugIn"])?;
        let list = |k: &str| -> Result<Option<Vec<&str>>, ApiError> {
            match o.str_array(k, MAX_LIST)? {
                Some(v) if v.is_empty() => {
                    Err(o.err(k, "must not be empty (omit it to match everything)"))
                }
                other => Ok(other),
            }
        };
        let campaign_in = list("campaignIn")?
            .map(|v| {
                v.into_iter()
                    .map(|s| {
                        CampaignId::parse(s)
                            .map(CampaignId::into_string)
                            .map_err(|_| o.err("campaignIn", "must list campaign ids"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let device_in = list("deviceIn")?
            .map(|v| {
                v.into_iter()
                    .map(|s| {
                        Device::parse(s)
                            .ok_or_else(|| o.err("deviceIn", "must list MOBILE, DESKTOP or TABLET"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let country_in = list("countryIn")?
            .map(|v| {
                v.into_iter()
                    .map(|s| {
                        if is_country_code(s) {
                            Ok(s.to_string())
                        } else {
                            Err(o.err("countryIn", "must list ISO 3166-1 alpha-2 codes such as US"))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let source_in = list("sourceIn")?
            .map(|v| {
                v.into_iter()
                    .map(|s| {
                        let ok = !s.is_empty()
                            && s.len() <= 64
                            && s.bytes().all(|b| {
                                b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                            });
                        if ok {
                            Ok(s.to_string())
                        } else {
                            Err(o.err(
                                "sourceIn",
                                "must list lower-case sources such as email or social",
                            ))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let slug_in = list("slugIn")?
            .map(|v| {
                v.into_iter()
                    .map(|s| {
                        Slug::parse(s)
                            .map(Slug::into_string)
                            .ok_or_else(|| o.err("slugIn", "must list slugs"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(When {
            campaign_in,
            device_in,
            country_in,
            source_in,
            slug_in,
        })
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(v) = &self.campaign_in {
            m.insert("campaignIn".into(), json!(v));
        }
        if let Some(v) = &self.device_in {
            m.insert(
                "deviceIn".into(),
                json!(v.iter().map(|d| d.as_str()).collect::<Vec<_>>()),
            );
        }
        if let Some(v) = &self.country_in {
            m.insert("countryIn".into(), json!(v));
        }
        if let Some(v) = &self.source_in {
            m.insert("sourceIn".into(), json!(v));
        }
        if let Some(v) = &self.slug_in {
            m.insert("slugIn".into(), json!(v));
        }
        Value::Object(m)
    }
}

impl Rule {
    /// Rebuild a rule from its stored columns (validated when written).
    /// `None` if the row is unreadable; the caller skips it rather than failing a redirect.
    pub fn from_stored(
        rule_id: &str,
        enabled: bool,
        priority: i64,
        when_json: &str,
        variant_id: &str,
        variant_url: String,
    ) -> Option<Rule> {
        let m: Map<String, Value> = serde_json::from_str(when_json).ok()?;
        Some(Rule {
            rule_id: RuleId::parse(rule_id).ok()?,
            enabled,
            priority,
            when: When::parse(&m).ok()?,
            variant: Variant {
                id: variant_id.to_string(),
                destination_url: DestinationUrl::from_stored(variant_url),
            },
        })
    }

    /// Parse a `PUT …/rules/{ruleId}` body. A `ruleId` in the body must equal the path's.
    pub fn parse(
        rule_id: RuleId,
        body: &Map<String, Value>,
        own_hosts: &[&str],
    ) -> Result<Rule, ApiError> {
        let o = Obj::new(body);
        o.only(&["ruleId", "enabled", "priority", "when", "variant"])?;
        if let Some(id) = o.str("ruleId")? {
            if id != rule_id.as_str() {
                return Err(o.err("ruleId", "must equal the ruleId in the path"));
            }
        }
        let priority = o.int("priority")?.unwrap_or(0);
        if !(-1_000_000..=1_000_000).contains(&priority) {
            return Err(o.err(
                "priority",
                "must be an integer between -1000000 and 1000000",
            ));
        }
        let when = match o.object("when")? {
            Some(m) => When::parse(m)?,
            None => When::default(),
        };
        let vm = o
            .object("variant")?
            .ok_or_else(|| o.err("variant", "is required"))?;
        let vo = Obj::nested(vm, "variant");
        vo.only(&["id", "destinationUrl"])?;
        let id = vo.req_str("id")?;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(vo.err(
                "id",
                "must be 1-64 characters of letters, digits, '_' or '-'",
            ));
        }
        let destination_url = DestinationUrl::parse(
            vo.req_str("destinationUrl")?,
            "variant.destinationUrl",
            own_hosts,
        )?;
        Ok(Rule {
            rule_id,
            enabled: o.bool("enabled")?.unwrap_or(true),
            priority,
            when,
            variant: Variant {
                id: id.to_string(),
                destination_url,
            },
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ruleId": self.rule_id.as_str(),
            "enabled": self.enabled,
            "priority": self.priority,
            "when": self.when.to_json(),
            "variant": {"id": self.variant.id, "destinationUrl": self.variant.destination_url.as_str()},
        })
    }
}

/// Put rules in evaluation order: priority descending, ruleId ascending.
pub fn sort_rules(rules: &mut [Rule]) {
    rules.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
}

/// The winning rule for a visitor. `rules` must be in evaluation order ([`sort_rules`]).
/// Whether evaluating these rules can depend on the visitor's country (the
/// edge reads `request.cf`, which is not free, only when something needs it).
pub fn read_country(rules: &[Rule]) -> bool {
    rules
        .iter()
        .any(|r| r.enabled && r.when.country_in.is_some())
}

pub fn evaluate<'r>(rules: &'r [Rule], v: &Visitor<'_>) -> Option<&'r Rule> {
    rules
        .iter()
        .find(|r| r.enabled && r.when.first_failure(v).is_none())
}

/// Why each rule did or did not decide this visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Fired,
    Disabled,
    Failed(Condition),
    /// It matched, but a rule earlier in the order fired first.
    Shadowed(RuleId),
}

/// Every rule in evaluation order with its outcome.
pub fn explain<'r>(rules: &'r [Rule], v: &Visitor<'_>) -> Vec<(&'r Rule, Outcome)> {
    let mut fired: Option<&RuleId> = None;
    rules
        .iter()
        .map(|r| {
            let outcome = if !r.enabled {
                Outcome::Disabled
            } else if let Some(c) = r.when.first_failure(v) {
                Outcome::Failed(c)
            } else if let Some(f) = fired {
                Outcome::Shadowed(f.clone())
            } else {
                fired = Some(&r.rule_id);
                Outcome::Fired
            };
            (r, outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
