// API client for the edge-funnel /v2 routes: JSON in, JSON out, and the
// error envelope {error:{code,message}} surfaced as an ApiError; file routes
// (CSV exports) as a Blob with its file name. The only module that calls fetch.

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

/** `path` with the defined, non-empty `query` values appended. */
function withQuery(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? path + (path.includes('?') ? '&' : '?') + s : path;
}

/** fetch, with an unreachable server reported as ApiError status 0 / "network". */
async function send(url, init) {
  try {
    return await fetch(url, { ...init, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
  }
}

/** The ApiError for a non-2xx answer (its JSON envelope when there is one). */
function failure(res, text) {
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const env = json && json.error && typeof json.error === 'object' ? json.error : null;
  const code = env?.code || `http_${res.status}`;
  const message = env?.message || `The server answered ${res.status} ${res.statusText || ''}`.trim() + '.';
  return new ApiError(res.status, code, message, json);
}

/**
 * request(method, path, {body, query, auth}) → parsed JSON (or null for 204).
 * Throws ApiError (status 0 / code "network" when the server is unreachable).
 */
export async function request(method, path, { body, query, auth = true, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (auth && session.token) headers.authorization = `Bearer ${session.token}`;
  let payload;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await send(withQuery(path, query), { method, headers, body: payload, signal });
  const text = await res.text();
  if (!res.ok) throw failure(res, text);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The file name from a Content-Disposition header (RFC 6266), without any path. */
export function dispositionName(header, fallback) {
  const h = String(header || '');
  let name = null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(h);
  if (star) {
    try {
      name = decodeURIComponent(star[1].trim());
    } catch {
      name = null;
    }
  }
  if (!name) name = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(h)?.[1]?.replace(/\\(.)/g, '$1') ?? /filename\s*=\s*([^;\s]+)/.exec(h)?.[1] ?? null;
  name = (name || '').replace(/[\\/]/g, '_').replace(/^\.+/, '').trim();
  return name || fallback;
}

/**
 * An authenticated GET of a file route (CSV exports) → {blob, filename, type};
 * the filename from Content-Disposition, else `fallback`. Errors as request().
 */
export async function requestFile(path, { query, fallback = 'download', signal } = {}) {
  const headers = { accept: 'text/csv, application/json;q=0.5, */*;q=0.1' };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  const res = await send(withQuery(path, query), { method: 'GET', headers, signal });
  if (!res.ok) throw failure(res, await res.text());
  const blob = await res.blob();
  return { blob, filename: dispositionName(res.headers.get('content-disposition'), fallback), type: blob.type };
}

let unauthorized = null;
/** Register what happens when the server rejects the token (401): sign out. */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** An authenticated call that reports a 401 (expired or rejected token). */
async function guarded(promise) {
  try {
    return await promise;
  } catch (e) {
    if (e.status === 401) unauthorized?.(e);
    throw e;
  }
}
const call = (method, path, opts) => guarded(request(method, path, opts));

export const GET = (p, query) => call('GET', p, { query });
export const POST = (p, body) => call('POST', p, { body });
export const PUT = (p, body) => call('PUT', p, { body });
export const PATCH = (p, body) => call('PATCH', p, { body });
export const DEL = (p) => call('DELETE', p);
/** GET a file route (e.g. clicks.csv) → {blob, filename, type}. */
export const FILE = (p, query, fallback) => guarded(requestFile(p, { query, fallback }));
