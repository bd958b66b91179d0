//! `…/rules/{ruleId}`: personalization rules, and `POST …/rules/explain`.

use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::{Handle, RuleId};
use crate::core::paging::Page;
use crate::core::rules::{explain as explain_rules, pattern_budget, Outcome, Rule, Simulated};
use crate::core::time::rfc3339;
use crate::edge::ctx::Ctx;
use crate::edge::db::{flag, int, text};
use crate::edge::http::{self, json_body, Query, MAX_BODY};
use crate::edge::{cache, links};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

#[derive(Debug, Clone, Deserialize)]
struct RuleRow {
    rule_id: String,
    enabled: i64,
    priority: i64,
    when_json: String,
    variant_id: String,
    variant_url: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str =
    "rule_id, enabled, priority, when_json, variant_id, variant_url, created_at, updated_at";

impl RuleRow {
    fn to_json(&self) -> Value {
        let mut v = Rule::stored_json(
            &self.rule_id,
            self.enabled != 0,
            self.priority,
            &self.when_json,
            &self.variant_id,
            &self.variant_url,
        )
        .unwrap_or_else(|| json!({"ruleId": self.rule_id}));
        if let Some(m) = v.as_object_mut() {
            m.insert("createdAt".into(), json!(rfc3339(self.created_at)));
            m.insert("updatedAt".into(), json!(rfc3339(self.updated_at)));
        }
        v
    }
}

pub async fn put(ctx: &Ctx, req: &mut Request, h: Handle, id: RuleId) -> ApiResult<Response> {
    let mut body = json_body(req, MAX_BODY).await?;
    http::ascii_urls(&mut body, &["destinationUrl"]);
    let rule = Rule::parse(id, &body, &ctx.own_hosts())?;
    // Every campaign a rule names must belong to this handle.
    if let Some(list) = &rule.when.campaign_in {
        for c in list {
            crate::edge::campaigns::find(ctx, &h, c).await?;
        }
    }
    // A bounded number of the handle's enabled rules may use patterns.
    if rule.uses_patterns() {
        let others = ctx
            .db
            .value::<i64>(
                // The stored `when` (`When::to_json`) of `Rule::uses_patterns`.
                "SELECT count(*) AS n FROM rules WHERE handle = ? AND rule_id <> ? AND enabled = 1 \
                 AND (json_extract(when_json, '$.referrerMatches') IS NOT NULL \
                 OR json_extract(when_json, '$.userAgentMatches') IS NOT NULL)",
                &[text(h.as_str()), text(rule.rule_id.as_str())],
                "n",
            )
            .await?
            .unwrap_or(0);
        pattern_budget(&rule, usize::try_from(others).unwrap_or(usize::MAX))?;
    }
    let existed = ctx
        .db
        .first::<RuleRow>(
            &format!("SELECT {COLUMNS} FROM rules WHERE handle = ? AND rule_id = ?"),
            &[text(h.as_str()), text(rule.rule_id.as_str())],
        )
        .await?
        .is_some();
    let now = http::now_ms();
    ctx.db
        .run(
            "INSERT INTO rules (handle, rule_id, enabled, priority, when_json, variant_id, variant_url, created_at, updated_at) \
             VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (handle, rule_id) DO UPDATE SET enabled = excluded.enabled, \
             priority = excluded.priority, when_json = excluded.when_json, variant_id = excluded.variant_id, \
             variant_url = excluded.variant_url, updated_at = excluded.updated_at",
            &[
                text(h.as_str()),
                text(rule.rule_id.as_str()),
                flag(rule.enabled),
                int(rule.priority),
                text(&rule.when.to_json().to_string()),
                text(&rule.variant.id),
                text(rule.variant.destination_url.as_str()),
                int(now),
                int(now),
            ],
        )
        .await?;
    cache::invalidate();
    let row = find(ctx, &h, rule.rule_id.as_str()).await?;
    http::json(
        if existed { 200 } else { 201 },
        &json!({"rule": row.to_json()}),
    )
}

async fn find(ctx: &Ctx, h: &Handle, id: &str) -> ApiResult<RuleRow> {
    ctx.db
        .first::<RuleRow>(
            &format!("SELECT {COLUMNS} FROM rules WHERE handle = ? AND rule_id = ?"),
            &[text(h.as_str()), text(id)],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Rule".into()))
}

pub async fn get(ctx: &Ctx, h: Handle, id: RuleId) -> ApiResult<Response> {
    http::ok(json!({"rule": find(ctx, &h, id.as_str()).await?.to_json()}))
}

pub async fn delete(ctx: &Ctx, h: Handle, id: RuleId) -> ApiResult<Response> {
    let n = ctx
        .db
        .run(
            "DELETE FROM rules WHERE handle = ? AND rule_id = ?",
            &[text(h.as_str()), text(id.as_str())],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound("Rule".into()));
    }
    cache::invalidate();
    http::no_content()
}

/// Listed in evaluation order (priority descending, ruleId ascending).
pub async fn list(ctx: &Ctx, req: &Request, h: Handle) -> ApiResult<Response> {
    let q = Query::of(req);
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    let mut rows = ctx
        .db
        .all::<RuleRow>(
            &format!("SELECT {COLUMNS} FROM rules WHERE handle = ?"),
            &[text(h.as_str())],
        )
        .await?;
    crate::core::collect::sort_by(&mut rows, |a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    // Cursor: position in evaluation order, keyed by "priority:ruleId".
    let key = |r: &RuleRow| format!("{:020}:{}", 1_000_000_000i64 - r.priority, r.rule_id);
    if let Some(after) = &page.after {
        rows.retain(|r| key(r) > *after);
    }
    rows.truncate(page.limit as usize + 1);
    let (items, next) = page.split(rows, key);
    http::ok(
        json!({"rules": items.iter().map(RuleRow::to_json).collect::<Vec<_>>(), "nextCursor": next}),
    )
}

/// Simulate a visitor: which rule fires, where they land, and why every
/// other rule did not.
pub async fn explain(ctx: &Ctx, req: &mut Request, h: Handle) -> ApiResult<Response> {
    let body = json_body(req, MAX_BODY).await?;
    let sim = Simulated::parse(&body, http::now_ms())?;
    let link = links::lookup(ctx, &h, sim.slug.as_str())
        .await?
        .ok_or(ApiError::LinkNotFound)?;
    let rules = cache::rules(&ctx.db, ctx.cfg.cache_ttl_ms, h.as_str(), http::now_ms()).await?;
    let visitor = sim.visitor(link.campaign_id.as_deref());
    let outcomes = explain_rules(&rules, &visitor);
    let fired = outcomes
        .iter()
        .find(|(_, o)| *o == Outcome::Fired)
        .map(|(r, _)| *r);
    let policy = link.policy();
    let dest = fired.map_or(link.destination_url.as_str(), |r| {
        r.variant.destination_url.as_str()
    });
    let ctx_param = policy
        .append_context_param
        .then_some((policy.context_param_name.as_str(), "clk_example"));
    let final_url =
        crate::core::dest::final_url(dest, sim.query.as_deref(), policy.forward_query, ctx_param);
    let reasons: Vec<Value> = outcomes
        .iter()
        .map(|(r, out)| {
            let (status, reason) = match out {
                Outcome::Fired => ("FIRED", "All conditions hold; highest in evaluation order.".to_string()),
                Outcome::Disabled => ("SKIPPED", "The rule is disabled.".to_string()),
                Outcome::Failed(c) => ("NO_MATCH", format!("Condition {} does not hold.", c.as_str())),
                Outcome::Shadowed(by) => ("SHADOWED", format!("Matches, but rule '{by}' comes first.")),
            };
            json!({"ruleId": r.rule_id.as_str(), "priority": r.priority, "status": status,
                   "failedCondition": match out { Outcome::Failed(c) => json!(c.as_str()), _ => Value::Null },
                   "reason": reason})
        })
        .collect();
    http::ok(json!({
        "visitor": sim.to_json(link.campaign_id.as_deref()),
        "ruleId": fired.map(|r| r.rule_id.as_str()),
        "variant": fired.map(|r| json!({"id": r.variant.id, "destinationUrl": r.variant.destination_url.as_str()})),
        "finalUrl": final_url,
        "rules": reasons,
    }))
}
