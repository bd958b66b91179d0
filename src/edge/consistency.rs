//! Numbers that show their own state: the rollup against the ledger (the
//! health check's `rollup_consistency` and the daily reconciliation), and
//! the events still on their way to the rollup (`pendingEvents`).
//!
//! The ledger side is one D1 batch of three aggregate queries per campaign,
//! each answered from a covering index (migration 0007): its cost does not
//! grow with the rows' width, only with the index range it counts.

use crate::core::consistency::{compare, Outcome, Totals};
use crate::core::error::ApiResult;
use crate::core::funnel::Snapshot;
use crate::core::health::Verdict;
use crate::core::ids::Handle;
use crate::core::time::DAY_MS;
use crate::edge::db::{int, opt_text, text, Db};
use crate::edge::{log, rollup};
use serde::Deserialize;
use worker::Env;

#[derive(Deserialize)]
struct ClickTotals {
    clicks: i64,
    bot: i64,
}

#[derive(Deserialize)]
struct CurrencyTotals {
    currency: String,
    n: i64,
    cents: i64,
}

/// The ledger's totals of a campaign: clicks (per-click rows and the hourly
/// aggregates of `AGGREGATE_ONLY` links), bot clicks, live conversions and
/// their revenue per currency.
pub async fn ledger_totals(db: &Db, h: &Handle, campaign: &str) -> ApiResult<Totals> {
    let args = [text(h.as_str()), text(campaign)];
    let results = db
        .batch(vec![
            db.stmt(
                "SELECT count(*) AS clicks, coalesce(sum(bot), 0) AS bot FROM clicks WHERE handle = ? AND campaign_id = ?",
                &args,
            )?,
            db.stmt(
                "SELECT coalesce(sum(clicks), 0) AS clicks, coalesce(sum(clicks * bot), 0) AS bot \
                 FROM click_aggregates WHERE handle = ? AND campaign_id = ?",
                &args,
            )?,
            db.stmt(
                "SELECT currency, count(*) AS n, coalesce(sum(value_cents), 0) AS cents FROM conversions \
                 WHERE handle = ? AND campaign_id = ? AND test = 0 GROUP BY currency",
                &args,
            )?,
        ])
        .await?;
    let mut t = Totals::default();
    for r in results.iter().take(2) {
        for c in r.results::<ClickTotals>()? {
            t.clicks += c.clicks;
            t.bot_clicks += c.bot;
        }
    }
    if let Some(r) = results.get(2) {
        for c in r.results::<CurrencyTotals>()? {
            t.conversions += c.n;
            t.revenue.insert(c.currency, c.cents);
        }
    }
    Ok(t)
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// Events parked in the outbox (the rollup was down when they were
/// accepted), for one campaign or, with None, for the whole handle.
pub async fn parked(db: &Db, h: &Handle, campaign: Option<&str>) -> ApiResult<i64> {
    Ok(db
        .first::<Count>(
            "SELECT count(*) AS n FROM rollup_outbox WHERE handle = ?1 AND (?2 IS NULL OR campaign_id = ?2)",
            &[text(h.as_str()), opt_text(campaign)],
        )
        .await?
        .map(|c| c.n)
        .unwrap_or(0))
}

/// Events accepted but not yet in the rollup: parked in the outbox, or
/// announced by a click travelling the replay queue (`snap.pending`).
pub async fn pending_events(
    db: &Db,
    h: &Handle,
    campaign: Option<&str>,
    snap: &Snapshot,
) -> ApiResult<i64> {
    Ok(parked(db, h, campaign).await? + snap.pending)
}

/// The rollup (`snap`, already read) against the ledger, now.
pub async fn check(db: &Db, h: &Handle, campaign: &str, snap: &Snapshot) -> ApiResult<Outcome> {
    let ledger = ledger_totals(db, h, campaign).await?;
    let pending = pending_events(db, h, Some(campaign), snap).await?;
    Ok(compare(&Totals::of_rollup(&snap.total()), &ledger, pending))
}

#[derive(Deserialize)]
struct LastRow {
    checked_at: i64,
    status: String,
}

/// The last daily reconciliation of a campaign, if one ran.
pub async fn last_reconciliation(
    db: &Db,
    h: &Handle,
    campaign: &str,
) -> ApiResult<Option<(i64, Verdict)>> {
    Ok(db
        .first::<LastRow>(
            "SELECT checked_at, status FROM reconciliations WHERE handle = ? AND campaign_id = ?",
            &[text(h.as_str()), text(campaign)],
        )
        .await?
        .map(|r| {
            let v = if r.status == "PASS" {
                Verdict::Pass
            } else {
                Verdict::Warn
            };
            (r.checked_at, v)
        }))
}

#[derive(Deserialize)]
struct CampaignKey {
    handle: String,
    campaign_id: String,
}

/// Campaigns reconciled per scheduled run at most (a later run of the same
/// day continues where this one stopped).
const PER_RUN: i64 = 200;

/// The daily reconciliation, from the scheduled job (every minute): on a
/// UTC day, every campaign whose last reconciliation is older than that
/// day is checked, `PER_RUN` per run, and its result kept; a WARN is also
/// logged. The rollup objects forget unique-visitor firsts of days older
/// than three then. Cheap when there is nothing to do (one indexed query).
pub async fn reconcile_daily(env: &Env, db: &Db, shards: u32, now: i64) -> ApiResult<usize> {
    let day = now - now.rem_euclid(DAY_MS);
    let due = db
        .all::<CampaignKey>(
            "SELECT c.handle, c.campaign_id FROM campaigns c LEFT JOIN reconciliations r \
             ON r.handle = c.handle AND r.campaign_id = c.campaign_id \
             WHERE r.checked_at IS NULL OR r.checked_at < ? ORDER BY c.handle, c.campaign_id LIMIT ?",
            &[int(day), int(PER_RUN)],
        )
        .await?;
    let mut done = 0;
    for k in &due {
        let Some(h) = Handle::parse(&k.handle) else {
            continue;
        };
        let snap = rollup::snapshot(env, &h, &k.campaign_id, shards).await?;
        let o = check(db, &h, &k.campaign_id, &snap).await?;
        // Unique-visitor firsts older than 3 days are no longer needed.
        rollup::forget_visitors(env, &h, &k.campaign_id, shards, day - 3 * DAY_MS).await?;
        if o.verdict != Verdict::Pass {
            log::event(
                "rollup_drift",
                &format!("{h} {}: {}", k.campaign_id, o.detail),
            );
        }
        db.run(
            "INSERT INTO reconciliations (handle, campaign_id, checked_at, status, detail) VALUES (?,?,?,?,?) \
             ON CONFLICT (handle, campaign_id) DO UPDATE SET checked_at = excluded.checked_at, \
             status = excluded.status, detail = excluded.detail",
            &[text(h.as_str()), text(&k.campaign_id), int(now), text(o.verdict.as_str()), text(&o.detail)],
        )
        .await?;
        done += 1;
    }
    if done > 0 {
        db.run(
            "INSERT INTO reconciliation_runs (day, started_at, campaigns) VALUES (?, ?, ?) \
             ON CONFLICT (day) DO UPDATE SET campaigns = campaigns + excluded.campaigns",
            &[int(day), int(now), int(done as i64)],
        )
        .await?;
    }
    Ok(done)
}
