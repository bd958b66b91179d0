//! `GET …/campaigns/{id}/clicks.csv` and `…/conversions.csv`: a campaign's
//! ledger as CSV (`core::csv` writes the rows and drives the paging).
//!
//! The body is a stream: one D1 query per page (keyset `(time, id)` on the
//! `clicks_by_campaign` / `conversions_by_campaign` indexes), written as CSV
//! before the next page is read, and only when the client pulls. So memory
//! holds one page, whatever the size of the ledger. The first page is read
//! before answering, so a failing store is still a clean 500 envelope; a
//! later page that fails ends the body with an error (the client sees a
//! truncated transfer, never a short file that looks complete) and is logged.

use crate::core::csv::{
    ClickRow, ConversionRow, Pager, Range, Record, CLICK_COLUMNS, CLICK_PAGE_SIZE,
    CONVERSION_COLUMNS, CONVERSION_PAGE_SIZE,
};
use crate::core::error::ApiResult;
use crate::core::ids::{CampaignId, Handle};
use crate::edge::campaigns;
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, text, Db};
use crate::edge::log;
use serde::de::DeserializeOwned;
use worker::{Headers, Request, Response, ResponseBuilder};

const CLICKS_SQL: &str = "SELECT click_id, ts, slug, rule_id, variant_id, country, device, source, referrer_host, \
     segment, bot, bot_reason FROM clicks \
     WHERE handle = ?1 AND campaign_id = ?2 AND ts >= ?3 AND ts < ?4 AND (ts > ?3 OR click_id > ?5) \
     ORDER BY ts, click_id LIMIT ?6";

const CONVERSIONS_SQL: &str = "SELECT conversion_id, occurred_at, created_at, click_id, slug, rule_id, country, device, \
     source, segment, event_type, value_cents, currency, order_id, test, metadata_json FROM conversions \
     WHERE handle = ?1 AND campaign_id = ?2 AND created_at >= ?3 AND created_at < ?4 \
     AND (created_at > ?3 OR conversion_id > ?5) \
     ORDER BY created_at, conversion_id LIMIT ?6";

/// `clicks.csv`: the per-click ledger (`DIRECT` links; `AGGREGATE_ONLY`
/// links keep no click rows), by click time.
pub async fn clicks(ctx: &Ctx, req: &Request, h: Handle, id: CampaignId) -> ApiResult<Response> {
    let range = range(req)?;
    let c = campaigns::find(ctx, &h, id.as_str()).await?;
    let ledger = Ledger {
        db: ctx.db.clone(),
        sql: CLICKS_SQL,
        handle: h.as_str().to_string(),
        campaign: c.campaign_id,
        range,
    };
    let pager = Pager::new(CLICK_PAGE_SIZE, &CLICK_COLUMNS);
    export::<ClickRow>(ledger, pager, &format!("{id}-clicks.csv")).await
}

/// `conversions.csv`: live and test conversions, by the time they were
/// recorded (`createdAt`, which `from`/`to` filter on).
pub async fn conversions(
    ctx: &Ctx,
    req: &Request,
    h: Handle,
    id: CampaignId,
) -> ApiResult<Response> {
    let range = range(req)?;
    let c = campaigns::find(ctx, &h, id.as_str()).await?;
    let ledger = Ledger {
        db: ctx.db.clone(),
        sql: CONVERSIONS_SQL,
        handle: h.as_str().to_string(),
        campaign: c.campaign_id,
        range,
    };
    let pager = Pager::new(CONVERSION_PAGE_SIZE, &CONVERSION_COLUMNS);
    export::<ConversionRow>(ledger, pager, &format!("{id}-conversions.csv")).await
}

fn range(req: &Request) -> ApiResult<Range> {
    let url = req.url()?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    Range::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// One campaign's ledger table, read a page at a time.
struct Ledger {
    db: Db,
    sql: &'static str,
    handle: String,
    campaign: String,
    range: Range,
}

impl Ledger {
    async fn page<R: DeserializeOwned>(&self, pager: &Pager) -> ApiResult<Vec<R>> {
        let (lower, cursor) = pager.next_bounds(&self.range);
        self.db
            .all::<R>(
                self.sql,
                &[
                    text(&self.handle),
                    text(&self.campaign),
                    int(lower),
                    int(self.range.to),
                    text(cursor),
                    int(pager.page_size() as i64),
                ],
            )
            .await
    }
}

/// The streamed response: the first page now, every further one when the
/// client has taken the previous.
async fn export<R: Record + DeserializeOwned + 'static>(
    ledger: Ledger,
    mut pager: Pager,
    filename: &str,
) -> ApiResult<Response> {
    let first = ledger.page::<R>(&pager).await?;
    let pending = Some(pager.page(first));
    let body = futures_util::stream::unfold(
        (ledger, pager, pending),
        |(ledger, mut pager, mut pending)| async move {
            loop {
                if let Some(chunk) = pending.take().filter(|c| !c.is_empty()) {
                    return Some((Ok(chunk.into_bytes()), (ledger, pager, None)));
                }
                if pager.done() {
                    return None;
                }
                match ledger.page::<R>(&pager).await {
                    Ok(rows) => pending = Some(pager.page(rows)),
                    Err(e) => {
                        log::event(
                            "export_page_failed",
                            &format!("{}/{}: {e:?}", ledger.handle, ledger.campaign),
                        );
                        pager.finish();
                        let err = worker::Error::RustError("export interrupted".into());
                        return Some((Err(err), (ledger, pager, None)));
                    }
                }
            }
        },
    );
    let headers = Headers::new();
    headers.set("content-type", "text/csv; charset=utf-8")?;
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{filename}\""),
    )?;
    headers.set("cache-control", "no-store")?;
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .from_stream(body)?)
}
