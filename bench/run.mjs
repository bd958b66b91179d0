#!/usr/bin/env node
// edge-funnel benchmark harness — the entry point of `make bench` (after
// `cargo bench --bench redirect`). See bench/README.md for the method.
//
//   node bench/run.mjs            full run; prints the table, writes bench/results.md
//   node bench/run.mjs --smoke    the same harness on tiny inputs (part of `make test`):
//                                 exits 0 when everything ran; asserts no timing
//   --only redirect,bundle,funnel,ingest,criterion,trust,soak   run a subset (results.md is not written);
//                                 `soak` runs only when named (never in the default set or --smoke)
//   --out FILE                    write the report elsewhere
//
// Environment: BENCH_RUNS (runs per side, default 3), BENCH_SECONDS (10),
// BENCH_CONNECTIONS (16), BENCH_BIG_CLICKS (200000), BENCH_SMALL_CLICKS (1000),
// BENCH_MODES ("direct,wrangler dev"), BENCH_BREAKDOWN_SECONDS (5; 0 skips the breakdown
// and profile), BENCH_STATE_DIR (local D1/DO state; default /dev/shm when writable),
// BENCH_TRUST_HEALTH_READS (30), BENCH_TRUST_EXPORT_RUNS (2), BENCH_COLD_STARTS (10),
// BENCH_SOAK_MINUTES (20), BENCH_SOAK_WINDOW_SECONDS (60), BENCH_SOAK_RATES
// ("200,5,1": redirects, conversions, funnel reads per second).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareWorkspace } from './lib/bundle.mjs';
import { coldStartSection } from './lib/coldstart.mjs';
import { criterionSection } from './lib/criterion.mjs';
import { BENCH, ROOT, log, machine } from './lib/env.mjs';
import { funnelSection, startFunnelServer } from './lib/funnel.mjs';
import { ingestShards } from './lib/ingest.mjs';
import { redirectMode, startPair } from './lib/redirect.mjs';
import { STATE_ROOT, stopAll } from './lib/serve.mjs';
import { soakSection } from './lib/soak.mjs';
import { startTrustServer, trustSection } from './lib/trust.mjs';
import { renderDetails, renderTable } from './lib/table.mjs';
import { wasmSections } from './lib/wasm.mjs';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const smoke = args.smoke;
const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);

const cfg = smoke
  ? {
      smoke: true, runs: 1, seconds: 1, warmupSeconds: 0, connections: 16, threads: 2,
      // Every redirect row and the cold start run once, 1 s / 1 start each (no profile, no disk row).
      assetsVariant: true, breakdownSeconds: 1, coldStarts: 1,
      smallClicks: 50, bigClicks: 50, funnelReads: 10, funnelWarmup: 2,
      trustSmallClicks: 20, trustBigClicks: 60, trustTemplateClicks: 10, trustHealthReads: 3, trustHealthWarmup: 1, trustExportRuns: 1,
      modes: ['direct', 'wrangler dev'],
    }
  : {
      runs: env('BENCH_RUNS', 3), seconds: env('BENCH_SECONDS', 10), warmupSeconds: 5,
      connections: env('BENCH_CONNECTIONS', 16), threads: 2,
      assetsVariant: true, breakdownSeconds: env('BENCH_BREAKDOWN_SECONDS', 5), coldStarts: env('BENCH_COLD_STARTS', 10),
      smallClicks: env('BENCH_SMALL_CLICKS', 1000), bigClicks: env('BENCH_BIG_CLICKS', 200_000),
      funnelReads: 200, funnelWarmup: 20,
      trustSmallClicks: env('BENCH_SMALL_CLICKS', 1000), trustBigClicks: env('BENCH_BIG_CLICKS', 200_000),
      trustTemplateClicks: 200, trustHealthReads: env('BENCH_TRUST_HEALTH_READS', 30), trustHealthWarmup: 5,
      trustExportRuns: env('BENCH_TRUST_EXPORT_RUNS', 2),
      ingestConnections: [1, 2, 4, 8, 16, 32, 64], ingestSeconds: env('BENCH_INGEST_SECONDS', 8), ingestMaxDrainSeconds: 5,
      modes: (process.env.BENCH_MODES ?? 'direct,wrangler dev').split(',').map((s) => s.trim()),
    };
const [soakRedirects, soakConversions, soakReads] = (process.env.BENCH_SOAK_RATES || '200,5,1').split(',').map(Number);
cfg.soak = {
  minutes: env('BENCH_SOAK_MINUTES', 20), windowSeconds: env('BENCH_SOAK_WINDOW_SECONDS', 60), warmupMinutes: env('BENCH_SOAK_WARMUP_MINUTES', 5),
  rates: { redirects: soakRedirects, conversions: soakConversions, reads: soakReads },
};
// The default set (`make bench`, and --smoke). `soak` (20 min by default) runs only
// when named with --only (`make bench-soak`).
const ALL = ['bundle', 'redirect', 'funnel', 'trust', 'ingest', 'criterion'];
const KNOWN = [...ALL, 'soak'];
const only = args.only ? args.only.split(',').map((s) => s.trim()) : ALL;
const want = (s) => only.includes(s);
const unknown = only.filter((s) => !KNOWN.includes(s));
if (unknown.length) {
  console.error(`--only: unknown section(s) ${unknown.join(', ')}; choose from ${KNOWN.join(', ')}`);
  process.exit(2);
}
if (smoke && want('soak')) {
  console.error('--smoke never runs the soak section (make bench-soak)');
  process.exit(2);
}

const version = (pkg) => {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

/** Runs a section; a failure is reported in the table (and fails the run) instead of hiding the rest. */
const failures = [];
async function section(name, fn) {
  try {
    return await fn();
  } catch (e) {
    failures.push(`${name}: ${e.stack ?? e}`);
    log(`${name} FAILED: ${e.message}`);
    return { error: e.message };
  }
}

const started = new Date();
const before = machine();
const t0 = Date.now();
log(`${smoke ? 'smoke run' : 'full run'} on ${before.nproc} × ${before.model}; load ${before.load}`);
const secret = randomBytes(24).toString('hex');
const ws = await prepareWorkspace();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    log(`${sig}: stopping servers`);
    await stopAll();
    ws.cleanup();
    process.exit(130);
  });
}
const res = {};
// --smoke measures nothing, so it starts every server at once to stay quick; a
// full run starts each section's servers only when the previous section ended.
const early = {};
if (smoke) {
  if (want('redirect')) for (const mode of cfg.modes) early[mode] = startPair(mode, ws, secret, { withAssetsVariant: mode === 'direct' && cfg.assetsVariant });
  if (want('funnel')) early.funnel = startFunnelServer(ws, secret);
  if (want('trust')) early.trust = startTrustServer(ws, secret);
  for (const p of Object.values(early)) p.catch(() => {}); // reported where awaited
}
try {
  if (want('bundle')) {
    res.bundle = { ...ws.app.sizes, wasm: ws.app.wasm[0] ? wasmSections(ws.app.wasm[0]) : undefined };
  }
  if (want('redirect')) {
    res.redirect = [];
    for (const mode of cfg.modes) {
      res.redirect.push({ mode, ...(await section(`redirect ${mode}`, () => redirectMode(mode, ws, secret, cfg, early[mode]))) });
    }
    res.coldStart = await section('cold start', () => coldStartSection(ws, cfg));
  }
  if (want('funnel')) res.funnel = await section('funnel', () => funnelSection(ws, secret, cfg, early.funnel));
  if (want('trust')) res.trust = await section('trust', () => trustSection(ws, secret, cfg, early.trust));
  if (want('ingest')) {
    if (smoke) res.ingestSkipped = 'skipped in --smoke';
    else {
      res.ingest = [];
      for (const shards of [1, 4]) res.ingest.push({ shards, ...(await section(`ingest ${shards}`, () => ingestShards(ws, secret, shards, cfg))) });
    }
  }
  if (want('soak')) res.soak = await section('soak', () => soakSection(ws, secret, cfg));
  if (want('criterion')) res.criterion = await section('criterion', () => criterionSection({ allowRun: !smoke }));
} finally {
  await stopAll();
  ws.cleanup();
}

const after = machine();
const table = renderTable(res, { smoke });
process.stdout.write(`\n${table}\n\n`);

const command = [
  ...Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_')).map(([k, v]) => `${k}=${v}`),
  'node bench/run.mjs',
  ...process.argv.slice(2),
].join(' ');
const report = `# edge-funnel benchmark results

- **Date:** ${started.toISOString()} (took ${Math.round((Date.now() - t0) / 1000)} s)
- **Machine:** ${before.nproc} × ${before.model}
- **Load (uptime) before:** \`${before.uptime}\`
- **Load (uptime) after:** \`${after.uptime}\`
- **Command:** ${args.only ? `\`${command}\`` : `\`make bench\` → \`cargo bench --bench redirect\` + \`${command}\``}
- **Worker measured:** snapshot of \`build/\` (index_bg.wasm written ${ws.build.wasmModified}); git HEAD then: ${ws.build.head}${ws.build.dirty ? ' (src/ or Cargo files had uncommitted changes)' : ''}
- **Local D1/DO state:** \`${STATE_ROOT}\`; direct mode sends the load to each Worker's own workerd socket (Miniflare \`unsafeDirectSockets\`: no entry worker, no static-assets router); the entry-worker + assets-router path is a labelled extra row
- **Tools:** wrangler ${version('wrangler')}, miniflare ${version('miniflare')}, workerd ${version('workerd')}, node ${process.version}, wrk (${cfg.connections} connections, ${cfg.threads} threads, ${cfg.seconds} s per run, ${cfg.runs} runs per side, alternating)

Ratios are edge-funnel / trivial from runs alternated in the same session; absolute
numbers depend on whatever else the machine was doing (see the load above). p99 on two
shared cores is noisy: read throughput and p50 first. How to read this: bench/README.md.

${table}
${renderDetails(res)}
${failures.length ? `\n**Failures:**\n\n\`\`\`\n${failures.join('\n\n')}\n\`\`\`\n` : ''}`;

const out = args.out ?? (smoke || args.only ? undefined : join(BENCH, 'results.md'));
if (out) {
  writeFileSync(out, report);
  log(`wrote ${out}`);
}
log(`done in ${Math.round((Date.now() - t0) / 1000)} s${failures.length ? ` with ${failures.length} failed section(s)` : ''}`);
process.exit(failures.length ? 1 : 0);
