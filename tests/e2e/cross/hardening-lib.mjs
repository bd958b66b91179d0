// Shared helpers for the hardening suites (tests/e2e/cross/hardening-*.test.mjs):
// a raw HTTP client (exact path bytes, raw body bytes, any method), a small
// concurrency pool, and a case runner that checks every response and collects
// failures instead of stopping at the first one.
import http from 'node:http';
import { sleep } from '../../harness/env.mjs';

/** Keep-alive agent so a few thousand requests do not exhaust ports. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One raw request. `path` is sent byte-for-byte (no URL normalisation, so
 * `..`, `%2F` and friends reach the Worker as written). `body` may be a
 * string, a Buffer, or a function returning an async iterable (streamed with
 * chunked transfer encoding, no content-length).
 */
export function rawRequest(base, { method = 'GET', path = '/', headers = {}, body } = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    let payload;
    if (typeof body === 'string') payload = Buffer.from(body, 'utf8');
    else if (Buffer.isBuffer(body)) payload = body;
    if (payload && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['content-length'] = String(payload.length);
    const req = http.request(
      { host: u.hostname, port: u.port, method, path, headers: h, agent, timeout: 60_000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (typeof body === 'function') {
      (async () => {
        for await (const chunk of body()) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        req.end();
      })().catch(reject);
    } else {
      req.end(payload);
    }
  });
}

/** Run `fn` over `items` with at most `n` in flight. */
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export const isEnvelope = (j) =>
  j && typeof j === 'object' && j.error && typeof j.error === 'object' &&
  typeof j.error.code === 'string' && /^[a-z][a-z0-9_]*$/.test(j.error.code) &&
  typeof j.error.message === 'string' && j.error.message.length > 0;

/**
 * The case runner. A case is
 *   { name, method, path, headers?, body?, expect }
 * with expect = { status: n | [n…], code?: s | [s…], envelope?: 'api' | 'none' | 'any',
 *                 check?: (res) => string | null, ok?: (res) => void }
 * `ok` runs for 2xx answers (to record explicit valid writes).
 * Connection errors (wrangler dev reloading) are retried and reported; a 5xx
 * that is not the Worker's JSON envelope is retried once after a pause (a
 * reload blip), and reported too. A 5xx with the envelope is always a 5xx.
 */
export class Runner {
  constructor(base, { concurrency = 8, label = 'cases' } = {}) {
    this.base = base;
    this.concurrency = concurrency;
    this.label = label;
    this.total = 0;
    this.fiveXX = []; // persistent 5xx
    this.transient = []; // 5xx or connection errors that went away on retry
    this.failures = [];
    this.statusHist = new Map();
  }

  async send(c) {
    const opts = { method: c.method, path: c.path, headers: c.headers ?? {}, body: c.body };
    let lastErr;
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const res = await rawRequest(this.base, opts);
        if (res.status >= 500 && typeof c.body !== 'function' && !isEnvelope(res.json)) {
          // A 5xx that is not the Worker's own error envelope may be a reload blip of
          // wrangler dev (someone rebuilt the Worker): ask again once. A 5xx carrying
          // the envelope is the Worker's answer and counts as is.
          await sleep(1500);
          const again = await rawRequest(this.base, opts).catch(() => null);
          if (again && again.status < 500) {
            this.transient.push(`${c.name}: ${c.method} ${short(c.path)} first answered ${res.status} ${res.text.slice(0, 120)}, then ${again.status} on retry`);
            return again;
          }
        }
        if (attempt > 0) this.transient.push(`${c.name}: ${c.method} ${short(c.path)} needed ${attempt} retr${attempt > 1 ? 'ies' : 'y'} after ${lastErr?.code ?? lastErr?.message}`);
        return res;
      } catch (e) {
        lastErr = e;
        const retryable = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(e.code) || /socket hang up|timeout/.test(e.message);
        if (!retryable || typeof c.body === 'function') break; // a client-side error or a stream cannot be replayed
        await sleep(1000 * (attempt + 1));
      }
    }
    return { status: 0, headers: {}, text: `no answer: ${lastErr?.code ?? ''} ${lastErr?.message}`, json: undefined };
  }

  /** Run cases; returns the failure messages of this batch. */
  async run(cases) {
    const failures = [];
    await pool(cases, this.concurrency, async (c) => {
      const res = await this.send(c);
      this.total++;
      this.statusHist.set(res.status, (this.statusHist.get(res.status) ?? 0) + 1);
      const why = judge(c, res);
      if (res.status >= 500 || res.status === 0) this.fiveXX.push(`${c.name}: ${c.method} ${short(c.path)} → ${res.status} ${res.text.slice(0, 200)}`);
      if (why) failures.push(`${c.name}: ${c.method} ${short(c.path)} → ${res.status} ${res.text.slice(0, 240)} [${why}]`);
      else if (res.status >= 200 && res.status < 300 && c.expect.ok) {
        try {
          c.expect.ok(res);
        } catch (e) {
          failures.push(`${c.name}: ${c.method} ${short(c.path)} → ${res.status} ${res.text.slice(0, 240)} [${e.message.split('\n')[0]}]`);
        }
      }
    });
    this.failures.push(...failures);
    return failures;
  }
}

function short(p) {
  return p.length > 140 ? `${p.slice(0, 120)}…(${p.length} chars)` : p;
}

function judge(c, res) {
  const e = c.expect;
  const statuses = Array.isArray(e.status) ? e.status : [e.status];
  if (res.status >= 500 || res.status === 0) return `5xx / no answer (expected ${statuses.join('|')})`;
  if (!statuses.includes(res.status)) return `expected status ${statuses.join('|')}`;
  const envelope = e.envelope ?? 'api';
  const isErr = res.status >= 400;
  if (isErr && envelope === 'api') {
    if (c.method !== 'HEAD') {
      if (!isEnvelope(res.json)) return 'no {error:{code,message}} envelope';
      if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) return `content-type ${res.headers['content-type']}`;
      if (e.code) {
        const codes = Array.isArray(e.code) ? e.code : [e.code];
        if (!codes.includes(res.json.error.code)) return `expected code ${codes.join('|')}, got ${res.json.error.code}`;
      }
      if (res.json.error.code === 'invalid_field' && e.field) {
        if (!res.json.error.message.includes(e.field)) return `invalid_field message does not name '${e.field}'`;
      }
    }
    if (res.status === 405) {
      const allow = res.headers.allow;
      if (!allow) return '405 without an Allow header';
      if (e.allow && normAllow(allow) !== normAllow(e.allow)) return `Allow '${allow}', expected '${e.allow}'`;
    }
    if (res.status === 401 && !res.headers['www-authenticate']) return '401 without WWW-Authenticate';
  }
  if (e.check) {
    let m;
    try {
      m = e.check(res);
    } catch (err) {
      m = `check threw: ${err.message.split('\n')[0]}`;
    }
    if (m) return m;
  }
  return null;
}

const normAllow = (s) => s.split(',').map((x) => x.trim().toUpperCase()).filter(Boolean).sort().join(', ');

/** Standard wrong-type values for a field of `type`. */
export const SAMPLES = {
  string: 'x',
  int: 42,
  float: 1.5,
  bool: true,
  array: ['x'],
  object: { a: 1 },
  emptyArray: [],
  emptyObject: {},
};

/** Wrong values (by JSON type) for a field whose right type is `type`. */
export function wrongTypes(type) {
  const all = {
    string: ['int:7', 'float:1.5', 'bool:true', 'bool:false', 'array:["x"]', 'object:{"a":1}', 'emptyObject:{}'],
    int: ['string:"5"', 'float:1.5', 'bool:true', 'array:[5]', 'object:{"a":1}'],
    number: ['string:"5"', 'bool:false', 'array:[5]', 'object:{"v":5}'],
    bool: ['string:"true"', 'int:1', 'int:0', 'array:[true]', 'object:{"a":true}'],
    object: ['string:"x"', 'int:1', 'bool:true', 'array:[]', 'array:[{"a":1}]'],
    stringOrObject: ['int:7', 'float:1.5', 'bool:true', 'array:["x"]', 'object:{"a":1}'],
    strArray: ['string:"x"', 'int:1', 'bool:true', 'object:{"0":"x"}', 'array:[1]', 'array:[null]', 'array:[["x"]]', 'array:[{"a":1}]'],
  }[type];
  return all.map((s) => {
    const i = s.indexOf(':');
    return { label: s.slice(0, i), json: s.slice(i + 1) };
  });
}

/** Set a value at a dotted path in a deep copy of `obj` (creating objects). */
export function setPath(obj, path, value) {
  const copy = structuredClone(obj);
  const keys = path.split('.');
  let o = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k];
  }
  o[keys.at(-1)] = value;
  return copy;
}

/** Raw JSON text of `obj` with the value at `path` replaced by raw JSON `raw`. */
export function withRaw(obj, path, raw) {
  const marker = `__RAW_${Math.random().toString(36).slice(2)}__`;
  return JSON.stringify(setPath(obj, path, marker)).replace(JSON.stringify(marker), raw);
}

/** Raw JSON text of `obj` with the top-level key `key` written twice (`first`, then `second`). */
export function duplicateKey(obj, key, firstRaw, secondRaw) {
  const rest = { ...obj };
  delete rest[key];
  const inner = JSON.stringify(rest).slice(1, -1);
  const k = JSON.stringify(key);
  return `{${k}:${firstRaw},${inner ? inner + ',' : ''}${k}:${secondRaw}}`;
}

export { sleep };
