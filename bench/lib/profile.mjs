// A V8 CPU profile of the Worker's isolate in a Miniflare workerd process while
// a load runs (inspector protocol over WebSocket; Node 22 has WebSocket built in).
// When the .wasm has its `name` section, Rust frames have their real names.
//
// Only the Worker's own isolate (`core:user:*`) is profiled by default: all
// isolates of a workerd process share one thread, and the profiles of
// Miniflare's internal isolates (entry, D1 simulator) attribute samples taken
// while other isolates ran, so their numbers do not add up. Even for the
// Worker's isolate, read the shares between areas, not absolute times.

import { sleep } from './env.mjs';

export function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let id = 0;
    const pending = new Map();
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.id && pending.has(msg.id)) {
        const { ok, fail } = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) fail(new Error(`${msg.error.message}`));
        else ok(msg.result);
      }
    };
    ws.onerror = () => reject(new Error(`inspector ${url} failed`));
    ws.onopen = () =>
      resolve({
        send: (method, params = {}) =>
          new Promise((ok, fail) => {
            const n = ++id;
            pending.set(n, { ok, fail });
            ws.send(JSON.stringify({ id: n, method, params }));
          }),
        close: () => ws.close(),
      });
  });
}

/** Coarse area of a profile frame, for grouping: a Rust module (from the wasm
 * `name` section, e.g. `edge_funnel::edge::rollup`), a crate, or a JS source. */
export function area(fn, url = '') {
  const f = fn || '(anonymous)';
  if (/^\((idle|program|garbage collector|root)\)$/.test(f)) return f;
  const m = f.match(/^<?(?:&(?:mut )?)?([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?((?:::[a-z_][a-z0-9_]*)*)/);
  if (m && m[2]) {
    const path = m[2].split('::').filter(Boolean);
    return m[1] === 'edge_funnel' ? `rust ${['edge_funnel', ...path.slice(0, 2)].join('::')}` : `rust ${m[1]}`;
  }
  if (/^wasm-function|^\$func/.test(f) || url.startsWith('wasm://') || /\.wasm/.test(url)) return 'wasm (Rust, no name section)';
  if (/(^|\/)(index|entry)\.js$/.test(url)) return 'JS glue: wasm-bindgen + workers-rs (index.js)';
  if (url === 'cloudflare-internal:d1-api') return 'D1 client API (workerd JS)';
  if (!url) return 'workerd builtins (Request, Response, fetch, …)';
  return `JS ${url.split('/').pop()}`;
}

function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const n = byId.get(profile.samples[i]);
    self.set(n, (self.get(n) ?? 0) + dt);
  }
  const fns = new Map();
  const areas = new Map();
  let idle = 0;
  for (const [n, ms] of self) {
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += ms;
      continue;
    }
    const key = `${name} ${cf.url ? `(${cf.url.split('/').pop()})` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + ms);
    const a = area(name, cf.url);
    areas.set(a, (areas.get(a) ?? 0) + ms);
  }
  const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, ms]) => ({ name, ms }));
  return { totalMs: total, idleMs: idle, busyMs: total - idle, areas: top(areas, 12), functions: top(fns, 15) };
}

/**
 * Profiles the isolates whose inspector ids match `include` while `load()` runs.
 * Returns [{ id, busyMs, idleMs, totalMs, areas, functions }], busiest first.
 */
export async function profileWhile(inspectorPort, load, { include = /^core:user:/, intervalUs = 200 } = {}) {
  const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const targets = list.filter((t) => include.test(t.id));
  const sessions = [];
  for (const t of targets) {
    try {
      const s = await connect(t.webSocketDebuggerUrl);
      await s.send('Profiler.enable');
      await s.send('Profiler.setSamplingInterval', { interval: intervalUs });
      sessions.push({ id: t.id, s });
    } catch {}
  }
  for (const { s } of sessions) await s.send('Profiler.start');
  let loadResult;
  try {
    loadResult = await load();
  } finally {
    await sleep(50);
  }
  const out = [];
  for (const { id, s } of sessions) {
    try {
      const { profile } = await s.send('Profiler.stop');
      out.push({ id, ...summarize(profile) });
    } catch {}
    s.close();
  }
  return { isolates: out.sort((a, b) => b.busyMs - a.busyMs), load: loadResult };
}

/**
 * V8 heap in use per isolate of a workerd process ({ [inspector id]: bytes }).
 * workerd's inspector does not run `HeapProfiler.collectGarbage` (it never
 * answers), so this is what each heap holds when asked. An isolate that does
 * not answer within 3 s is left out.
 */
export async function heapUsage(inspectorPort) {
  const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const out = {};
  const within = (p) => Promise.race([p, sleep(3000).then(() => { throw new Error('timeout'); })]);
  for (const t of list) {
    try {
      const c = await within(connect(t.webSocketDebuggerUrl));
      try {
        out[t.id] = (await within(c.send('Runtime.getHeapUsage'))).usedSize;
      } finally {
        c.close();
      }
    } catch {
      // an isolate that does not answer: not counted
    }
  }
  return out;
}
