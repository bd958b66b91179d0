// wrk as the load generator, and a parser for its report.
// wrk never follows redirects: a 302 is one complete request.
import { join } from 'node:path';
import { BENCH, run } from './env.mjs';

export const WRK = process.env.WRK ?? '/usr/bin/wrk';
export const LUA = (name) => join(BENCH, 'lua', name);

const UNIT = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const ms = (v, u) => Number(v) * UNIT[u];

/** Parses wrk's text report (with --latency). Latencies in ms. */
export function parseWrk(out) {
  const num = (re) => {
    const m = out.match(re);
    return m ? Number(m[1]) : 0;
  };
  const lat = {};
  for (const m of out.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$/gm)) lat[m[1]] = ms(m[2], m[3]);
  const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const m = out.match(/(\d+) requests in ([\d.]+)(us|ms|s|m|h)/);
  const json = out.match(/^BENCH_JSON (.+)$/m);
  return {
    requests: m ? Number(m[1]) : 0,
    seconds: m ? ms(m[2], m[3]) / 1000 : 0,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: lat['50'] ?? NaN,
    p90: lat['90'] ?? NaN,
    p99: lat['99'] ?? NaN,
    non2xx3xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    script: json ? JSON.parse(json[1]) : undefined,
    raw: out,
  };
}

/**
 * One wrk run. `headers` are sent with every request (-H); `script` is a Lua
 * file under bench/lua; `env` passes settings to the script (os.getenv).
 */
export async function wrk(url, { seconds = 10, connections = 16, threads = 2, headers = {}, script, env = {}, timeout = '5s' } = {}) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', '--timeout', timeout];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (script) args.push('-s', LUA(script));
  args.push(url);
  const r = await run(WRK, args, { env: { ...process.env, ...env } });
  if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr || r.stdout}`);
  return parseWrk(r.stdout);
}

/**
 * Sends exactly `n` clicks (302s expected) to `path` with the visitor mix of
 * clicks.lua, in wrk runs of at most `chunkSeconds` (wrk runs for its whole -d
 * even after the script stopped its threads, so the duration of each chunk is
 * sized from the rate seen so far). Returns { got302, other, seconds, rps, chunks }.
 * A chunk that ends on its duration leaves up to `connections` requests in
 * flight: the Worker may still record them, uncounted here.
 */
export async function sendClicks(base, path, n, { connections = 16, threads = 2, chunkSeconds = 20, onChunk } = {}) {
  let got302 = 0;
  let other = 0;
  let rate = 200; // first guess, req/s
  let chunks = 0;
  const t0 = Date.now();
  while (got302 + other < n) {
    const remaining = n - got302 - other;
    const seconds = Math.max(1, Math.min(chunkSeconds, Math.ceil((remaining / rate) * 1.15) + 1));
    const r = await wrk(base + path, {
      seconds,
      connections,
      threads,
      script: 'clicks.lua',
      env: { BENCH_PATH: path, BENCH_LIMIT: String(remaining), BENCH_THREADS: String(threads) },
    });
    const s = r.script ?? { got302: 0, other: 0 };
    got302 += s.got302;
    other += s.other + r.socketErrors;
    chunks++;
    if (s.got302 + s.other > 0 && s.got302 + s.other < remaining) rate = (s.got302 + s.other) / seconds;
    onChunk?.({ got302, other, n });
    if (s.got302 + s.other === 0 && r.socketErrors === 0) throw new Error(`no responses from ${base}${path}`);
  }
  const seconds = (Date.now() - t0) / 1000;
  return { got302, other, seconds, rps: got302 / seconds, chunks };
}
