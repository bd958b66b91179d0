// Section 3: funnel read latency with few vs many recorded clicks.
// Clicks are generated through real redirects (wrk + clicks.lua, a visitor mix
// so breakdown rows exist), the rollup is left to settle, then the funnel is
// read sequentially, alternating between the two campaigns.
import { client, seedCampaign, waitSettled, HANDLE } from './app.mjs';
import { log, median, percentile } from './env.mjs';
import { startDirect, errorLines } from './serve.mjs';
import { sendClicks } from './wrk.mjs';

async function readLatencies(c, campaigns, reads) {
  const lat = Object.fromEntries(campaigns.map((id) => [id, []]));
  for (let i = 0; i < reads; i++) {
    for (const id of campaigns) {
      const t0 = performance.now();
      const r = await c.api('GET', `/v2/handles/${HANDLE}/analytics?funnel=true&campaignId=${id}`);
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`funnel ${id}: HTTP ${r.status} ${r.text}`);
      lat[id].push(ms);
    }
  }
  return lat;
}

export const startFunnelServer = (ws, secret) =>
  startDirect(ws.app, { vars: { JWT_SECRET: secret }, migrations: true, readyPath: '/healthz', assets: false });

export async function funnelSection(ws, secret, cfg, started) {
  const server = await (started ?? startFunnelServer(ws, secret));
  try {
    const c = client(server.base, secret);
    const sizes = [
      { id: 'few', clicks: cfg.smallClicks },
      { id: 'many', clicks: cfg.bigClicks },
    ];
    for (const s of sizes) {
      const path = await seedCampaign(c, { campaignId: s.id, slug: s.id });
      const t0 = Date.now();
      let lastLog = 0;
      const sent = await sendClicks(server.base, path, s.clicks, {
        connections: cfg.connections,
        threads: cfg.threads,
        onChunk: ({ got302, other, n }) => {
          if (Date.now() - lastLog > 15_000 || got302 + other >= n) {
            lastLog = Date.now();
            const rate = got302 / ((Date.now() - t0) / 1000);
            const eta = rate > 0 ? Math.round((n - got302 - other) / rate) : '?';
            log(`funnel: ${s.id}: ${got302}/${n} clicks sent (${rate.toFixed(0)}/s, ~${eta} s left)`);
          }
        },
      });
      const settled = await waitSettled(c, s.id, { quietMs: 3000 });
      Object.assign(s, {
        sent302: sent.got302,
        otherResponses: sent.other,
        // Requests still in flight when a wrk chunk ended may be recorded uncounted.
        inFlightSlack: cfg.connections * Math.max(0, sent.chunks - 1),
        generateSeconds: sent.seconds,
        recorded: settled.clicks,
        settleSeconds: settled.settledAfterMs / 1000,
        breakdownRows: Object.values(settled.funnel.breakdown ?? {}).reduce((a, rows) => a + rows.length, 0),
      });
      log(`funnel: ${s.id}: ${s.recorded} clicks recorded of ${s.sent302} redirects (settled ${s.settleSeconds.toFixed(1)} s after the last)`);
    }
    const ids = sizes.map((s) => s.id);
    await readLatencies(c, ids, cfg.funnelWarmup);
    const lat = await readLatencies(c, ids, cfg.funnelReads);
    for (const s of sizes) {
      s.p50 = median(lat[s.id]);
      s.p99 = percentile(lat[s.id], 99);
    }
    return {
      sizes,
      reads: cfg.funnelReads,
      ratio: sizes[1].p50 / sizes[0].p50,
      workerErrors: errorLines(server).length,
    };
  } finally {
    await server.stop();
  }
}
