//! `…/experiments/{experimentId}`: weighted A/B destinations of one link, and
//! `…/experiments/{id}/results` — the statistics of `core::experiment` over the
//! per-variant counters of the campaign's rollup (reads never scan clicks).
//! With `autoPromote`, a declared winner concludes the experiment (on a
//! results read or the scheduled job): all traffic goes to the winner from
//! then on and `experiment.concluded` is emitted exactly once (the RUNNING →
//! CONCLUDED update is the claim only one caller wins).

use crate::core::error::{ApiError, ApiResult};
use crate::core::experiment::{
    variant_key, variants_from_stored, variants_json, variants_results_json, verdict,
    NewExperiment, Status, VariantStats,
};
use crate::core::funnel::Snapshot;
use crate::core::ids::{ExperimentId, Handle, Slug};
use crate::core::paging::Page;
use crate::core::time::rfc3339;
use crate::core::webhook::EventType;
use crate::edge::ctx::Ctx;
use crate::edge::db::{changes, flag, int, opt_text, text, Db};
use crate::edge::http::{self, json_body, Query, MAX_BODY};
use crate::edge::{cache, campaigns, consistency, hosts, links, log, rollup, webhooks};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

#[derive(Debug, Clone, Deserialize)]
struct ExperimentRow {
    handle: String,
    experiment_id: String,
    slug: String,
    campaign_id: String,
    status: String,
    variants_json: String,
    min_qualified: i64,
    auto_promote: i64,
    winner: Option<String>,
    concluded_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str =
    "handle, experiment_id, slug, campaign_id, status, variants_json, min_qualified, \
                       auto_promote, winner, concluded_at, created_at, updated_at";

impl ExperimentRow {
    fn to_json(&self) -> Value {
        json!({
            "experimentId": self.experiment_id,
            "slug": self.slug,
            "campaignId": self.campaign_id,
            "status": self.status,
            "variants": serde_json::from_str::<Value>(&self.variants_json).unwrap_or(Value::Array(vec![])),
            "minQualifiedClicksPerVariant": self.min_qualified,
            "autoPromote": self.auto_promote != 0,
            "winner": self.winner,
            "concludedAt": self.concluded_at.map(rfc3339),
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
        })
    }
}

async fn lookup(db: &Db, h: &Handle, id: &str) -> ApiResult<Option<ExperimentRow>> {
    db.first::<ExperimentRow>(
        &format!("SELECT {COLUMNS} FROM experiments WHERE handle = ? AND experiment_id = ?"),
        &[text(h.as_str()), text(id)],
    )
    .await
}

async fn find(ctx: &Ctx, h: &Handle, id: &str) -> ApiResult<ExperimentRow> {
    lookup(&ctx.db, h, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("Experiment".into()))
}

pub async fn put(ctx: &Ctx, req: &mut Request, h: Handle, id: ExperimentId) -> ApiResult<Response> {
    let mut body = json_body(req, MAX_BODY).await?;
    http::ascii_urls(&mut body, &["destinationUrl"]);
    let new = NewExperiment::parse(&body, &ctx.own_hosts())?;
    for (i, v) in new.variants.iter().enumerate() {
        let field = format!("variants[{i}].destinationUrl");
        hosts::refuse_loop(ctx, &field, v.destination_url.as_str()).await?;
    }
    let link = links::lookup(ctx, &h, new.slug.as_str())
        .await?
        .ok_or(ApiError::LinkNotFound)?;
    let Some(campaign_id) = link.campaign_id else {
        return Err(ApiError::field(
            "slug",
            "must name a link that belongs to a campaign",
        ));
    };
    if new.status == Status::Running {
        let running = ctx
            .db
            .first::<ExperimentRow>(
                &format!(
                    "SELECT {COLUMNS} FROM experiments WHERE handle = ? AND slug = ? AND status = 'RUNNING' \
                     AND experiment_id != ?"
                ),
                &[text(h.as_str()), text(new.slug.as_str()), text(id.as_str())],
            )
            .await?;
        if let Some(other) = running {
            return Err(ApiError::ExperimentConflict(other.experiment_id));
        }
    }
    let existed = lookup(&ctx.db, &h, id.as_str()).await?.is_some();
    let now = http::now_ms();
    let written = ctx
        .db
        .run(
            "INSERT INTO experiments (handle, experiment_id, slug, campaign_id, status, variants_json, min_qualified, \
             auto_promote, winner, concluded_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,NULL,NULL,?,?) \
             ON CONFLICT (handle, experiment_id) DO UPDATE SET slug = excluded.slug, campaign_id = excluded.campaign_id, \
             status = excluded.status, variants_json = excluded.variants_json, min_qualified = excluded.min_qualified, \
             auto_promote = excluded.auto_promote, winner = NULL, concluded_at = NULL, updated_at = excluded.updated_at",
            &[
                text(h.as_str()),
                text(id.as_str()),
                text(new.slug.as_str()),
                text(&campaign_id),
                text(new.status.as_str()),
                text(&variants_json(&new.variants).to_string()),
                int(new.min_qualified),
                flag(new.auto_promote),
                int(now),
                int(now),
            ],
        )
        .await;
    if let Err(e) = written {
        // Two RUNNING experiments on one link raced: the unique index decided.
        if matches!(&e, ApiError::Internal(d) if d.contains("UNIQUE")) {
            return Err(ApiError::ExperimentConflict(new.slug.as_str().to_string()));
        }
        return Err(e);
    }
    cache::invalidate();
    let row = find(ctx, &h, id.as_str()).await?;
    http::json(
        if existed { 200 } else { 201 },
        &json!({"experiment": row.to_json()}),
    )
}

pub async fn get(ctx: &Ctx, h: Handle, id: ExperimentId) -> ApiResult<Response> {
    http::ok(json!({"experiment": find(ctx, &h, id.as_str()).await?.to_json()}))
}

pub async fn delete(ctx: &Ctx, h: Handle, id: ExperimentId) -> ApiResult<Response> {
    let n = ctx
        .db
        .run(
            "DELETE FROM experiments WHERE handle = ? AND experiment_id = ?",
            &[text(h.as_str()), text(id.as_str())],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound("Experiment".into()));
    }
    cache::invalidate();
    http::no_content()
}

pub async fn list(ctx: &Ctx, req: &Request, h: Handle) -> ApiResult<Response> {
    let q = Query::of(req);
    q.only(&["limit", "cursor", "slug"])?;
    let page = Page::parse(q.get("limit"), q.get("cursor"))?;
    // A malformed filter is refused, never a silently empty list; empty is no filter.
    let slug = q
        .get("slug")
        .filter(|s| !s.is_empty())
        .map(|s| Slug::parse_field(s, "slug"))
        .transpose()?;
    let rows = ctx
        .db
        .all::<ExperimentRow>(
            &format!(
                "SELECT {COLUMNS} FROM experiments WHERE handle = ?1 AND experiment_id > ?2 \
                 AND (?3 IS NULL OR slug = ?3) ORDER BY experiment_id LIMIT ?4"
            ),
            &[
                text(h.as_str()),
                text(page.after.as_deref().unwrap_or("")),
                opt_text(slug.as_ref().map(Slug::as_str)),
                int(i64::from(page.limit) + 1),
            ],
        )
        .await?;
    let (items, next) = page.split(rows, |r| r.experiment_id.clone());
    http::ok(json!({
        "experiments": items.iter().map(ExperimentRow::to_json).collect::<Vec<_>>(),
        "nextCursor": next,
    }))
}

/// Each variant's counters from the campaign's rollup.
fn variant_stats(row: &ExperimentRow, snap: &Snapshot) -> Vec<VariantStats> {
    let rows = snap.rows.get("variant");
    variants_from_stored(&row.variants_json)
        .into_iter()
        .map(|v| VariantStats {
            counters: rows
                .and_then(|m| m.get(&variant_key(&row.experiment_id, v.id.as_str())))
                .cloned()
                .unwrap_or_default(),
            id: v.id.into_string(),
            weight: v.weight,
        })
        .collect()
}

/// Conclude a RUNNING experiment whose winner is declared: the update is the
/// claim (only one caller changes the row), and only the winner of it emits
/// `experiment.concluded`.
async fn conclude(
    env: &Env,
    db: &Db,
    h: &Handle,
    row: &ExperimentRow,
    winner: &str,
    decision: &str,
) -> ApiResult<bool> {
    let now = http::now_ms();
    let r = db
        .batch(vec![db.stmt(
            "UPDATE experiments SET status = 'CONCLUDED', winner = ?, concluded_at = ?, updated_at = ? \
             WHERE handle = ? AND experiment_id = ? AND status = 'RUNNING'",
            &[text(winner), int(now), int(now), text(h.as_str()), text(&row.experiment_id)],
        )?])
        .await?;
    if r.first().map(changes).unwrap_or(0) == 0 {
        return Ok(false);
    }
    cache::invalidate();
    let data = json!({
        "experimentId": row.experiment_id,
        "slug": row.slug,
        "campaignId": row.campaign_id,
        "winner": winner,
        "decision": decision,
        "concludedAt": rfc3339(now),
    });
    webhooks::emit(env, db, h, EventType::ExperimentConcluded, data).await;
    Ok(true)
}

pub async fn results(ctx: &Ctx, h: Handle, id: ExperimentId) -> ApiResult<Response> {
    let mut row = find(ctx, &h, id.as_str()).await?;
    let c = campaigns::find(ctx, &h, &row.campaign_id).await?;
    let snap = rollup::snapshot(&ctx.env, &h, &row.campaign_id, ctx.cfg.rollup_shards).await?;
    let stats = variant_stats(&row, &snap);
    let v = verdict(&stats, row.min_qualified);
    if let (true, "RUNNING", Some(w)) = (row.auto_promote != 0, row.status.as_str(), &v.winner) {
        // Re-read either way: losing the claim means another caller (a
        // concurrent read, the scheduled job) concluded it just now.
        conclude(&ctx.env, &ctx.db, &h, &row, w, &v.decision).await?;
        row = find(ctx, &h, id.as_str()).await?;
    }
    let (winner, decision) = match (row.status.as_str(), &row.winner) {
        ("CONCLUDED", Some(w)) => (
            Some(w.clone()),
            format!(
                "Concluded: '{w}' won, and all of the link's traffic goes to it now. {}",
                v.decision
            ),
        ),
        _ => (v.winner.clone(), v.decision.clone()),
    };
    let pending = consistency::parked(&ctx.db, &h, Some(&row.campaign_id)).await? + snap.pending;
    let last = snap.total().last_ms;
    http::ok(json!({
        "experimentId": row.experiment_id,
        "slug": row.slug,
        "campaignId": row.campaign_id,
        "status": row.status,
        "currency": c.currency,
        "variants": variants_results_json(&stats, &c.currency),
        "srm": {"chiSquare": (v.chi_square * 10_000.0).round() / 10_000.0, "pValue": v.p_value, "mismatch": v.mismatch},
        "winner": winner,
        "decision": decision,
        "asOf": if last > 0 { json!(rfc3339(last)) } else { json!(null) },
        "pendingEvents": pending,
        "sampled": false,
    }))
}

/// The scheduled job: conclude RUNNING `autoPromote` experiments whose
/// winner is declared (at most 100 per run).
pub async fn promote_due(env: &Env, db: &Db, shards: u32) -> ApiResult<usize> {
    let rows = db
        .all::<ExperimentRow>(
            &format!("SELECT {COLUMNS} FROM experiments WHERE status = 'RUNNING' AND auto_promote = 1 LIMIT 100"),
            &[],
        )
        .await?;
    let mut done = 0;
    for row in rows {
        let Some(h) = Handle::parse(&row.handle) else {
            continue;
        };
        let snap = rollup::snapshot(env, &h, &row.campaign_id, shards).await?;
        let v = verdict(&variant_stats(&row, &snap), row.min_qualified);
        if let Some(w) = &v.winner {
            if conclude(env, db, &h, &row, w, &v.decision).await? {
                log::event(
                    "experiment_concluded",
                    &format!("{h} {}: {w}", row.experiment_id),
                );
                done += 1;
            }
        }
    }
    Ok(done)
}
