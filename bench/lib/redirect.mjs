// Section 1: redirect throughput and latency, edge-funnel vs a trivial fixed-302
// Worker, same load generator, warm-up first, runs alternated A/B/A/B.
import { client, seedCampaign, waitSettled, funnel, HANDLE } from './app.mjs';
import { tmpdir } from 'node:os';
import { UA, freePort, log, median } from './env.mjs';
import { profileWhile } from './profile.mjs';
import { STATE_ROOT, startDirect, startWranglerDev, errorLines } from './serve.mjs';
import { wrk } from './wrk.mjs';

const CAMPAIGN = 'spring';
const SLUG = 'spring';
/** The visitor: desktop Chrome from an email campaign (matches the third rule). */
export const VISITOR_QUERY = '?utm_source=email';
export const EXPECTED_LOCATION = /^https:\/\/shop\.example\.com\/desktop\?utm_source=email&ctx=clk_[a-z2-7]{24}$/;
const HEADERS = {
  'User-Agent': UA.chromeDesktop,
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language': 'en-US,en;q=0.9',
};

async function oneClick(url) {
  const r = await fetch(url, { redirect: 'manual', headers: HEADERS });
  await r.arrayBuffer();
  return { status: r.status, location: r.headers.get('location') };
}

/** Starts edge-funnel (seeded) and the trivial Worker for one serving mode. */
export async function startPair(mode, ws, secret, { withAssetsVariant = false } = {}) {
  const vars = { JWT_SECRET: secret };
  const starts = [];
  if (mode === 'direct') {
    // The Worker alone, as the trivial one is served (see README: the static-assets
    // router Miniflare puts in front is measured separately, as a variant).
    starts.push(startDirect(ws.app, { vars, migrations: true, readyPath: '/healthz', assets: false }));
    starts.push(startDirect(ws.trivial, {}));
    if (withAssetsVariant) starts.push(startDirect(ws.app, { vars, migrations: true, readyPath: '/healthz', assets: true }));
  } else {
    starts.push(startWranglerDev(ws.app.projectDir, { vars, migrations: true, readyPath: '/healthz' }));
    starts.push(startWranglerDev(ws.trivial.projectDir, {}));
  }
  const settled = await Promise.allSettled(starts);
  const servers = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  const [ours, trivial, oursAssets] = servers;
  const variants = [];
  for (const [name, server] of [['edge-funnel', ours], ['edge-funnel + assets router', oursAssets]]) {
    if (!server) continue;
    const c = client(server.base, secret);
    const path = await seedCampaign(c, { campaignId: CAMPAIGN, slug: SLUG });
    const url = server.base + path + VISITOR_QUERY;
    const first = await oneClick(url);
    if (first.status !== 302 || !EXPECTED_LOCATION.test(first.location ?? '')) {
      throw new Error(`${name} (${mode}): expected a 302 to the third rule's variant, got ${first.status} ${first.location}`);
    }
    variants.push({ name, server, url, client: c, tracked: true });
  }
  variants.splice(1, 0, { name: 'trivial', server: trivial, url: `${trivial.base}/${HANDLE}/${SLUG}${VISITOR_QUERY}`, tracked: false });
  const t = await oneClick(variants[1].url);
  if (t.status !== 302) throw new Error(`trivial worker answered ${t.status}`);
  return { servers, variants };
}

/**
 * Runs the A/B(/C) alternation for one mode. Returns
 * { mode, variants: [{ name, runs: [...], rps, p50, p99, recorded, errors }] }.
 */
export async function redirectMode(mode, ws, secret, cfg, started) {
  log(`redirect (${mode}): starting servers`);
  const { servers, variants } = await (started ?? startPair(mode, ws, secret, { withAssetsVariant: mode === 'direct' && cfg.assetsVariant }));
  try {
    const load = { seconds: cfg.seconds, connections: cfg.connections, threads: cfg.threads, headers: HEADERS };
    if (cfg.warmupSeconds > 0) {
      for (const v of variants) {
        log(`redirect (${mode}): warm-up ${v.name} ${cfg.warmupSeconds} s`);
        await wrk(v.url, { ...load, seconds: cfg.warmupSeconds });
        if (v.tracked) await waitSettled(v.client, CAMPAIGN, { quietMs: 1500 });
      }
    }
    for (const v of variants) {
      v.runs = [];
      v.errors = 0;
      v.sent = 0;
      v.recordedDelta = 0;
    }
    for (let i = 0; i < cfg.runs; i++) {
      for (const v of variants) {
        const since = Date.now();
        const before = v.tracked ? (await funnel(v.client, CAMPAIGN)).clicks : 0;
        const cpu0 = v.server.cpu();
        const r = await wrk(v.url, load);
        let drainMs = 0;
        if (v.tracked) {
          // Let the click backlog (waitUntil work) drain before the next run, so
          // each run starts idle and no run pays for another's clicks.
          const s = await waitSettled(v.client, CAMPAIGN, { quietMs: 1500 });
          drainMs = s.settledAfterMs;
          v.recordedDelta += s.clicks - before;
          v.sent += r.requests - r.non2xx3xx;
        }
        // workerd CPU from the start of the run until its clicks were recorded.
        const cpuMs = ((v.server.cpu() - cpu0) * 1000) / Math.max(1, r.requests);
        const errs = r.non2xx3xx + r.socketErrors + (v.server.mode === 'direct' ? errorLines(v.server, since).length : 0);
        v.errors += errs;
        v.runs.push({ rps: r.rps, p50: r.p50, p90: r.p90, p99: r.p99, requests: r.requests, errors: errs, drainMs, cpuMs });
        log(`redirect (${mode}) run ${i + 1}/${cfg.runs} ${v.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${errs ? `, ${errs} errors` : ''}${v.tracked ? `, backlog drained in ${(drainMs / 1000).toFixed(1)} s` : ''}`);
      }
    }
    for (const v of variants) {
      v.rps = median(v.runs.map((r) => r.rps));
      v.p50 = median(v.runs.map((r) => r.p50));
      v.p99 = median(v.runs.map((r) => r.p99));
      v.cpuMs = median(v.runs.map((r) => r.cpuMs));
    }
    let breakdown;
    if (mode === 'direct' && cfg.breakdownSeconds > 0) breakdown = await whereTheTimeGoes(ws, secret, variants[0], variants[1], cfg);
    return {
      mode,
      variants: variants.map(({ name, runs, rps, p50, p99, cpuMs, errors, sent, recordedDelta, tracked }) => ({
        name, runs, rps, p50, p99, cpuMs, errors, tracked, sent, recordedDelta,
      })),
      breakdown,
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/**
 * One run per request kind on the same direct server, to split the cost of a
 * tracked, personalized redirect into its layers; then the same redirect with
 * local state on disk, and a CPU profile of it (information, not targets).
 */
async function whereTheTimeGoes(ws, secret, ours, trivial, cfg) {
  const c = ours.client;
  const H = `/v2/handles/${HANDLE}`;
  await c.must('untracked link', c.api('PUT', `${H}/links/plain`, { destinationUrl: 'https://shop.example.com/plain' }));
  await c.must('draft campaign', c.api('POST', `${H}/campaigns`, { campaignId: 'draft', goalType: 'PRODUCT_SALE', status: 'DRAFT' }));
  await c.must('draft link', c.api('PUT', `${H}/links/draft`, {
    destinationUrl: 'https://shop.example.com/spring', campaignId: 'draft', trackingPolicy: { appendContextParam: true },
  }));
  // A tracked campaign the rules never name (they are still evaluated).
  await seedCampaign(c, { campaignId: 'norules', slug: 'norules', rules: false });
  // The same kind of tracked link, in a RUNNING 50/50 experiment: every
  // cookie-less visitor is drawn (Web Crypto) and pinned with a Set-Cookie.
  await seedCampaign(c, { campaignId: 'exp', slug: 'exp', rules: false });
  await c.must('experiment', c.api('PUT', `${H}/experiments/bench-exp`, {
    slug: 'exp',
    status: 'RUNNING',
    variants: [
      { id: 'a', destinationUrl: 'https://shop.example.com/a', weight: 50 },
      { id: 'b', destinationUrl: 'https://shop.example.com/b', weight: 50 },
    ],
  }));
  const base = ours.server.base;
  const load = { seconds: cfg.breakdownSeconds, connections: cfg.connections, threads: cfg.threads, headers: HEADERS };
  // The trivial Worker again, reading `request.cf.country` once (as a tracked
  // redirect must): what that runtime call alone costs.
  const trivialCf = await startDirect(ws.trivialCf, { assets: false });
  const kinds = [
    ['trivial JS Worker (fixed 302)', trivial.url],
    ['trivial JS Worker + one `request.cf` read', `${trivialCf.base}/${HANDLE}/${SLUG}${VISITOR_QUERY}`, trivialCf],
    ['GET /healthz (the async Rust `fetch` path: routing, JSON, no storage)', `${base}/healthz`],
    ['untracked link (sync fast path: cache + `request.cf` (country rules) + decide + 302)', `${base}/${HANDLE}/plain${VISITOR_QUERY}`],
    ['DRAFT-campaign link (+ click id, nothing recorded)', `${base}/${HANDLE}/draft${VISITOR_QUERY}`],
    ['tracked link (+ batched D1 insert + rollup DO, after the response)', `${base}/${HANDLE}/norules${VISITOR_QUERY}`],
    ['tracked link in a RUNNING 50/50 experiment (+ draw, Set-Cookie, per-variant rows)', `${base}/${HANDLE}/exp${VISITOR_QUERY}`],
    ['tracked link + 3 rules (the benchmark)', ours.url],
  ];
  const rows = [];
  for (const [i, [what, url, own]] of kinds.entries()) {
    const server = own ?? (i === 0 ? trivial.server : ours.server);
    const cpu0 = server.cpu();
    const r = await wrk(url, load);
    for (const id of [CAMPAIGN, 'norules', 'exp']) await waitSettled(c, id, { quietMs: 1500 });
    const cpuMs = ((server.cpu() - cpu0) * 1000) / Math.max(1, r.requests);
    rows.push({ what, rps: r.rps, p50: r.p50, p99: r.p99, cpuMs, errors: r.non2xx3xx + r.socketErrors });
    log(`breakdown: ${what}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms`);
  }
  await trivialCf.stop();

  // The same redirect with the local D1/DO state on the VM's disk.
  if (STATE_ROOT !== tmpdir()) {
    const disk = await startDirect(ws.app, { vars: { JWT_SECRET: secret }, migrations: true, readyPath: '/healthz', assets: false, stateRoot: tmpdir() });
    try {
      const dc = client(disk.base, secret);
      const url = disk.base + (await seedCampaign(dc, { campaignId: CAMPAIGN, slug: SLUG })) + VISITOR_QUERY;
      await wrk(url, { ...load, seconds: 2 });
      await waitSettled(dc, CAMPAIGN, { quietMs: 1500 });
      const cpu0 = disk.cpu();
      const r = await wrk(url, load);
      await waitSettled(dc, CAMPAIGN, { quietMs: 1500 });
      const cpuMs = ((disk.cpu() - cpu0) * 1000) / Math.max(1, r.requests);
      rows.push({ what: `same, local D1/DO state on disk (${tmpdir()}) instead of ${STATE_ROOT}`, rps: r.rps, p50: r.p50, p99: r.p99, cpuMs, errors: r.non2xx3xx + r.socketErrors });
      log(`breakdown: state on disk: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms`);
    } finally {
      await disk.stop();
    }
  }

  // CPU profiles (inspector on a separate instance): the benchmark redirect,
  // and an untracked one (what a redirect costs without recording).
  const profiles = [];
  const inspectorPort = await freePort();
  const prof = await startDirect(ws.app, { vars: { JWT_SECRET: secret }, migrations: true, readyPath: '/healthz', assets: false, inspectorPort });
  try {
    const pc = client(prof.base, secret);
    const tracked = prof.base + (await seedCampaign(pc, { campaignId: CAMPAIGN, slug: SLUG })) + VISITOR_QUERY;
    await pc.must('untracked link', pc.api('PUT', `${H}/links/plain`, { destinationUrl: 'https://shop.example.com/plain' }));
    const untracked = `${prof.base}/${HANDLE}/plain${VISITOR_QUERY}`;
    for (const [what, url] of [['tracked link + 3 rules (the benchmark)', tracked], ['untracked link', untracked]]) {
      await wrk(url, { ...load, seconds: 2 });
      await waitSettled(pc, CAMPAIGN, { quietMs: 1500 });
      const p = await profileWhile(inspectorPort, async () => {
        const r = await wrk(url, load);
        await waitSettled(pc, CAMPAIGN, { quietMs: 1000 });
        return r;
      });
      p.what = what;
      p.requests = p.load.requests;
      profiles.push(p);
      log(`breakdown: profiled ${p.requests} redirects (${what})`);
    }
  } catch (e) {
    profiles.push({ error: e.message });
  } finally {
    await prof.stop();
  }
  return { rows, profiles };
}
