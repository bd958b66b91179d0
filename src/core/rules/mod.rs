//! Personalization rules: parsing, evaluation and explanation.
//!
//! Evaluation order is total and independent of storage order: enabled rules,
//! highest `priority` first, ties by `ruleId` ascending; all conditions present
//! in `when` must hold (an empty `when` matches every visitor); the first
//! match wins. No match → the link's own destination.

mod expanded;
mod facts;
mod pattern;
mod simulate;
mod when;

pub use expanded::expanded_size;
pub use facts::{primary_language, Days, Hours, DAY_NAMES};
pub use pattern::{Pattern, MAX_INPUT, MAX_PATTERN};
pub use simulate::Simulated;
pub use when::When;

use crate::core::classify::Device;
use crate::core::dest::DestinationUrl;
use crate::core::error::ApiError;
use crate::core::ids::RuleId;
use crate::core::json::Obj;
use serde_json::{json, Map, Value};

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

/// At most this many of a handle's enabled rules may use a pattern condition
/// (`referrerMatches`, `userAgentMatches`). One pattern is bounded (~5 ms in
/// wasm at worst on a 512-byte header, microseconds for ordinary ones); this
/// bounds the redirect: at worst 8 pattern matches, ~40 ms, for the most
/// pathological patterns the size limits let through.
pub const MAX_PATTERN_RULES: usize = 4;

impl Rule {
    /// Whether it counts against [`MAX_PATTERN_RULES`].
    pub fn uses_patterns(&self) -> bool {
        self.enabled
            && (self.when.referrer_matches.is_some() || self.when.user_agent_matches.is_some())
    }
}

/// Refuses an enabled pattern rule when `others` of the handle's other
/// enabled rules already use patterns.
pub fn pattern_budget(rule: &Rule, others: usize) -> Result<(), ApiError> {
    if rule.uses_patterns() && others >= MAX_PATTERN_RULES {
        return Err(ApiError::field(
            "when",
            format!(
                "must not add another enabled pattern rule: {others} of the handle's enabled rules already use referrerMatches/userAgentMatches, the most allowed is {MAX_PATTERN_RULES} (disable or delete one first)"
            ),
        ));
    }
    Ok(())
}

/// What the evaluator knows about a visitor.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    pub slug: &'a str,
    pub campaign_id: Option<&'a str>,
    pub device: Device,
    pub country: &'a str,
    pub source: &'a str,
    /// The primary subtag of the first language of `Accept-Language`
    /// ([`primary_language`]); None when unknown or not read.
    pub language: Option<&'a str>,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub referrer: Option<&'a str>,
    pub user_agent: &'a str,
    /// The time of the visit, epoch ms.
    pub at_ms: i64,
}

/// The condition that failed first, in this order (the regular expressions
/// last, so they run only when everything else holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    CampaignIn,
    DeviceIn,
    CountryIn,
    SourceIn,
    SlugIn,
    LanguageIn,
    QueryHas,
    /// Not active yet.
    ActiveFrom,
    /// No longer active.
    ActiveUntil,
    DaysOfWeek,
    HoursUtc,
    ReferrerMatches,
    UserAgentMatches,
}

impl Condition {
    pub const ALL: [Condition; 13] = [
        Condition::CampaignIn,
        Condition::DeviceIn,
        Condition::CountryIn,
        Condition::SourceIn,
        Condition::SlugIn,
        Condition::LanguageIn,
        Condition::QueryHas,
        Condition::ActiveFrom,
        Condition::ActiveUntil,
        Condition::DaysOfWeek,
        Condition::HoursUtc,
        Condition::ReferrerMatches,
        Condition::UserAgentMatches,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::CampaignIn => "campaignIn",
            Condition::DeviceIn => "deviceIn",
            Condition::CountryIn => "countryIn",
            Condition::SourceIn => "sourceIn",
            Condition::SlugIn => "slugIn",
            Condition::LanguageIn => "languageIn",
            Condition::QueryHas => "queryHas",
            Condition::ActiveFrom => "activeFrom",
            Condition::ActiveUntil => "activeUntil",
            Condition::DaysOfWeek => "daysOfWeek",
            Condition::HoursUtc => "hoursUtc",
            Condition::ReferrerMatches => "referrerMatches",
            Condition::UserAgentMatches => "userAgentMatches",
        }
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

    /// A stored rule as the API shows it, without rebuilding it: it was
    /// validated and normalized when written, and a read need not compile its
    /// patterns. `None` if `when_json` is not an object.
    pub fn stored_json(
        rule_id: &str,
        enabled: bool,
        priority: i64,
        when_json: &str,
        variant_id: &str,
        variant_url: &str,
    ) -> Option<Value> {
        let when: Map<String, Value> = serde_json::from_str(when_json).ok()?;
        Some(rule_json(
            rule_id,
            enabled,
            priority,
            Value::Object(when),
            variant_id,
            variant_url,
        ))
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
        rule_json(
            self.rule_id.as_str(),
            self.enabled,
            self.priority,
            self.when.to_json(),
            &self.variant.id,
            self.variant.destination_url.as_str(),
        )
    }
}

/// A rule as the API shows it, from a parsed rule or a stored row alike.
fn rule_json(
    rule_id: &str,
    enabled: bool,
    priority: i64,
    when: Value,
    variant_id: &str,
    variant_url: &str,
) -> Value {
    json!({
        "ruleId": rule_id,
        "enabled": enabled,
        "priority": priority,
        "when": when,
        "variant": {"id": variant_id, "destinationUrl": variant_url},
    })
}

/// Put rules in evaluation order: priority descending, ruleId ascending.
pub fn sort_rules(rules: &mut [Rule]) {
    crate::core::collect::sort_by(rules, |a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
}

/// Whether evaluating these rules can depend on the visitor's country (the
/// edge reads `request.cf`, which is not free, only when something needs it).
pub fn read_country(rules: &[Rule]) -> bool {
    rules
        .iter()
        .any(|r| r.enabled && r.when.country_in.is_some())
}

/// Whether evaluating these rules needs the visitor's `Accept-Language`.
pub fn read_language(rules: &[Rule]) -> bool {
    rules.iter().any(|r| r.enabled && r.when.reads_language())
}

/// The winning rule for a visitor. `rules` must be in evaluation order ([`sort_rules`]).
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
mod tests;
