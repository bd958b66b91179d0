// Section 1: redirect throughput and latency, edge-funnel vs a trivial fixed-302
// Worker, same load generator, warm-up first, runs alternated A/B/A/B.
import { client, seedCampaign, waitSettled, funnel, HANDLE } from './app.mjs';
import { tmpdir } from 'node:os';
import { UA, freePort, log, median, sleep } from './env.mjs';
import { profileWhile } from './profile.mjs';
import { STATE_ROOT, startDirect, startWranglerDev, errorLines } from './serve.mjs';
import { wrk } from './wrk.mjs';

export const ENTRY_VARIANT = 'edge-funnel via Miniflare\'s entry worker + assets router (extra row, not a target)';
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
    // The labelled extra row: the Worker as `wrangler.toml` configures it, behind
    // Miniflare's entry worker and its static-assets router (not production's path).
    if (withAssetsVariant) starts.push(startDirect(ws.app, { vars, migrations: true, readyPath: '/healthz', assets: true, directSocket: false }));
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
  for (const [name, server] of [['edge-funnel', ours], [ENTRY_VARIANT, oursAssets]]) {
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

/** Two rules with the pattern conditions, ahead of the benchmark's three; neither fires for the visitor. */
export const PATTERN_RULES = [
  {
    ruleId: 'ua-mobile-pattern',
    priority: 500,
    when: { userAgentMatches: '(?i)(iphone|ipad|android).*mobile' },
    variant: { id: 'ua-mobile', destinationUrl: 'https://m.shop.example.com/pattern' },
  },
  {
    ruleId: 'social-referrer',
    priority: 400,
    when: { referrerMatches: '^https://(www\\.)?(facebook\\.com|t\\.co|instagram\\.com)/' },
    variant: { id: 'social', destinationUrl: 'https://shop.example.com/social' },
  },
];
export const PASSWORD = 'bench pass';

/** A DRAFT campaign's link `/{HANDLE}/draft` (the decision, no click id, nothing recorded). */
async function seedDraft(c) {
  const H = `/v2/handles/${HANDLE}`;
  await c.must('draft campaign', c.api('POST', `${H}/campaigns`, { campaignId: 'draft', goalType: 'PRODUCT_SALE', status: 'DRAFT' }));
  await c.must('draft link', c.api('PUT', `${H}/links/draft`, {
    destinationUrl: 'https://shop.example.com/spring', campaignId: 'draft', trackingPolicy: { appendContextParam: true },
  }));
}
export const STUB_ROW = 'tracked link without rules, recording into a stand-in rollup object that answers at once (no D1 write, no rollup work; nothing recorded; own server)';
export const DRAFT_ROW = 'DRAFT-campaign link (no click id, nothing recorded)';
export const STUB_DRAFT_ROW = 'DRAFT-campaign link on the stand-in server (the next row\'s decision without recording)';

/**
 * The direct-socket rows (1c): each request kind against the fixed-302 Worker,
 * in alternating rounds (every kind once per round, `cfg.runs` rounds), medians
 * of req/s and workerd CPU per request; then the same redirect with local state
 * on disk and a CPU profile (information, not targets; both skipped in --smoke).
 */
async function whereTheTimeGoes(ws, secret, ours, trivial, cfg) {
  const c = ours.client;
  const H = `/v2/handles/${HANDLE}`;
  await c.must('untracked link', c.api('PUT', `${H}/links/plain`, { destinationUrl: 'https://shop.example.com/plain' }));
  await seedDraft(c);
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
  // The same kind of tracked link behind a password, measured as the form's POST
  // with the right password (the PBKDF2 check, 100,000 iterations, then the 302).
  await seedCampaign(c, { campaignId: 'pwlink', slug: 'pw', rules: false });
  await c.must('password link', c.api('PUT', `${H}/links/pw`, {
    destinationUrl: 'https://shop.example.com/spring', campaignId: 'pwlink', password: PASSWORD,
    trackingPolicy: { mode: 'DIRECT', appendContextParam: true },
  }));
  const base = ours.server.base;
  const pwTry = await fetch(`${base}/${HANDLE}/pw${VISITOR_QUERY}`, {
    method: 'POST', redirect: 'manual', body: `password=${encodeURIComponent(PASSWORD)}`,
    headers: { ...HEADERS, 'content-type': 'application/x-www-form-urlencoded' },
  });
  await pwTry.arrayBuffer();
  if (pwTry.status !== 302) throw new Error(`password link: the right password answered ${pwTry.status}, not 302`);
  // What the right password set: the unlock cookie, which lets this visitor
  // through for a day (the row "password link after its form").
  const unlock = pwTry.headers.get('set-cookie')?.split(';')[0];
  const pwOpen = await fetch(`${base}/${HANDLE}/pw${VISITOR_QUERY}`, { redirect: 'manual', headers: { ...HEADERS, cookie: unlock ?? '' } });
  await pwOpen.arrayBuffer();
  if (pwOpen.status !== 302) throw new Error(`password link: the unlock cookie (${unlock}) answered ${pwOpen.status}, not 302`);

  // The pattern rules on their own server (rules are per handle: on the main one
  // they would be evaluated by every other row too): the benchmark's campaign,
  // link and 3 rules plus 2 pattern rules evaluated first, none of them fires.
  const pat = await startDirect(ws.app, { vars: { JWT_SECRET: secret }, migrations: true, readyPath: '/healthz', assets: false });
  const patClient = client(pat.base, secret);
  const patUrl = pat.base + (await seedCampaign(patClient, { campaignId: CAMPAIGN, slug: SLUG })) + VISITOR_QUERY;
  for (const { ruleId, ...body } of PATTERN_RULES) {
    await patClient.must(`rule ${ruleId}`, patClient.api('PUT', `${H}/rules/${ruleId}`, { enabled: true, ...body }));
  }
  const patFirst = await oneClick(patUrl);
  if (patFirst.status !== 302 || !EXPECTED_LOCATION.test(patFirst.location ?? '')) {
    await pat.stop();
    throw new Error(`pattern rules: expected the third benchmark rule's 302, got ${patFirst.status} ${patFirst.location}`);
  }

  // What recording costs the Worker itself: the tracked link without rules on a
  // server whose rollup object is a stand-in that answers every call at once
  // (startDirect `stubRollup`): click id, visitor key, click JSON, buffer and the
  // flush call stay; the D1 ledger write and the rollup's work (production runs
  // both outside the Worker's isolate) go. Nothing is recorded on this server.
  const stub = await startDirect(ws.app, { vars: { JWT_SECRET: secret }, migrations: true, readyPath: '/healthz', assets: false, stubRollup: true });
  const stubClient = client(stub.base, secret);
  const stubUrl = stub.base + (await seedCampaign(stubClient, { campaignId: 'norules', slug: 'norules', rules: false })) + VISITOR_QUERY;
  // The same link's decision without recording, on the same server (the
  // subtraction then stays within one workerd process).
  await seedDraft(stubClient);
  const stubFirst = await oneClick(stubUrl);
  if (stubFirst.status !== 302 || !/[?&]ctx=clk_/.test(stubFirst.location ?? '')) {
    await Promise.all([stub.stop(), pat.stop()]);
    throw new Error(`stub recording: expected a tracked 302, got ${stubFirst.status} ${stubFirst.location}`);
  }

  const load = { seconds: cfg.breakdownSeconds, connections: cfg.connections, threads: cfg.threads, headers: HEADERS };
  // The trivial Worker again, reading `request.cf.country` once (as a tracked
  // redirect must): what that runtime call alone costs.
  const trivialCf = await startDirect(ws.trivialCf, { assets: false });
  const settle = (cl, id) => ({ client: cl, id });
  const kinds = [
    { what: 'fixed-302 JS Worker (the reference)', url: trivial.url, server: trivial.server },
    { what: 'fixed 302 + one `request.cf` read', url: `${trivialCf.base}/${HANDLE}/${SLUG}${VISITOR_QUERY}`, server: trivialCf },
    { what: 'GET /healthz (the async Rust `fetch` path: routing, JSON, no storage)', url: `${base}/healthz` },
    { what: 'untracked link (no campaign; the handle\'s 3 rules evaluated, none fires)', url: `${base}/${HANDLE}/plain${VISITOR_QUERY}` },
    { what: DRAFT_ROW, url: `${base}/${HANDLE}/draft${VISITOR_QUERY}` },
    { what: 'tracked link without rules (ACTIVE, DIRECT, context param; D1 + rollup after the response)', url: `${base}/${HANDLE}/norules${VISITOR_QUERY}`, settle: settle(c, 'norules') },
    { what: 'the benchmark redirect (tracked + 3 rules, third fires)', url: ours.url, settle: settle(c, CAMPAIGN), bench: true },
    { what: 'experiment link (tracked, RUNNING, 2 variants: draw + Set-Cookie)', url: `${base}/${HANDLE}/exp${VISITOR_QUERY}`, settle: settle(c, 'exp') },
    { what: 'password link after its form (GET with the unlock cookie the right password set: its HMAC checked, then the tracked 302)', url: `${base}/${HANDLE}/pw${VISITOR_QUERY}`, settle: settle(c, 'pwlink'), headers: { cookie: unlock } },
    { what: 'password link, the form\'s POST with the right password (PBKDF2-SHA256 100,000 iterations, then the tracked 302)', url: `${base}/${HANDLE}/pw${VISITOR_QUERY}`, settle: settle(c, 'pwlink'), script: 'password.lua', env: { BENCH_PASSWORD: encodeURIComponent(PASSWORD) } },
    { what: STUB_DRAFT_ROW, url: `${stub.base}/${HANDLE}/draft${VISITOR_QUERY}`, server: stub },
    { what: STUB_ROW, url: stubUrl, server: stub, pause: 1000 },
    { what: 'pattern rules (userAgentMatches + referrerMatches, none fires) + the benchmark\'s 3 rules, tracked (own server)', url: patUrl, server: pat, settle: settle(patClient, CAMPAIGN) },
  ];
  for (const k of kinds) {
    k.server ??= ours.server;
    k.runs = [];
  }
  try {
    for (let round = 0; round < cfg.runs; round++) {
      for (const k of kinds) {
        const since = Date.now();
        const cpu0 = k.server.cpu();
        const r = await wrk(k.url, { ...load, headers: { ...load.headers, ...k.headers }, script: k.script, env: k.env });
        if (k.settle) await waitSettled(k.settle.client, k.settle.id, { quietMs: 1000 });
        // The stub row records nothing to wait for: a pause covers its last flushes.
        if (k.pause) await sleep(k.pause);
        const cpuMs = ((k.server.cpu() - cpu0) * 1000) / Math.max(1, r.requests);
        const errors = r.non2xx3xx + r.socketErrors + errorLines(k.server, since).length;
        k.runs.push({ rps: r.rps, p50: r.p50, p99: r.p99, cpuMs, errors, requests: r.requests });
        log(`rows round ${round + 1}/${cfg.runs}: ${k.what}: ${r.rps.toFixed(0)} req/s, CPU ${cpuMs.toFixed(3)} ms/req${errors ? `, ${errors} errors` : ''}`);
      }
    }
  } finally {
    await trivialCf.stop();
    await pat.stop();
    await stub.stop();
  }
  const rows = kinds.map((k) => ({
    what: k.what,
    rounds: k.runs.length,
    rps: median(k.runs.map((r) => r.rps)),
    p50: median(k.runs.map((r) => r.p50)),
    p99: median(k.runs.map((r) => r.p99)),
    cpuMs: median(k.runs.map((r) => r.cpuMs)),
    errors: k.runs.reduce((a, r) => a + r.errors, 0),
    runs: k.runs,
    bench: k.bench,
  }));
  if (cfg.smoke) return { rows, profiles: [] };

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
