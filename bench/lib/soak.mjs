// Section 7: soak. One direct-socket server of our bundle under steady mixed
// traffic for BENCH_SOAK_MINUTES: tracked redirects, conversions on click ids
// taken from the redirects' Location `ctx`, and funnel reads, each at a fixed
// rate from a paced Node generator (wrk has no rate limit; wrk2 is not
// installed). Every window: workerd RSS, redirect p50/p99, errors. At the end the
// funnel must count exactly the 302s sent and the 201s received (events lost = 0).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { client, funnel, seedCampaign, HANDLE } from './app.mjs';
import { UA, log, median, percentile, sleep } from './env.mjs';
import { startDirect, errorLines } from './serve.mjs';
import { heapUsage } from './profile.mjs';
import { freePort } from './env.mjs';

/** VmRSS / VmHWM of `pid` in KiB (NaN when unknown). */
function memKiB(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return { rss: NaN, hwm: NaN, anon: NaN, file: NaN, shmem: NaN };
  }
}

/** The workerd process and its descendants (Miniflare spawns one workerd; any child would count too). */
function processTree(pid) {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      const kids = readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, 'utf8').trim();
      if (kids) pids.push(...kids.split(/\s+/).map(Number));
    } catch {}
  }
  return pids;
}

const treeRssKiB = (pid) => processTree(pid).reduce((a, p) => a + memKiB(p).rss, 0);

/**
 * One request on a keep-alive agent; resolves { status, ms, headers, body }
 * (status 0 on a socket error). `ms` is from when the request was sent; `dueMs`
 * from when it was *due* by the schedule (the generator's 5 ms tick and any
 * falling behind, of Node or of the server, show up there).
 */
function request(agent, base, { method = 'GET', path, headers = {}, body }, dueAt) {
  const u = new URL(base);
  const sentAt = performance.now();
  const done = (o) => ({ ...o, ms: performance.now() - sentAt, dueMs: performance.now() - dueAt });
  return new Promise((resolve) => {
    const req = http.request({ agent, host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() })));
      res.on('error', (e) => resolve(done({ status: 0, error: e.message })));
    });
    req.on('error', (e) => resolve(done({ status: 0, error: e.message })));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Calls `fire(dueAt)` `rate` times a second from t0 until `until()` says stop,
 * on a 5 ms tick; requests are started when due (never more than `maxInFlight`
 * at once: beyond that the schedule slips and `late` counts it).
 */
function paced(rate, fire, { maxInFlight, stopAt }) {
  const stats = { issued: 0, late: 0, maxLagMs: 0 };
  const t0 = performance.now();
  let inFlight = 0;
  const pending = new Set();
  return {
    stats,
    done: new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        const end = Math.min(now, stopAt);
        const due = Math.floor(((end - t0) / 1000) * rate);
        while (stats.issued < due) {
          if (inFlight >= maxInFlight) {
            stats.late++;
            break;
          }
          const dueAt = t0 + ((stats.issued + 1) * 1000) / rate; // request k is due at (k+1)/rate
          stats.maxLagMs = Math.max(stats.maxLagMs, now - dueAt);
          stats.issued++;
          inFlight++;
          const p = fire(dueAt).finally(() => {
            inFlight--;
            pending.delete(p);
          });
          pending.add(p);
        }
        if (now >= stopAt && stats.issued >= due) {
          Promise.allSettled([...pending]).then(() => resolve(stats));
          return;
        }
        setTimeout(tick, 5);
      };
      tick();
    }),
  };
}

export async function soakSection(ws, secret, cfg) {
  // The inspector splits the RSS: V8 heap in use per isolate (the Worker's own,
  // `core:user:bench`, vs Miniflare's simulators), sampled every window.
  const inspectorPort = await freePort();
  // DEV_SIGN_IN: `GET /v2/dev/memory`, the Worker isolate's wasm memory, every window.
  const server = await startDirect(ws.app, { vars: { JWT_SECRET: secret, DEV_SIGN_IN: '1' }, migrations: true, readyPath: '/healthz', assets: false, inspectorPort });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const c = client(server.base, secret);
    const campaignId = 'soak';
    const path = await seedCampaign(c, { campaignId, slug: 'soak' });
    const { rates, minutes, windowSeconds, warmupMinutes } = cfg.soak;
    const durationMs = minutes * 60_000;
    const auth = { authorization: `Bearer ${c.token}` };
    const clickIds = [];
    // Per-window accumulators; `cur` is swapped out at every window boundary.
    const fresh = () => ({ redirectMs: [], redirectDueMs: [], r302: 0, c201: 0, reads: 0, readMs: [], errors: 0, firstError: undefined });
    let cur = fresh();
    const totals = { r302: 0, c201: 0, reads: 0, errors: 0, noCtx: 0 };
    const fail = (what) => {
      cur.errors++;
      totals.errors++;
      cur.firstError ??= what;
    };

    const redirect = async (dueAt) => {
      const r = await request(agent, server.base, { path: `${path}?utm_source=email`, headers: { 'user-agent': UA.chromeDesktop } }, dueAt);
      if (r.status !== 302) return fail(`redirect: ${r.status} ${r.error ?? r.body.slice(0, 120)}`);
      cur.r302++;
      totals.r302++;
      cur.redirectMs.push(r.ms);
      cur.redirectDueMs.push(r.dueMs);
      const ctx = new URL(r.headers.location).searchParams.get('ctx');
      if (ctx) clickIds.push(ctx);
      else totals.noCtx++;
      if (clickIds.length > 10_000) clickIds.splice(0, 5_000);
    };
    const convert = async (dueAt) => {
      const clickId = clickIds.pop(); // each click converts at most once
      if (!clickId) return fail('conversion: no click id yet');
      const body = JSON.stringify({ clickId, eventType: 'purchase', value: 12.5, currency: 'USD' });
      const r = await request(agent, server.base, {
        method: 'POST', path: `/v2/handles/${HANDLE}/conversions`, headers: { ...auth, 'content-type': 'application/json' }, body,
      }, dueAt);
      if (r.status !== 201) return fail(`conversion: ${r.status} ${r.error ?? r.body.slice(0, 120)}`);
      cur.c201++;
      totals.c201++;
    };
    const read = async (dueAt) => {
      const r = await request(agent, server.base, { path: `/v2/handles/${HANDLE}/analytics?funnel=true&campaignId=${campaignId}`, headers: auth }, dueAt);
      if (r.status !== 200) return fail(`funnel read: ${r.status} ${r.error ?? r.body.slice(0, 120)}`);
      cur.reads++;
      totals.reads++;
      cur.readMs.push(r.ms);
    };

    const windows = [];
    const tStart = performance.now();
    const stopAt = tStart + durationMs;
    let cpu0 = server.cpu();
    let logSince = Date.now();
    const mem0 = treeRssKiB(server.pid);
    log(`soak: ${minutes} min of ${rates.redirects} redirects/s, ${rates.conversions} conversions/s, ${rates.reads} funnel reads/s; workerd pid ${server.pid} RSS ${(mem0 / 1024).toFixed(1)} MiB`);
    const gens = [
      paced(rates.redirects, redirect, { maxInFlight: 64, stopAt }),
      paced(rates.conversions, convert, { maxInFlight: 8, stopAt }),
      paced(rates.reads, read, { maxInFlight: 4, stopAt }),
    ];
    const heaps = [];
    const wasm = [];
    const closeWindow = () => {
      const w = cur;
      const at = windows.length;
      heapUsage(inspectorPort).then((h) => { heaps[at] = h; }, () => {});
      fetch(`${server.base}/v2/dev/memory`).then((r) => r.json()).then((b) => { wasm[at] = b.wasmMemoryBytes; }, () => {});
      cur = fresh();
      const cpu = server.cpu();
      const lines = errorLines(server, logSince);
      logSince = Date.now();
      const row = {
        minute: (performance.now() - tStart) / 60_000,
        rssKiB: treeRssKiB(server.pid),
        hwmKiB: memKiB(server.pid).hwm,
        // The split of the workerd process's RSS: anonymous (heaps: V8, SQLite's cache,
        // workerd) vs file/shmem-backed pages (e.g. the local state's files in /dev/shm).
        anonKiB: memKiB(server.pid).anon,
        fileKiB: memKiB(server.pid).file,
        shmemKiB: memKiB(server.pid).shmem,
        redirects: w.r302,
        conversions: w.c201,
        reads: w.reads,
        p50: median(w.redirectMs),
        p99: percentile(w.redirectMs, 99),
        dueP50: median(w.redirectDueMs),
        readP50: median(w.readMs),
        cpuPct: ((cpu - cpu0) / windowSeconds) * 100,
        errors: w.errors + lines.length,
        firstError: w.firstError ?? lines[0]?.message?.slice(0, 160),
      };
      cpu0 = cpu;
      windows.push(row);
      log(`soak: ${row.minute.toFixed(1)} min: RSS ${(row.rssKiB / 1024).toFixed(1)} MiB, ${row.redirects} 302s (p50 ${row.p50.toFixed(2)} ms, from due ${row.dueP50.toFixed(2)} ms, p99 ${row.p99.toFixed(1)} ms), ${row.conversions} conversions, ${row.reads} reads, workerd CPU ${row.cpuPct.toFixed(0)} %, ${row.errors} errors`);
    };
    const timer = setInterval(closeWindow, windowSeconds * 1000);
    const stats = await Promise.all(gens.map((g) => g.done));
    clearInterval(timer);
    if (cur.r302 + cur.c201 + cur.reads + cur.errors > 0 && windows.length < Math.ceil(durationMs / 1000 / windowSeconds)) closeWindow();

    // Settle: the funnel must reach exactly the 302s and 201s (or stop moving for 20 s).
    const tSettle = Date.now();
    let f;
    let last = '';
    let lastChange = Date.now();
    for (;;) {
      f = await funnel(c, campaignId);
      const key = `${f.clicks}/${f.conversions}`;
      if (key !== last) [last, lastChange] = [key, Date.now()];
      if ((f.clicks >= totals.r302 && f.conversions >= totals.c201) || Date.now() - lastChange > 20_000) break;
      await sleep(500);
    }
    const settleSeconds = (Date.now() - tSettle) / 1000;
    // The ledger too: D1 rows for the campaign.
    const db = await server.d1();
    const ledgerClicks = (await db.prepare('SELECT count(*) AS n FROM clicks WHERE campaign_id = ?').bind(campaignId).first())?.n;
    const ledgerConversions = (await db.prepare('SELECT count(*) AS n FROM conversions WHERE campaign_id = ?').bind(campaignId).first())?.n;

    // The heap per isolate once the load is over, and the Worker isolate's per window.
    const heapEnd = await heapUsage(inspectorPort).catch(() => ({}));
    windows.forEach((w, i) => {
      w.heaps = heaps[i] ?? {};
      w.workerHeapBytes = Object.entries(w.heaps).filter(([id]) => id.startsWith('core:user:')).reduce((a, [, b]) => a + b, 0);
      w.wasmBytes = wasm[i];
    });
    const warmIdx = Math.max(0, Math.round((warmupMinutes * 60) / windowSeconds) - 1);
    const after = windows.slice(warmIdx + 1);
    const rssWarm = windows[warmIdx]?.rssKiB;
    const rssEnd = windows.at(-1)?.rssKiB;
    const p50s = after.map((w) => w.p50).filter(Number.isFinite);
    const [rssEarlyKiB, rssLateKiB] = thirds(after.map((w) => w.rssKiB));
    const [p50Early, p50Late] = thirds(p50s);
    const res = {
      minutes, windowSeconds, warmupMinutes, rates, pid: server.pid,
      rssStartKiB: mem0, rssWarmKiB: rssWarm, rssEndKiB: rssEnd, rssGrowthPct: ((rssEnd - rssWarm) / rssWarm) * 100,
      // Growth after warm-up, robust to the ±20 MiB a GC cycle moves one window:
      // the median RSS of the last third of the windows after warm-up over that
      // of the first third (as the p50 drift below).
      rssEarlyKiB, rssLateKiB,
      rssMaxAfterWarmKiB: Math.max(...after.map((w) => w.rssKiB)),
      // Least-squares slope of the RSS over the windows after warm-up (KiB a
      // minute): a leak is a steady climb; a plateau with noise is ~0.
      rssSlopeKiBPerMin: slope(after.map((w) => [w.minute, w.rssKiB])),
      workerHeapWarmBytes: windows[warmIdx]?.workerHeapBytes, workerHeapEndBytes: windows.at(-1)?.workerHeapBytes,
      workerHeapMaxAfterWarmBytes: Math.max(...after.map((w) => w.workerHeapBytes)),
      wasmWarmBytes: windows[warmIdx]?.wasmBytes, wasmEndBytes: windows.at(-1)?.wasmBytes,
      heapEnd,
      p50FirstAfterWarm: p50s[0], p50Last: p50s.at(-1), p50Spread: Math.max(...p50s) / Math.min(...p50s),
      // Drift: the median p50 of the last third of the windows after warm-up over
      // that of the first third. A trend moves it; one noisy window (another
      // process on the shared cores) does not, unlike max/min.
      p50Early, p50Late,
      sent302: totals.r302, got201: totals.c201, reads: totals.reads, errors: windows.reduce((a, w) => a + w.errors, 0), noCtx: totals.noCtx,
      funnelClicks: f.clicks, funnelConversions: f.conversions, ledgerClicks, ledgerConversions, settleSeconds,
      clicksLost: totals.r302 - f.clicks, conversionsLost: totals.c201 - f.conversions,
      generator: stats.map((s, i) => ({ kind: ['redirects', 'conversions', 'reads'][i], ...s })),
      windows,
    };
    log(`soak: funnel ${f.clicks} clicks for ${totals.r302} 302s, ${f.conversions} conversions for ${totals.c201} 201s (settled ${settleSeconds.toFixed(1)} s); RSS ${(rssWarm / 1024).toFixed(1)} → ${(rssEnd / 1024).toFixed(1)} MiB (${res.rssGrowthPct.toFixed(1)} %)`);
    return res;
  } finally {
    agent.destroy();
    await server.stop();
  }
}

/** The medians of the first and of the last third of `xs` (at least one value each). */
function thirds(xs) {
  const n = Math.max(1, Math.floor(xs.length / 3));
  return [median(xs.slice(0, n)), median(xs.slice(-n))];
}

/** Least-squares slope of [x, y] points (NaN with fewer than 2). */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : NaN;
}

const pct = (f) => `${f >= 0 ? '+' : ''}${(f * 100).toFixed(1)} %`;
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ms = (n) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 1)} ms` : '—');
const mib = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MiB` : '—');

/** Table rows: [section, measurement, edge-funnel, reference, ratio, target, status]. */
export function soakRows(s, { smoke }) {
  const label = `7 soak (${s.minutes} min, ${s.rates.redirects} redirects/s + ${s.rates.conversions} conversions/s + ${s.rates.reads} funnel reads/s, direct socket)`;
  const st = (ok) => (smoke ? 'n/a (smoke)' : ok ? '✅ met' : '❌ missed');
  const lost = s.clicksLost + s.conversionsLost;
  return [
    [label, `workerd RSS growth after warm-up (${s.warmupMinutes} min): median of the first third of the windows → of the last third`, `${mib(s.rssEarlyKiB)} → ${mib(s.rssLateKiB)} (${pct(s.rssLateKiB / s.rssEarlyKiB - 1)})`, `start ${mib(s.rssStartKiB)}; single windows: end of warm-up ${mib(s.rssWarmKiB)} → last ${mib(s.rssEndKiB)} (${pct(s.rssGrowthPct / 100)})`, '', '≤ 10 %', st(s.rssLateKiB / s.rssEarlyKiB - 1 <= 0.1)],
    ...(Number.isFinite(s.rssSlopeKiBPerMin)
      ? [[label, 'workerd RSS trend after warm-up (least-squares slope over the windows)', `${s.rssSlopeKiBPerMin >= 0 ? '+' : ''}${(s.rssSlopeKiBPerMin / 1024).toFixed(2)} MiB/min (${((s.rssSlopeKiBPerMin / s.rssWarmKiB) * 100).toFixed(2)} % of the warm RSS a minute)`, `max after warm-up ${mib(s.rssMaxAfterWarmKiB)}`, '', 'info', 'info']]
      : []),
    [label, 'events lost (302s − funnel clicks; 201s − funnel conversions)', `${s.clicksLost} clicks of ${int(s.sent302)}; ${s.conversionsLost} conversions of ${int(s.got201)}`, `ledger: ${int(s.ledgerClicks)} clicks, ${int(s.ledgerConversions)} conversions`, '', '0', st(lost === 0)],
    [label, `redirect p50 per ${s.windowSeconds} s window after warm-up: median of the first third → of the last third (drift)`, `${ms(s.p50Early)} → ${ms(s.p50Late)} (${(s.p50Late / s.p50Early).toFixed(2)}×)`, `first → last window ${ms(s.p50FirstAfterWarm)} → ${ms(s.p50Last)}; max/min ${s.p50Spread.toFixed(2)}×`, '', 'flat (drift ≤ 1.2×)', st(s.p50Late / s.p50Early <= 1.2)],
    [label, 'errors (non-2xx/3xx, socket, worker log)', `${s.errors}`, '', '', '0', st(s.errors === 0)],
    ...(Number.isFinite(s.workerHeapWarmBytes) && s.workerHeapWarmBytes > 0
      ? [[label, "the Worker isolate's V8 heap in use after warm-up → end (max after warm-up; once the load stopped)", `${mib(s.workerHeapWarmBytes / 1024)} → ${mib(s.workerHeapEndBytes / 1024)} (max ${mib(s.workerHeapMaxAfterWarmBytes / 1024)}; ${mib((s.heapEnd?.['core:user:bench'] ?? NaN) / 1024)})`, `all isolates once the load stopped: ${mib(Object.values(s.heapEnd ?? {}).reduce((a, b) => a + b, 0) / 1024)}`, '', 'info', 'info']]
      : []),
    ...(Number.isFinite(s.wasmWarmBytes)
      ? [[label, "the Worker isolate's wasm memory after warm-up → end (it never shrinks: growth here would be a leak in the Rust code)", `${mib(s.wasmWarmBytes / 1024)} → ${mib(s.wasmEndBytes / 1024)} (${(((s.wasmEndBytes - s.wasmWarmBytes) / s.wasmWarmBytes) * 100).toFixed(1)} %)`, '', '', 'info', 'info']]
      : []),
  ];
}

/** The per-window table for results.md. */
export function soakDetails(s) {
  const out = [`\n**Soak windows** (workerd pid ${s.pid}; RSS = VmRSS of it and its children at the end of each window; latency from when a request was sent, and p50 from when it was due by the schedule (5 ms tick); funnel settled ${s.settleSeconds.toFixed(1)} s after the load stopped; generator: ${s.generator.map((g) => `${g.kind} ${int(g.issued)} sent, max lag ${ms(g.maxLagMs)}, ${g.late} ticks held back at the in-flight cap`).join('; ')}):\n`];
  out.push('| min | workerd RSS (anon / file / shmem) | Worker isolate V8 heap · wasm memory | 302s | redirect p50 | p50 from due | p99 | conversions | funnel reads (p50) | workerd CPU | errors |');
  out.push('|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const w of s.windows) {
    out.push(`| ${w.minute.toFixed(1)} | ${mib(w.rssKiB)}${Number.isFinite(w.anonKiB) ? ` (${mib(w.anonKiB)} / ${mib(w.fileKiB)} / ${mib(w.shmemKiB)})` : ''} | ${w.workerHeapBytes ? mib(w.workerHeapBytes / 1024) : '—'} · ${Number.isFinite(w.wasmBytes) ? mib(w.wasmBytes / 1024) : '—'} | ${int(w.redirects)} | ${ms(w.p50)} | ${ms(w.dueP50)} | ${ms(w.p99)} | ${w.conversions} | ${w.reads} (${ms(w.readP50)}) | ${w.cpuPct.toFixed(0)} % | ${w.errors}${w.firstError ? ` (${String(w.firstError).replace(/\|/g, '\\|')})` : ''} |`);
  }
  if (s.heapEnd && Object.keys(s.heapEnd).length) out.push(`\nV8 heap in use per isolate once the load stopped: ${Object.entries(s.heapEnd).map(([id, b]) => `\`${id}\` ${mib(b / 1024)}`).join(', ')}.`);
  return out.join('\n');
}
