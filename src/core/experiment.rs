//! Experiments: one link's traffic split between 2–5 weighted destinations,
//! and the statistics that say — honestly — whether one converts better.
//!
//! - Assignment (`assign`): a returning visitor keeps the variant named by
//!   their cookie; anyone else gets a weighted draw.
//! - Results (`results`): per variant the conversion rate with its 95 %
//!   Wilson interval; a chi-square goodness-of-fit test of the qualified
//!   clicks against the weights (the sample-ratio check: a broken split
//!   makes every comparison meaningless); the winner rule; and one sentence
//!   that says what to do.

use crate::core::dest::DestinationUrl;
use crate::core::error::ApiError;
use crate::core::funnel::{cents_to_f64, Counters};
use crate::core::ids::{ExperimentId, Slug, VariantId};
use crate::core::json::Obj;
use crate::core::stats::{chi_square_gof, conversion_rate, wilson};
use serde_json::{json, Map, Value};

/// Below this p-value the split is called broken (sample ratio mismatch).
pub const SRM_P: f64 = 0.001;
pub const DEFAULT_MIN_QUALIFIED: i64 = 100;
/// How long a visitor's variant cookie lasts.
pub const COOKIE_MAX_AGE_SECS: u32 = 30 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Running,
    Stopped,
    /// Set by the server when `autoPromote` declared a winner.
    Concluded,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "DRAFT" => Some(Status::Draft),
            "RUNNING" => Some(Status::Running),
            "STOPPED" => Some(Status::Stopped),
            "CONCLUDED" => Some(Status::Concluded),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "DRAFT",
            Status::Running => "RUNNING",
            Status::Stopped => "STOPPED",
            Status::Concluded => "CONCLUDED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub id: VariantId,
    pub destination_url: DestinationUrl,
    pub weight: u32,
}

/// A `PUT …/experiments/{id}` body, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExperiment {
    pub slug: Slug,
    pub status: Status,
    pub variants: Vec<Variant>,
    pub min_qualified: i64,
    pub auto_promote: bool,
}

impl NewExperiment {
    pub fn parse(body: &Map<String, Value>, own_hosts: &[&str]) -> Result<NewExperiment, ApiError> {
        let o = Obj::new(body);
        o.only(&[
            "slug",
            "status",
            "variants",
            "minQualifiedClicksPerVariant",
            "autoPromote",
        ])?;
        let slug = Slug::parse_field(o.req_str("slug")?, "slug")?;
        let status = match o.str("status")? {
            None => Status::Draft,
            Some(s) => match Status::parse(s) {
                Some(st @ (Status::Draft | Status::Running | Status::Stopped)) => st,
                _ => return Err(o.err("status", "must be DRAFT, RUNNING or STOPPED")),
            },
        };
        let list = match body.get("variants") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(o.err("variants", "must be an array")),
            None => return Err(o.err("variants", "is required")),
        };
        if !(2..=5).contains(&list.len()) {
            return Err(o.err("variants", "must list 2 to 5 variants"));
        }
        let mut variants: Vec<Variant> = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let prefix = format!("variants[{i}]");
            let Value::Object(m) = v else {
                return Err(ApiError::field(&prefix, "must be an object"));
            };
            let vo = Obj::nested(m, &prefix);
            vo.only(&["id", "destinationUrl", "weight"])?;
            let id = VariantId::parse(vo.req_str("id")?)
                .ok_or_else(|| vo.err("id", "must match ^[a-z0-9][a-z0-9_-]{0,31}$"))?;
            if variants.iter().any(|x| x.id == id) {
                return Err(vo.err("id", "must be unique within the experiment"));
            }
            let destination_url = DestinationUrl::parse(
                vo.req_str("destinationUrl")?,
                &vo.name("destinationUrl"),
                own_hosts,
            )?;
            let weight = vo
                .int("weight")?
                .ok_or_else(|| vo.err("weight", "is required"))?;
            if !(1..=100).contains(&weight) {
                return Err(vo.err("weight", "must be an integer from 1 to 100"));
            }
            variants.push(Variant {
                id,
                destination_url,
                weight: weight as u32,
            });
        }
        if variants.iter().map(|v| v.weight).sum::<u32>() != 100 {
            return Err(o.err("variants", "weights must sum to 100"));
        }
        let min_qualified = o
            .int("minQualifiedClicksPerVariant")?
            .unwrap_or(DEFAULT_MIN_QUALIFIED);
        if !(1..=10_000_000).contains(&min_qualified) {
            return Err(o.err(
                "minQualifiedClicksPerVariant",
                "must be an integer from 1 to 10000000",
            ));
        }
        Ok(NewExperiment {
            slug,
            status,
            variants,
            min_qualified,
            auto_promote: o.bool("autoPromote")?.unwrap_or(false),
        })
    }
}

/// Variants as stored (`variants_json`) and served.
pub fn variants_json(variants: &[Variant]) -> Value {
    Value::Array(
        variants
            .iter()
            .map(|v| json!({"id": v.id.as_str(), "destinationUrl": v.destination_url.as_str(), "weight": v.weight}))
            .collect(),
    )
}

/// Variants read back from storage (written by `variants_json`).
pub fn variants_from_stored(json: &str) -> Vec<Variant> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|v| {
            Some(Variant {
                id: VariantId::parse(v.get("id")?.as_str()?)?,
                destination_url: DestinationUrl::from_stored(
                    v.get("destinationUrl")?.as_str()?.to_string(),
                ),
                weight: u32::try_from(v.get("weight")?.as_u64()?).ok()?,
            })
        })
        .collect()
}

/// The cookie that pins a visitor to a variant: `ef_exp_{experimentId}`.
pub fn cookie_name(id: &ExperimentId) -> String {
    format!("ef_exp_{}", id.as_str())
}

/// The variant a visitor gets: the one their cookie names, if it is still a
/// variant (`pinned` true: no new cookie needed), else a weighted draw with
/// `draw` uniform in `0..u32::MAX`.
pub fn assign<'a>(
    variants: &'a [Variant],
    cookie: Option<&str>,
    draw: u32,
) -> Option<(&'a Variant, bool)> {
    if let Some(v) = cookie.and_then(|c| variants.iter().find(|v| v.id.as_str() == c)) {
        return Some((v, true));
    }
    let total: u64 = variants.iter().map(|v| u64::from(v.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut point = u64::from(draw) * total / (u64::from(u32::MAX) + 1);
    for v in variants {
        let w = u64::from(v.weight);
        if point < w {
            return Some((v, false));
        }
        point -= w;
    }
    variants.last().map(|v| (v, false))
}

/// The `Set-Cookie` value pinning a visitor to `variant`.
pub fn set_cookie(id: &ExperimentId, variant: &VariantId, secure: bool) -> String {
    format!(
        "{}={}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; SameSite=Lax; HttpOnly{}",
        cookie_name(id),
        variant.as_str(),
        if secure { "; Secure" } else { "" }
    )
}

/// What the redirect needs of a link's experiment: the RUNNING one, or the
/// latest CONCLUDED one (all traffic to its winner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    pub id: ExperimentId,
    pub variants: Vec<Variant>,
    /// Set when concluded.
    pub winner: Option<VariantId>,
}

impl Active {
    /// From the stored row's fields; None when they do not describe a usable
    /// experiment (no variants, or a concluded one without its winner).
    pub fn from_stored(
        id: &str,
        status: &str,
        variants_json: &str,
        winner: Option<&str>,
    ) -> Option<Active> {
        let id = ExperimentId::parse(id).ok()?;
        let variants = variants_from_stored(variants_json);
        let winner = match Status::parse(status)? {
            Status::Running => None,
            Status::Concluded => {
                let w = VariantId::parse(winner?)?;
                variants.iter().any(|v| v.id == w).then_some(w)?.into()
            }
            _ => return None,
        };
        (!variants.is_empty()).then_some(Active {
            id,
            variants,
            winner,
        })
    }

    /// The variant a visitor goes to, and the cookie to set (a RUNNING
    /// experiment, a visitor without a valid cookie). A concluded experiment
    /// sends everyone to its winner and sets nothing.
    pub fn pick(
        &self,
        cookie_header: Option<&str>,
        draw: u32,
        https: bool,
    ) -> Option<(&Variant, Option<String>)> {
        if let Some(w) = &self.winner {
            return self.variants.iter().find(|v| &v.id == w).map(|v| (v, None));
        }
        let name = cookie_name(&self.id);
        let cookie = cookie_header.and_then(|h| crate::core::cookie::value(h, &name));
        let (v, pinned) = assign(&self.variants, cookie, draw)?;
        Some((v, (!pinned).then(|| set_cookie(&self.id, &v.id, https))))
    }
}

/// The rollup row of a variant (dimension `variant`): `{experimentId}:{variantId}`.
pub fn variant_key(experiment: &str, variant: &str) -> String {
    format!("{experiment}:{variant}")
}

/// One variant's numbers, from the rollup.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantStats {
    pub id: String,
    pub weight: u32,
    pub counters: Counters,
}

/// The outcome of an experiment's statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub chi_square: f64,
    pub p_value: f64,
    pub mismatch: bool,
    pub winner: Option<String>,
    pub decision: String,
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// The winner rule: every variant has at least `min_qualified` qualified
/// clicks, the split is healthy, and one variant's 95 % interval lies
/// entirely above every other's.
pub fn verdict(stats: &[VariantStats], min_qualified: i64) -> Verdict {
    let qualified: Vec<i64> = stats.iter().map(|s| s.counters.qualified()).collect();
    let total_w: f64 = stats
        .iter()
        .map(|s| f64::from(s.weight))
        .sum::<f64>()
        .max(1.0);
    let props: Vec<f64> = stats
        .iter()
        .map(|s| f64::from(s.weight) / total_w)
        .collect();
    let (chi_square, p_value) = chi_square_gof(&qualified, &props);
    let mismatch = p_value < SRM_P;
    let intervals: Vec<(f64, f64)> = stats
        .iter()
        .map(|s| {
            wilson(
                s.counters.conversions.min(s.counters.qualified()),
                s.counters.qualified(),
            )
        })
        .collect();
    let fewest = stats
        .iter()
        .zip(&qualified)
        .min_by_key(|(_, q)| **q)
        .map(|(s, q)| (s.id.as_str(), *q));
    let winner = stats.iter().enumerate().find(|(i, _)| {
        intervals
            .iter()
            .enumerate()
            .all(|(j, other)| j == *i || intervals[*i].0 > other.1)
    });
    let (winner, decision) = if mismatch {
        (
            None,
            format!(
                "No winner: the split is broken — qualified clicks differ from the weights more than chance allows (p = {p_value:.2e}); find out why before trusting any result."
            ),
        )
    } else if let Some((id, q)) = fewest.filter(|(_, q)| *q < min_qualified) {
        (
            None,
            format!(
                "No winner yet: every variant needs {min_qualified} qualified clicks, and '{id}' has {q}."
            ),
        )
    } else if let Some((i, s)) = winner {
        let (lo, hi) = intervals[i];
        (
            Some(s.id.clone()),
            format!(
                "'{}' converts better: its 95 % interval ({} – {}) lies above every other variant's.",
                s.id,
                pct(lo),
                pct(hi)
            ),
        )
    } else {
        (
            None,
            "No winner yet: the variants' 95 % intervals overlap, so the difference could be chance."
                .to_string(),
        )
    };
    Verdict {
        chi_square,
        p_value,
        mismatch,
        winner,
        decision,
    }
}

/// The `variants` entries of a results response.
pub fn variants_results_json(stats: &[VariantStats], currency: &str) -> Value {
    Value::Array(
        stats
            .iter()
            .map(|s| {
                let c = &s.counters;
                let (lo, hi) = wilson(c.conversions.min(c.qualified()), c.qualified());
                let r4 = |v: f64| (v * 10_000.0).round() / 10_000.0;
                json!({
                    "id": s.id,
                    "weight": s.weight,
                    "clicks": c.clicks,
                    "qualifiedClicks": c.qualified(),
                    "conversions": c.conversions,
                    "revenue": (cents_to_f64(c.revenue.get(currency).copied().unwrap_or(0)) * 100.0).round() / 100.0,
                    "conversionRate": r4(conversion_rate(c.conversions, c.qualified())),
                    "interval": {"lo": r4(lo), "hi": r4(hi)},
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse_object;

    fn parse(body: &str) -> Result<NewExperiment, ApiError> {
        NewExperiment::parse(&parse_object(body.as_bytes()).unwrap(), &["go.example"])
    }

    const AB: &str = r#"{"slug":"spring-promo","status":"RUNNING","variants":[{"id":"a","destinationUrl":"https://shop.example.com/a","weight":50},{"id":"b","destinationUrl":"https://shop.example.com/b","weight":50}]}"#;

    #[test]
    fn a_valid_body_and_its_defaults() {
        let e = parse(AB).unwrap();
        assert_eq!(
            (e.status, e.min_qualified, e.auto_promote),
            (Status::Running, 100, false)
        );
        assert_eq!(e.variants.len(), 2);
        let stored = variants_json(&e.variants).to_string();
        assert_eq!(variants_from_stored(&stored), e.variants);
    }

    #[test]
    fn bad_bodies_name_their_field() {
        let v = |id: &str, w: i64| {
            format!(r#"{{"id":"{id}","destinationUrl":"https://e.example/{id}","weight":{w}}}"#)
        };
        let body = |variants: Vec<String>| {
            format!(r#"{{"slug":"s","variants":[{}]}}"#, variants.join(","))
        };
        let cases = [
            (body(vec![v("a", 100)]), "variants"),
            (body(vec![v("a", 50), v("b", 40)]), "variants"),
            (body(vec![v("a", 50), v("a", 50)]), "variants[1].id"),
            (body(vec![v("a", 0), v("b", 100)]), "variants[0].weight"),
            (body(vec![v("A", 50), v("b", 50)]), "variants[0].id"),
            (body(vec![v("a", 20); 6].iter().enumerate().map(|(i, _)| v(&format!("v{i}"), 20)).collect()), "variants"),
            (r#"{"slug":"s","variants":[{"id":"a","destinationUrl":"javascript:x","weight":50},{"id":"b","destinationUrl":"https://e.example","weight":50}]}"#.to_string(), "variants[0].destinationUrl"),
            (AB.replace("RUNNING", "CONCLUDED"), "status"),
            (AB.replace("\"status\"", "\"colour\""), "colour"),
            (AB.replace("spring-promo", "Spring Promo"), "slug"),
            (AB.replace("}]}", r#"}],"minQualifiedClicksPerVariant":0}"#), "minQualifiedClicksPerVariant"),
        ];
        for (b, field) in cases {
            match parse(&b) {
                Err(ApiError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{b}"),
                other => panic!("{b}: {other:?}"),
            }
        }
    }

    #[test]
    fn assignment_honours_the_cookie_and_the_weights() {
        let e = parse(&AB.replace("\"weight\":50}", "\"weight\":25}").replacen(
            "\"weight\":25}",
            "\"weight\":75}",
            1,
        ))
        .unwrap();
        assert_eq!((e.variants[0].weight, e.variants[1].weight), (75, 25));
        assert_eq!(
            assign(&e.variants, Some("b"), 0).map(|(v, p)| (v.id.as_str(), p)),
            Some(("b", true))
        );
        assert_eq!(
            assign(&e.variants, Some("gone"), 0).map(|(v, p)| (v.id.as_str(), p)),
            Some(("a", false))
        );
        // the draw splits 0..2^32 by weight
        let at = |d: u32| assign(&e.variants, None, d).map(|(v, _)| v.id.as_str().to_string());
        assert_eq!(at(0).as_deref(), Some("a"));
        assert_eq!(at((u32::MAX / 4) * 3 - 10).as_deref(), Some("a"));
        assert_eq!(at((u32::MAX / 4) * 3 + 10).as_deref(), Some("b"));
        assert_eq!(at(u32::MAX).as_deref(), Some("b"));
        assert_eq!(
            crate::core::cookie::value("x=1; ef_exp_t1=b; y=2", "ef_exp_t1"),
            Some("b")
        );
        assert_eq!(
            crate::core::cookie::value("ef_exp_t10=b", "ef_exp_t1"),
            None
        );
        let id = ExperimentId::parse("spring-test").unwrap();
        assert_eq!(
            set_cookie(&id, &VariantId::parse("b").unwrap(), true),
            "ef_exp_spring-test=b; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly; Secure"
        );
    }

    fn stats(rows: &[(&str, u32, i64, i64)]) -> Vec<VariantStats> {
        rows.iter()
            .map(|(id, w, q, conv)| VariantStats {
                id: id.to_string(),
                weight: *w,
                counters: Counters {
                    clicks: *q,
                    conversions: *conv,
                    ..Default::default()
                },
            })
            .collect()
    }

    #[test]
    fn active_experiments_pick_by_cookie_draw_or_winner() {
        let e = parse(AB).unwrap();
        let vj = variants_json(&e.variants).to_string();
        let running = Active::from_stored("t1x", "RUNNING", &vj, None).unwrap();
        let (v, cookie) = running.pick(Some("ef_exp_t1x=b"), 0, true).unwrap();
        assert_eq!((v.id.as_str(), cookie), ("b", None));
        let (v, cookie) = running.pick(None, 0, false).unwrap();
        assert_eq!(v.id.as_str(), "a");
        assert_eq!(
            cookie.as_deref(),
            Some("ef_exp_t1x=a; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly")
        );
        let concluded = Active::from_stored("t1x", "CONCLUDED", &vj, Some("b")).unwrap();
        assert_eq!(
            concluded
                .pick(Some("ef_exp_t1x=a"), 0, true)
                .map(|(v, c)| (v.id.as_str(), c)),
            Some(("b", None))
        );
        assert!(Active::from_stored("t1x", "CONCLUDED", &vj, Some("zz")).is_none());
        assert!(Active::from_stored("t1x", "DRAFT", &vj, None).is_none());
    }

    #[test]
    fn the_winner_rule() {
        // too few clicks
        let v = verdict(&stats(&[("a", 50, 40, 2), ("b", 50, 45, 20)]), 100);
        assert_eq!(v.winner, None);
        assert_eq!(
            v.decision,
            "No winner yet: every variant needs 100 qualified clicks, and 'a' has 40."
        );
        // overlapping intervals
        let v = verdict(&stats(&[("a", 50, 1000, 50), ("b", 50, 1010, 60)]), 100);
        assert_eq!(v.winner, None);
        assert!(v.decision.contains("overlap"), "{}", v.decision);
        // a clear winner
        let v = verdict(&stats(&[("a", 50, 1000, 50), ("b", 50, 1010, 150)]), 100);
        assert_eq!(v.winner.as_deref(), Some("b"));
        assert!(!v.mismatch && v.p_value > 0.5, "{v:?}");
        assert!(
            v.decision
                .starts_with("'b' converts better: its 95 % interval ("),
            "{}",
            v.decision
        );
        // the same rates, but a broken split: no winner
        let v = verdict(&stats(&[("a", 50, 1000, 50), ("b", 50, 1400, 210)]), 100);
        assert!(v.mismatch && v.p_value < SRM_P);
        assert_eq!(v.winner, None);
        assert!(
            v.decision.starts_with("No winner: the split is broken"),
            "{}",
            v.decision
        );
    }
}
