// API client for the edge-funnel /v2 routes: JSON in, JSON out, and the
// error envelope {error:{code,message}} surfaced as an ApiError. The only
// module that calls fetch.

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
  /** The route is not deployed on this server (yet). */
  get missingRoute() {
    return this.status === 404 && this.code === 'not_found' && /\broute\b/i.test(this.message);
  }
}

const TOKEN_KEY = 'edge-funnel.token';
const HANDLE_KEY = 'edge-funnel.handle';

/** Session storage (this tab only); quietly in-memory if storage is blocked. */
const memory = new Map();
export const session = {
  get(k) {
    try {
      return sessionStorage.getItem(k);
    } catch {
      return memory.get(k) ?? null;
    }
  },
  set(k, v) {
    try {
      if (v == null) sessionStorage.removeItem(k);
      else sessionStorage.setItem(k, v);
    } catch {
      if (v == null) memory.delete(k);
      else memory.set(k, v);
    }
  },
  get token() {
    return this.get(TOKEN_KEY);
  },
  set token(v) {
    this.set(TOKEN_KEY, v);
  },
  get handle() {
    return this.get(HANDLE_KEY);
  },
  set handle(v) {
    this.set(HANDLE_KEY, v);
  },
};

function b64urlDecode(s) {
  const pad = s.length % 4 === 0 ? '' : '='.repeat(4 - (s.length % 4));
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + pad);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * Decode (not verify: the server does that) a JWT's claims. Throws an Error
 * with a human message when the text is not a usable token.
 */
export function decodeJwt(token) {
  const t = String(token || '').trim().replace(/^Bearer\s+/i, '');
  const parts = t.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || !parts[1]) {
    throw new Error('That does not look like a JWT (expected three base64url parts separated by dots).');
  }
  let claims;
  try {
    claims = JSON.parse(b64urlDecode(parts[1]));
  } catch {
    throw new Error('The JWT payload is not valid base64url JSON.');
  }
  if (!claims || typeof claims !== 'object') throw new Error('The JWT payload is not a JSON object.');
  const handles = claims.handles && typeof claims.handles === 'object' && !Array.isArray(claims.handles) ? claims.handles : {};
  if (Object.keys(handles).length === 0) {
    throw new Error('The JWT has no "handles" claim, so it grants no handle to manage.');
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now() - 60_000) {
    throw new Error(`The JWT expired at ${new Date(claims.exp * 1000).toISOString()}.`);
  }
  return { token: t, claims, handles };
}

/** Path segment encoder for handles, ids and slugs. */
export const seg = (s) => encodeURIComponent(String(s));

/**
 * request(method, path, {body, query, auth}) → parsed JSON (or null for 204).
 * Throws ApiError (status 0 / code "network" when the server is unreachable).
 */
export async function request(method, path, { body, query, auth = true, signal } = {}) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = { accept: 'application/json' };
  if (auth && session.token) headers.authorization = `Bearer ${session.token}`;
  let payload;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, signal, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    const env = json && json.error && typeof json.error === 'object' ? json.error : null;
    const code = env?.code || `http_${res.status}`;
    const message = env?.message || `The server answered ${res.status} ${res.statusText || ''}`.trim() + '.';
    throw new ApiError(res.status, code, message, json);
  }
  return json;
}

let unauthorized = null;
/** Register what happens when the server rejects the token (401): sign out. */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** An authenticated call that reports a 401 (expired or rejected token). */
async function call(method, path, opts) {
  try {
    return await request(method, path, opts);
  } catch (e) {
    if (e.status === 401) unauthorized?.(e);
    throw e;
  }
}

export const GET = (p, query) => call('GET', p, { query });
export const POST = (p, body) => call('POST', p, { body });
export const PUT = (p, body) => call('PUT', p, { body });
export const PATCH = (p, body) => call('PATCH', p, { body });
export const DEL = (p) => call('DELETE', p);
