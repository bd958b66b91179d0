// Section 6: the "numbers that show their state" routes at scale.
//  6a CSV export (`GET …/campaigns/{id}/clicks.csv`) of a small and a big
//     campaign: time, bytes, rows (checked against the ledger), and the workerd
//     process's peak resident memory during the export vs before it.
//  6b health check (`GET …/campaigns/{id}/health`, whose rollup_consistency
//     check counts the ledger through covering indexes) at few vs many clicks.
//
// Seeding: real redirects (wrk + clicks.lua, the funnel section's visitor mix)
// record `templateClicks` ledger rows per campaign; the rest of the ledger is
// copies of those rows written straight into D1 (through Miniflare's DB binding)
// with fresh click ids and times spread over the previous 30 days, so 200,000
// clicks take seconds instead of the ~20 min real redirects would. The rollup
// is then rebuilt from the ledger (`POST …/rollup/rebuild`), so the health
// check compares like with like and should say PASS.
import { readFileSync, writeFileSync } from 'node:fs';
import { HANDLE, client, seedCampaign, waitSettled } from './app.mjs';
import { log, median, percentile, sleep } from './env.mjs';
import { errorLines, startDirect } from './serve.mjs';
import { sendClicks } from './wrk.mjs';

export const startTrustServer = (ws, secret) =>
  startDirect(ws.app, { vars: { JWT_SECRET: secret }, migrations: true, readyPath: '/healthz', assets: false });

/** VmRSS (or another `Vm…` field) of `pid` in KiB, NaN when unreadable. */
export function statusKiB(pid, field = 'VmRSS') {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Samples VmRSS every `everyMs` until stop(); returns { peakKiB, samples }. */
function rssSampler(pid, everyMs = 50) {
  let peak = statusKiB(pid);
  let samples = 1;
  const timer = setInterval(() => {
    const v = statusKiB(pid);
    samples++;
    if (v > peak) peak = v;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const v = statusKiB(pid);
      if (v > peak) peak = v;
      return { peakKiB: peak, samples };
    },
  };
}

/** Resets the kernel's peak-RSS counter (VmHWM) of `pid`; false when not allowed. */
function resetHwm(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function ledgerCount(db, campaignId) {
  const r = await db.prepare('SELECT count(*) AS n FROM clicks WHERE handle = ? AND campaign_id = ?').bind(HANDLE, campaignId).first();
  return r.n;
}

/**
 * Grows the campaign's ledger to `target` rows by copying its existing rows
 * (cycling through them) with new click ids, in chunks of one statement each.
 */
async function fillLedger(db, campaignId, target) {
  const ids = (await db.prepare('SELECT click_id FROM clicks WHERE handle = ? AND campaign_id = ? ORDER BY click_id').bind(HANDLE, campaignId).all()).results.map((r) => r.click_id);
  if (!ids.length) throw new Error(`${campaignId}: no template rows in the ledger`);
  const CHUNK = 25_000;
  for (let done = ids.length; done < target; ) {
    const n = Math.min(CHUNK, target - done);
    // Row k (0-based, k = done + i) copies template k mod templates, 13 s
    // earlier per row: 200,000 rows span ~30 days.
    await db
      .prepare(
        `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?1),
         t AS MATERIALIZED (SELECT row_number() OVER (ORDER BY c.click_id) - 1 AS k, c.* FROM clicks c
               JOIN json_each(?2) j ON c.click_id = j.value)
         INSERT INTO clicks (click_id, handle, slug, campaign_id, rule_id, variant_id, country, device, source,
                             referrer_host, segment, bot, bot_reason, ts, visitor)
         SELECT 'clk_' || lower(hex(randomblob(12))), t.handle, t.slug, t.campaign_id, t.rule_id, t.variant_id, t.country,
                t.device, t.source, t.referrer_host, t.segment, t.bot, t.bot_reason, t.ts - (?3 + seq.i) * 13000, t.visitor
         FROM seq JOIN t ON t.k = (?3 + seq.i) % ?4`,
      )
      .bind(n, JSON.stringify(ids), done, ids.length)
      .run();
    done += n;
  }
  return { templates: ids.length, rows: await ledgerCount(db, campaignId) };
}

async function seed(server, c, s, cfg) {
  const path = await seedCampaign(c, { campaignId: s.id, slug: s.id, rules: false });
  const templates = Math.min(cfg.trustTemplateClicks, s.clicks);
  const sent = await sendClicks(server.base, path, templates, { connections: Math.min(cfg.connections, templates), threads: cfg.threads });
  await waitSettled(c, s.id, { quietMs: 1500 });
  const db = await server.d1();
  // The ledger is written by the isolate's 200 ms batches: wait until it holds the redirects.
  for (let i = 0; i < 100 && (await ledgerCount(db, s.id)) < sent.got302; i++) await sleep(100);
  const t0 = Date.now();
  const filled = await fillLedger(db, s.id, s.clicks);
  const fillSeconds = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  const rb = await c.api('POST', `/v2/handles/${HANDLE}/campaigns/${s.id}/rollup/rebuild`);
  if (rb.status !== 200) throw new Error(`rebuild ${s.id}: HTTP ${rb.status} ${rb.text.slice(0, 300)}`);
  Object.assign(s, {
    redirects: sent.got302,
    templates: filled.templates,
    ledger: filled.rows,
    fillSeconds,
    rebuildSeconds: (Date.now() - t1) / 1000,
    rebuilt: rb.body?.rebuilt?.clicks,
  });
  log(`trust: ${s.id}: ${s.ledger} ledger rows (${s.templates} from real redirects, rest copied in ${fillSeconds.toFixed(1)} s), rollup rebuilt in ${s.rebuildSeconds.toFixed(1)} s`);
}

/** One export, streamed and counted; the workerd process's RSS sampled meanwhile. */
async function exportOnce(server, c, s) {
  const pid = server.pid;
  global.gc?.();
  await sleep(500);
  const rssBefore = pid ? statusKiB(pid) : NaN;
  const hwmReset = pid ? resetHwm(pid) : false;
  const sampler = pid ? rssSampler(pid) : undefined;
  const t0 = performance.now();
  const r = await fetch(`${server.base}/v2/handles/${HANDLE}/campaigns/${s.id}/clicks.csv`, {
    headers: { authorization: `Bearer ${c.token}` },
  });
  let ttfbMs;
  let bytes = 0;
  let lines = 0;
  let lastByte = -1;
  let prevCR = false;
  if (r.status !== 200) throw new Error(`export ${s.id}: HTTP ${r.status} ${await r.text()}`);
  for await (const chunk of r.body) {
    ttfbMs ??= performance.now() - t0;
    bytes += chunk.length;
    // Records end in CRLF; the seeded fields never contain CR or LF, so every
    // CRLF ends a record (a quoted field with a line break would be miscounted).
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 10 && prevCR) lines++;
      prevCR = b === 13;
    }
    lastByte = chunk[chunk.length - 1];
  }
  const totalMs = performance.now() - t0;
  const mem = sampler?.stop() ?? { peakKiB: NaN, samples: 0 };
  const hwm = hwmReset ? statusKiB(pid, 'VmHWM') : NaN;
  const rows = lines - 1; // the header
  if (lastByte !== 10) throw new Error(`export ${s.id}: body does not end with CRLF (truncated?)`);
  return { totalMs, ttfbMs, bytes, rows, rssBeforeKiB: rssBefore, peakKiB: mem.peakKiB, samples: mem.samples, hwmKiB: hwm };
}

async function healthOnce(c, s) {
  const t0 = performance.now();
  const r = await c.api('GET', `/v2/handles/${HANDLE}/campaigns/${s.id}/health`);
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`health ${s.id}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  const check = r.body?.checks?.find((k) => k.name === 'rollup_consistency');
  return { ms, consistency: check?.status ?? 'missing', detail: check?.detail };
}

export async function trustSection(ws, secret, cfg, started) {
  const server = await (started ?? startTrustServer(ws, secret));
  try {
    if (!server.pid) log('trust: workerd pid not found: memory is not reported');
    const c = client(server.base, secret);
    const sizes = [
      { id: 'trust-few', clicks: cfg.trustSmallClicks },
      { id: 'trust-many', clicks: cfg.trustBigClicks },
    ];
    for (const s of sizes) await seed(server, c, s, cfg);

    // 6a: exports, alternating few/many, `exportRuns` each.
    for (const s of sizes) s.exports = [];
    for (let run = 0; run < cfg.trustExportRuns; run++) {
      for (const s of sizes) {
        const e = await exportOnce(server, c, s);
        s.exports.push(e);
        log(`trust: export ${s.id} #${run + 1}: ${e.rows} rows, ${e.bytes} bytes in ${e.totalMs.toFixed(0)} ms; RSS ${e.rssBeforeKiB} → peak ${e.peakKiB} KiB (${e.samples} samples)`);
        if (e.rows !== s.ledger) throw new Error(`export ${s.id}: ${e.rows} rows for ${s.ledger} ledger rows`);
      }
    }

    // 6b: health, warm-up then alternating few/many.
    for (let i = 0; i < cfg.trustHealthWarmup; i++) for (const s of sizes) await healthOnce(c, s);
    for (const s of sizes) s.health = [];
    for (let i = 0; i < cfg.trustHealthReads; i++) for (const s of sizes) s.health.push(await healthOnce(c, s));
    for (const s of sizes) {
      const ms = s.health.map((h) => h.ms);
      s.healthP50 = median(ms);
      s.healthP90 = percentile(ms, 90);
      s.consistency = [...new Set(s.health.map((h) => h.consistency))].join('/');
      s.consistencyDetail = s.health.at(-1)?.detail;
      log(`trust: health ${s.id}: p50 ${s.healthP50.toFixed(2)} ms, rollup_consistency ${s.consistency}`);
    }
    return {
      sizes,
      healthReads: cfg.trustHealthReads,
      healthRatio: sizes[1].healthP50 / sizes[0].healthP50,
      workerErrors: errorLines(server).length,
      pid: server.pid,
      process: server.pid ? readFileSync(`/proc/${server.pid}/comm`, 'utf8').trim() : undefined,
    };
  } finally {
    await server.stop();
  }
}
