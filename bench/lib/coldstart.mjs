// Section 1e: cold start. Time from creating a Miniflare instance (a fresh workerd
// process, one Worker on a direct socket, no assets router, fresh state) to the first
// response it sends, for our bundle, the fixed-302 JS Worker and a minimal workers-rs
// Worker answering a fixed 302 (bench/minimal-rs: the floor a Rust Worker can reach).
// Starts alternate between the Workers, `cfg.coldStarts` each; medians.
import { cpSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dryRunBundle } from './bundle.mjs';
import { BENCH, ROOT, log, median, run } from './env.mjs';
import { startDirect } from './serve.mjs';

const MINIMAL = join(BENCH, 'minimal-rs');
const BUILT = ['index.js', 'index_bg.wasm'].map((f) => join(MINIMAL, 'build', f));

/**
 * The minimal Rust Worker's bundle. Built once with worker-build (the Makefile's
 * environment, edge-funnel's target dir so the shared crates are not rebuilt) and
 * cached in bench/minimal-rs/build/; `allowBuild: false` (smoke) never builds.
 * Returns { bundle } or { missing: reason }.
 */
async function minimalRs(ws, { allowBuild }) {
  if (!BUILT.every(existsSync)) {
    if (!allowBuild) return { missing: 'bench/minimal-rs is not built yet (a full `make bench` builds it once, ~1–3 min)' };
    log('cold start: building bench/minimal-rs once (worker-build --release)');
    // worker-build downloads wasm-bindgen and wasm-opt unless told where local ones are (the
    // Makefile exports these; `node bench/run.mjs` run by hand may not have them).
    const local = {
      WASM_BINDGEN_BIN: process.env.WASM_BINDGEN_BIN ?? join(homedir(), '.cargo', 'bin', 'wasm-bindgen'),
      WASM_OPT_BIN: process.env.WASM_OPT_BIN ?? join(ROOT, 'node_modules', '.bin', 'wasm-opt'),
      ESBUILD_BIN: process.env.ESBUILD_BIN ?? join(ROOT, 'node_modules', '.bin', 'esbuild'),
    };
    const r = await run('worker-build', ['--release'], { cwd: MINIMAL, env: { ...process.env, ...local, CARGO_TARGET_DIR: join(ROOT, 'target') } });
    if (r.code !== 0 || !BUILT.every(existsSync)) return { missing: `worker-build failed: ${(r.stderr || r.stdout).split('\n').slice(-5).join(' ')}` };
  }
  const dir = join(ws.root, 'minimal-rs');
  cpSync(join(MINIMAL, 'wrangler.toml'), join(dir, 'wrangler.toml'));
  cpSync(join(MINIMAL, 'build'), join(dir, 'build'), { recursive: true });
  return { bundle: await dryRunBundle(dir) };
}

export async function coldStartSection(ws, cfg) {
  const rs = await minimalRs(ws, { allowBuild: !cfg.smoke });
  // The references twice: with our bundle's simulated bindings (D1, R2, queue,
  // rate limiters — the same local simulators start in their workerd, so the
  // difference is the bundle's own; the target's row) and bare (info).
  const same = ws.app;
  const workers = [
    { name: 'edge-funnel bundle (GET /healthz)', bundle: ws.app, path: '/healthz' },
    { name: 'fixed-302 JS Worker, same simulated bindings', bundle: ws.trivial, path: '/', bindingsFrom: same },
    ...(rs.bundle ? [{ name: 'minimal workers-rs 302 Worker (bench/minimal-rs), same simulated bindings', bundle: rs.bundle, path: '/', bindingsFrom: same, floor: true }] : []),
    { name: 'fixed-302 JS Worker, no bindings', bundle: ws.trivial, path: '/' },
    ...(rs.bundle ? [{ name: 'minimal workers-rs 302 Worker (bench/minimal-rs), no bindings', bundle: rs.bundle, path: '/', bare: true }] : []),
  ];
  for (const w of workers) w.starts = [];
  for (let i = 0; i < cfg.coldStarts; i++) {
    for (const w of workers) {
      const t0 = performance.now();
      const server = await startDirect(w.bundle, { assets: false, readyPath: w.path, bindingsFrom: w.bindingsFrom });
      const t = server.timing;
      await server.stop();
      w.starts.push({ firstResponseMs: t.firstResponseMs - t0, readyMs: t.readyMs - t0, firstRequestMs: t.firstResponseMs - t.readyMs, status: t.status });
    }
    log(`cold start ${i + 1}/${cfg.coldStarts}: ${workers.map((w) => `${w.name.split(' (')[0]} ${w.starts.at(-1).firstResponseMs.toFixed(0)} ms`).join(', ')}`);
  }
  return {
    starts: cfg.coldStarts,
    missing: rs.missing,
    minimalRsWasmBytes: rs.bundle?.sizes.perFile.find((f) => f.file.endsWith('.wasm'))?.gzip,
    workers: workers.map((w) => ({
      name: w.name,
      floor: !!w.floor,
      bare: !!w.bare,
      firstResponseMs: median(w.starts.map((s) => s.firstResponseMs)),
      readyMs: median(w.starts.map((s) => s.readyMs)),
      firstRequestMs: median(w.starts.map((s) => s.firstRequestMs)),
      statuses: [...new Set(w.starts.map((s) => s.status))],
      runs: w.starts,
      uploadGzipKiB: w.bundle.sizes.wranglerGzipKiB,
    })),
  };
}
