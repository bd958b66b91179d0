// Serving a bundle two ways:
//  - direct: Miniflare's Node API, one workerd process, no proxy in front;
//    bindings from wrangler's own config reader, the .wasm as a CompiledWasm module.
//  - wrangler dev: what `make dev` does (a proxy worker in front of ours).
// Every server binds 127.0.0.1 on a free port, gets a fresh persist dir, and is
// stopped by its own handle (Miniflare#dispose) or process-group id (wrangler dev).
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { BIN, ENV, ROOT, freePort, log, run, sleep } from './env.mjs';
import { cpuSeconds, pidListeningOn } from './proc.mjs';

/**
 * Where local D1/DO/R2 state lives: BENCH_STATE_DIR, else /dev/shm when it is
 * writable (tmpfs: production D1 and Durable Objects do not fsync to this VM's
 * disk, and on a shared virtual disk those fsyncs dominate), else the temp dir.
 */
export const STATE_ROOT = process.env.BENCH_STATE_DIR || (writable('/dev/shm') ? '/dev/shm' : tmpdir());

function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Every server still running, so a failed or interrupted run can stop them all. */
const live = new Set();

function track(server) {
  const stop = server.stop;
  let stopping;
  server.stop = () => {
    stopping ??= (async () => {
      live.delete(server);
      await stop();
    })();
    return stopping;
  };
  live.add(server);
  return server;
}

/** Stops every server this process started and has not stopped yet. */
export async function stopAll() {
  await Promise.allSettled([...live].map((s) => s.stop()));
}

/** Miniflare as wrangler ships it (wrangler's own copy first, then the top-level one). */
async function loadMiniflare() {
  for (const from of [join(ROOT, 'node_modules', 'wrangler', 'package.json'), join(ROOT, 'package.json')]) {
    try {
      const path = createRequire(from).resolve('miniflare');
      return await import(pathToFileURL(path).href);
    } catch {}
  }
  throw new Error('miniflare not found under node_modules (npm ci installs it with wrangler)');
}

async function loadWrangler() {
  const path = createRequire(join(ROOT, 'package.json')).resolve('wrangler');
  return import(pathToFileURL(path).href);
}

/** Applies every migrations/*.sql file, in order, through the D1 binding. */
async function applyMigrations(mf, projectDir, splitSql) {
  const db = await mf.getD1Database('DB');
  const dir = join(projectDir, 'migrations');
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  for (const f of files) {
    const statements = splitSql(readFileSync(join(dir, f), 'utf8')).filter((s) => s.trim());
    if (statements.length) await db.batch(statements.map((s) => db.prepare(s)));
  }
  return files.length;
}

async function waitReady(base, path, isAlive, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive()) throw new Error(`${what} exited before it was ready`);
    try {
      const r = await fetch(base + path, { redirect: 'manual' });
      await r.arrayBuffer();
      if (r.status < 500) return r.status;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${path} within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/**
 * Serves `bundle` (from dryRunBundle) with Miniflare in one workerd process.
 * `vars` override/add plain-text bindings; `assets: false` leaves out the
 * static-assets router; `directSocket: false` serves through Miniflare's entry
 * worker. `timing` holds performance.now() when workerd was ready and when the first
 * response to `readyPath` came (the cold-start section). Returns { mode, base, logs, timing, stop() }.
 */
/** The stand-in rollup object of `stubRollup` (see startDirect). */
const ROLLUP_STUB = `export class CampaignRollup {
  async fetch(request) {
    await request.arrayBuffer();
    return new Response('{}', { headers: { 'content-type': 'application/json' } });
  }
}
export default { fetch: () => new Response(null, { status: 404 }) };`;

/** The binding kinds Miniflare simulates in the workerd process (see `bindingsFrom`). */
const SIMULATED = ['d1Databases', 'r2Buckets', 'queueProducers', 'queueConsumers', 'ratelimits'];

export async function startDirect(bundle, { vars = {}, migrations = false, readyPath = '/', assets = true, stateRoot = STATE_ROOT, inspectorPort, directSocket = true, bindingsFrom, stubRollup = false } = {}) {
  const { Miniflare, convertV4MiniflareOptions } = await loadMiniflare();
  const wrangler = await loadWrangler();
  const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(bundle.configPath);
  if (!assets) delete workerOptions.assets;
  // Cold start (1e): a reference Worker gets the storage bindings of our bundle
  // too, so each workerd starts the same local simulators (D1, R2, queue,
  // rate limiters: ~200 ms here, which production never charges to a Worker)
  // and the difference is the bundle's own. Not the Durable Object: its class
  // is in our bundle only (measured: binding it adds no start time).
  if (bindingsFrom) {
    const theirs = wrangler.unstable_getMiniflareWorkerOptions(bindingsFrom.configPath).workerOptions;
    for (const k of SIMULATED) if (theirs[k]) workerOptions[k] = theirs[k];
  }
  // The password row posts the right password at full speed: every try counts
  // against PASSWORD_LIMITER (10/min per client and link), so the bench raises
  // that limit (the limiter is still called, so its cost stays in the figure).
  const limiter = workerOptions.ratelimits?.PASSWORD_LIMITER;
  if (limiter?.simple) limiter.simple.limit = 1_000_000_000;
  // `stubRollup`: the ROLLUP binding goes to a stand-in object (ROLLUP_STUB) that
  // reads each call's body and answers 200 `{}` at once: the Worker still builds,
  // buffers and flushes every click, but no D1 write and no rollup work follow
  // (nothing is recorded). What recording costs the Worker itself (section 1c).
  const extraWorkers = [];
  if (stubRollup) {
    workerOptions.durableObjects = { ...workerOptions.durableObjects, ROLLUP: { className: 'CampaignRollup', scriptName: 'rollup-stub' } };
    extraWorkers.push({ name: 'rollup-stub', modules: true, script: ROLLUP_STUB, durableObjects: { SELF: 'CampaignRollup' } });
  }
  const persist = mkdtempSync(join(stateRoot, 'edge-funnel-bench-state-'));
  const port = await freePort();
  // Direct socket (BENCHMARKING.md): workerd listens for this Worker itself, no
  // Miniflare entry worker (and no assets router) in front. Load goes there.
  const directPort = directSocket ? await freePort() : undefined;
  const logs = [];
  const modules = [
    { type: 'ESModule', path: bundle.entry },
    ...bundle.wasm.map((path) => ({ type: 'CompiledWasm', path })),
  ];
  // wrangler's reader speaks the Miniflare v4 option shape; Miniflare 5 converts it.
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: '127.0.0.1',
    port,
    ...(inspectorPort ? { inspectorPort, inspectorHost: '127.0.0.1' } : {}),
    resourcePersistencePath: persist,
    handleStructuredLogs: (l) => {
      if (logs.length < 100_000) logs.push({ at: Date.now(), level: l.level, message: l.message });
    },
    workers: [
      {
        ...workerOptions,
        name: 'bench',
        modulesRoot: bundle.outDir,
        modules,
        bindings: { ...workerOptions.bindings, ...vars },
        ...(directSocket ? { unsafeDirectSockets: [{ host: '127.0.0.1', port: directPort }] } : {}),
      },
      ...extraWorkers,
    ],
  }));
  const server = track({
    mode: 'direct',
    socket: directSocket ? 'direct' : 'entry worker',
    base: undefined,
    entryBase: undefined,
    pid: undefined,
    logs,
    /** CPU seconds the workerd process has used so far (NaN when unknown). */
    cpu: () => (server.pid ? cpuSeconds(server.pid) : NaN),
    /** The Worker's D1 binding, from Node (to seed or count ledger rows directly). */
    d1: () => mf.getD1Database('DB'),
    async stop() {
      await mf.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  });
  try {
    const url = await mf.ready;
    const readyAt = performance.now();
    server.entryBase = url.toString().replace(/\/$/, '');
    server.base = directSocket ? (await mf.unsafeGetDirectURL('bench')).toString().replace(/\/$/, '') : server.entryBase;
    server.pid = pidListeningOn(Number(url.port));
    if (migrations) {
      const n = await applyMigrations(mf, bundle.projectDir, wrangler.unstable_splitSqlQuery);
      log(`applied ${n} D1 migrations through the DB binding`);
    }
    const status = await waitReady(server.base, readyPath, () => true, 'miniflare');
    server.timing = { readyMs: readyAt, firstResponseMs: performance.now(), status };
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/**
 * `wrangler dev` in a snapshot project dir (never the repository, so a
 * concurrent rebuild cannot reload it mid-run). Returns { mode, base, logs, stop() }.
 */
export async function startWranglerDev(projectDir, { vars = {}, migrations = false, readyPath = '/', stateRoot = STATE_ROOT } = {}) {
  const persist = mkdtempSync(join(stateRoot, 'edge-funnel-bench-state-'));
  if (migrations) {
    const r = await run('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], {
      cwd: projectDir,
    });
    if (r.code !== 0) throw new Error(`migrations failed:\n${r.stdout}\n${r.stderr}`);
  }
  const port = await freePort();
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--local', '--persist-to', persist,
    '--show-interactive-dev-session=false', '--live-reload=false', '--log-level', 'warn'];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const child = spawn(join(BIN, 'wrangler'), args, {
    cwd: projectDir,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs = [];
  const push = (d) => {
    for (const line of String(d).split('\n')) if (line.trim() && logs.length < 100_000) logs.push({ at: Date.now(), level: 'log', message: line });
  };
  child.stdout.on('data', push);
  child.stderr.on('data', push);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base, readyPath, () => child.exitCode === null, 'wrangler dev');
  } catch (e) {
    stopGroup(child);
    throw new Error(`${e.message}\n${logs.map((l) => l.message).join('\n')}`);
  }
  return track({
    mode: 'wrangler dev',
    base,
    logs,
    cpu: () => NaN, // the Worker runs in a workerd grandchild behind wrangler's proxy
    async stop() {
      stopGroup(child);
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(persist, { recursive: true, force: true });
    },
  });
}

function stopGroup(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {}
}

/** Worker log lines since `since` that report a failure: console.error output
 * (the Worker logs `{"event": "…_failed", …}` that way) or an uncaught error. */
export function errorLines(server, since = 0) {
  return server.logs.filter(
    (l) => l.at >= since && (l.level === 'error' || /_failed"|internal_error|panicked|Uncaught/i.test(l.message)),
  );
}
