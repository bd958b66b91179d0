//! The click ledger's write: a batch of clicks' rows in one D1 transaction.
//! Used by the rollup object (which writes a flush's ledger rows before it
//! applies their events: one call per flush from the isolate) and by
//! `clicks` (replays, and batches the rollup object could not take).

use crate::core::click::LedgerRows;
use crate::core::error::{ApiError, ApiResult};
use crate::edge::db::{int, opt_text, text, Db};
use crate::edge::retry::retrying;
use crate::edge::{faults, http};

fn json<T: serde::Serialize>(rows: &[T]) -> ApiResult<String> {
    serde_json::to_string(rows).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The ledger rows in one D1 transaction (all rows or none, so a retry is
/// safe), at most three statements whatever the batch size, each taking its
/// rows as one JSON argument (`json_each`): click rows (a replayed click id
/// is ignored), and increments of hourly aggregates with the claim of
/// `write_id` — the increments only apply while neither `write_id` nor
/// `earlier` (the batch a click was first part of) is claimed, so a retry
/// of a write that did commit adds nothing.
pub async fn write(
    db: &Db,
    rows: &LedgerRows<'_>,
    write_id: &str,
    earlier: Option<&str>,
) -> ApiResult<()> {
    if faults::active("d1_clicks") {
        return Err(ApiError::Internal("injected fault: d1_clicks".into()));
    }
    if faults::active("d1_clicks_lost") {
        return Ok(());
    }
    retrying(|| async {
        let mut stmts = Vec::new();
        if !rows.clicks.is_empty() {
            stmts.push(db.stmt(
                "INSERT INTO clicks (click_id, handle, slug, campaign_id, rule_id, variant_id, country, device, source, \
                 referrer_host, segment, bot, bot_reason, ts, visitor, experiment_id) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                 json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
                 json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), \
                 json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'), \
                 json_extract(value, '$[12]'), json_extract(value, '$[13]'), json_extract(value, '$[14]'), \
                 json_extract(value, '$[15]') \
                 FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
                &[text(&json(&rows.clicks)?)],
            )?);
        }
        if !rows.aggregates.is_empty() {
            stmts.push(db.stmt(
                "INSERT INTO click_aggregates (handle, campaign_id, hour, slug, rule_id, country, device, source, bot, \
                 bot_reason, clicks, last_ts) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                 json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
                 json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), \
                 json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]') \
                 FROM json_each(?) WHERE true \
                 AND NOT EXISTS (SELECT 1 FROM aggregate_writes WHERE write_id IN (?2, ?3)) \
                 ON CONFLICT (handle, campaign_id, hour, slug, rule_id, country, device, source, bot, bot_reason) \
                 DO UPDATE SET clicks = clicks + excluded.clicks, last_ts = max(last_ts, excluded.last_ts)",
                &[
                    text(&json(&rows.aggregates)?),
                    text(write_id),
                    opt_text(earlier),
                ],
            )?);
            stmts.push(db.stmt(
                "INSERT INTO aggregate_writes (write_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                &[text(write_id), int(http::now_ms())],
            )?);
        }
        db.batch(stmts).await?;
        if faults::active("d1_clicks_unacked") {
            return Err(ApiError::Internal("injected fault: d1_clicks_unacked (committed)".into()));
        }
        Ok(())
    })
    .await
}
