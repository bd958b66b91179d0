// Section 5: the native criterion micro-benchmarks (bench/rust/redirect.rs).
//
// `make bench` runs `cargo bench --bench redirect` just before this script, so
// the figures are normally read back from criterion's own records
// (target/criterion/<id>/new/estimates.json: the slope estimate, which is the
// middle value of the "time: [a b c]" line it printed). When no fresh record
// exists and running is allowed, cargo bench is run here and its stdout parsed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, log, run } from './env.mjs';

const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
const FRESH_MS = 12 * 3600_000;
const UNIT_NS = { ps: 1e-3, ns: 1, 'µs': 1e3, us: 1e3, ms: 1e6, s: 1e9 };

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

/** Criterion's records newer than bench/rust/redirect.rs (and than FRESH_MS). */
function fromRecords() {
  const dir = join(TARGET, 'criterion');
  if (!existsSync(dir)) return [];
  const since = Math.max(statSync(join(ROOT, 'bench', 'rust', 'redirect.rs')).mtimeMs, Date.now() - FRESH_MS);
  const out = [];
  for (const p of walk(dir)) {
    if (!p.endsWith('/new/benchmark.json')) continue;
    const est = p.replace(/benchmark\.json$/, 'estimates.json');
    if (!existsSync(est) || statSync(est).mtimeMs < since) continue;
    const id = JSON.parse(readFileSync(p, 'utf8')).full_id;
    const e = JSON.parse(readFileSync(est, 'utf8'));
    const ns = (e.slope ?? e.mean).point_estimate;
    out.push({ id, ns, source: 'target/criterion' });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Parses criterion's stdout: `<id>\n   time:   [a unit b unit c unit]` (or on one line). */
export function parseCriterionStdout(text) {
  const out = [];
  const re = /^(\S.*?)\s*(?:\n\s*)?\s+time:\s+\[([\d.]+) (\S+) ([\d.]+) (\S+) ([\d.]+) (\S+)\]/gm;
  for (const m of text.matchAll(re)) {
    out.push({ id: m[1].trim(), ns: Number(m[4]) * (UNIT_NS[m[5]] ?? NaN), source: 'cargo bench stdout' });
  }
  return out;
}

export async function criterionSection({ allowRun }) {
  let rows = fromRecords();
  if (rows.length) return { rows, note: 'read from target/criterion (make bench ran cargo bench just before)' };
  if (!allowRun) return { rows: [], note: 'not run (smoke: no fresh criterion records)' };
  log('criterion: no fresh records; running cargo bench --bench redirect');
  const r = await run('cargo', ['bench', '--bench', 'redirect'], { tee: true });
  if (r.code !== 0) return { rows: [], note: `cargo bench failed (${r.code})` };
  rows = parseCriterionStdout(r.stdout);
  return { rows, note: 'cargo bench --bench redirect, run by bench/run.mjs' };
}
