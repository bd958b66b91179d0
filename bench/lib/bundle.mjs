// A stable snapshot of the built Worker and its `wrangler deploy --dry-run` bundle.
//
// Others may rebuild build/ at any time, so every benchmark works on a private
// copy: the project config, build/, migrations/ and static/ are copied into a
// temp dir (retrying if build/ changed during the copy), and the dry-run
// bundle is written next to it. Nothing under the repository is written.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BENCH, ROOT, log, run } from './env.mjs';

const stamp = (p) => {
  const s = statSync(p);
  return `${s.size}:${s.mtimeMs}`;
};

/** Copies the project (config + build output) into `dir`, consistent with itself. */
function snapshotProject(dir) {
  const watched = ['build/index.js', 'build/index_bg.wasm'].map((p) => join(ROOT, p));
  for (const p of watched) {
    if (!existsSync(p)) throw new Error(`${p} is missing: run \`make build\` first (make bench does)`);
  }
  for (let attempt = 1; attempt <= 10; attempt++) {
    const before = watched.map(stamp).join();
    rmSync(dir, { recursive: true, force: true });
    for (const p of ['wrangler.toml', 'src/entry.mjs', 'build', 'migrations', 'static']) {
      cpSync(join(ROOT, p), join(dir, p), { recursive: true });
    }
    const after = watched.map(stamp).join();
    const copied = ['index.js', 'index_bg.wasm'].map((f) => statSync(join(dir, 'build', f)).size).join();
    const source = watched.map((p) => statSync(p).size).join();
    if (before === after && copied === source) return statSync(watched[1]).mtime;
    log(`build/ changed while copying it (attempt ${attempt}); retrying`);
    // Give a concurrent build time to finish writing.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
  }
  throw new Error('build/ kept changing while it was being copied');
}

/**
 * `wrangler deploy --dry-run --outdir <dir>/out` for the project at `projectDir`.
 * Returns { projectDir, configPath, outDir, entry, wasm[], sizes }.
 */
export async function dryRunBundle(projectDir) {
  const outDir = join(projectDir, '..', `${projectDir.split('/').pop()}-out`);
  rmSync(outDir, { recursive: true, force: true });
  const r = await run('wrangler', ['deploy', '--dry-run', '--outdir', outDir], { cwd: projectDir });
  if (r.code !== 0) throw new Error(`wrangler deploy --dry-run failed in ${projectDir}:\n${r.stdout}\n${r.stderr}`);
  const files = readdirSync(outDir);
  // The bundled entry module (named after wrangler.toml's `main`).
  const entry = join(outDir, files.find((f) => f.endsWith('.js')) ?? 'index.js');
  const wasm = files.filter((f) => f.endsWith('.wasm')).map((f) => join(outDir, f));
  // What would be uploaded: the entry module and every module next to it
  // (source maps are only uploaded with upload_source_maps, which is off).
  const uploaded = [entry, ...wasm];
  const perFile = uploaded.map((p) => {
    const buf = readFileSync(p);
    return { file: p.split('/').pop(), raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
  });
  const m = `${r.stdout}\n${r.stderr}`.match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  return {
    projectDir,
    configPath: join(projectDir, 'wrangler.toml'),
    outDir,
    entry,
    wasm,
    sizes: {
      perFile,
      rawTotal: perFile.reduce((a, f) => a + f.raw, 0),
      gzipTotal: perFile.reduce((a, f) => a + f.gzip, 0),
      wranglerRawKiB: m ? Number(m[1]) : NaN,
      wranglerGzipKiB: m ? Number(m[2]) : NaN,
    },
  };
}

/** A private temp workspace holding snapshots of both Workers and their bundles. */
export async function prepareWorkspace() {
  const root = mkdtempSync(join(tmpdir(), 'edge-funnel-bench-'));
  const app = join(root, 'app');
  const builtAt = snapshotProject(app);
  const trivial = join(root, 'trivial');
  cpSync(join(BENCH, 'trivial'), trivial, { recursive: true });
  const trivialCf = join(root, 'trivial-cf');
  cpSync(join(BENCH, 'trivial-cf'), trivialCf, { recursive: true });
  log(`snapshot of build/ in ${app}; bundling with wrangler deploy --dry-run`);
  const [appBundle, trivialBundle, trivialCfBundle] = await Promise.all([dryRunBundle(app), dryRunBundle(trivial), dryRunBundle(trivialCf)]);
  const git = (...a) => run('git', a, { cwd: ROOT }).then((r) => (r.code === 0 ? r.stdout.trim() : '?'));
  return {
    root,
    build: {
      wasmModified: builtAt.toISOString(),
      head: await git('log', '-1', '--format=%h %s'),
      dirty: (await git('status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock')) !== '',
    },
    app: appBundle,
    trivial: trivialBundle,
    trivialCf: trivialCfBundle,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

