// The redirect's two calls into the runtime, imported by src/edge/redirect.rs
// (wasm-bindgen `module`). Each replaces several wasm↔JS crossings with one.

/**
 * The visitor facts in one string (parsed by `core::redirect::Packed`):
 * `method \n user-agent \n referer|\0 \n country \n verifiedBot \n botScore \n clientIp \n cookie \n acceptLanguage`
 * (the address is only ever hashed into a day's visitor key, never stored,
 * and read only `withIp`: when the click is recorded).
 * `request.cf` is built by the runtime on access, so it is read only when
 * `withCf` (the click is recorded, or a rule tests the country); the cookie
 * only `withCookie` (an experiment, or a password link's unlock cookie); `Accept-Language` only `withLanguage` (a
 * rule tests the language), and only its first 16 characters: enough for the
 * primary subtag of its first language, all a rule looks at.
 */
export function visitor_facts(req, withCf, withIp, withCookie, withLanguage) {
  const h = req.headers;
  const referer = h.get('referer');
  let country = '', verified = '', score = '';
  const cf = withCf ? req.cf : undefined;
  if (cf) {
    if (typeof cf.country === 'string') country = cf.country;
    const bm = cf.botManagement;
    if (bm) {
      if (bm.verifiedBot === true) verified = '1';
      if (typeof bm.score === 'number') score = String(bm.score);
    }
  }
  const ip = withIp ? h.get('cf-connecting-ip') ?? '' : '';
  const cookie = withCookie ? h.get('cookie') ?? '' : '';
  const lang = withLanguage ? (h.get('accept-language') ?? '').slice(0, 16) : '';
  return `${req.method}\n${h.get('user-agent') ?? ''}\n${referer === null ? '\0' : referer}\n${country}\n${verified}\n${score}\n${ip}\n${cookie}\n${lang}`;
}

/** The 302, built as a JS Worker would build it; `cookie` (undefined for none) pins an experiment variant. */
export function redirect_302(location, cookie) {
  const headers = { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' };
  if (cookie) headers['set-cookie'] = cookie;
  return new Response(null, { status: 302, headers });
}

// Clicks waiting for their batch, grouped by the rollup object (campaign
// shard) that records them: a flush is one call per group, carrying the
// group's clicks as one JSON array built here (no click crosses into wasm
// again). They are kept here, in JS, rather than in wasm memory: a panic
// aborts the wasm instance, and the glue builds a new one, but this module's
// state survives, so the next instance writes them. `owner` is the instance
// that has a flush pending (its timer, under its request's waitUntil); a new
// instance finding clicks owned by another one (which died) takes the flush
// over. `window` numbers the batching windows: a window's timer takes the
// buffer only if that window is still the open one (a full buffer flushed
// at once closes it early; the clicks after that belong to the next window
// and its own timer, so a stale timer never takes a handful of them).
let waiting = new Map();
let count = 0;
let owner = 0;
let window = 2;

/**
 * Buffer a click (its JSON) for the rollup object `object`. Returns 1 when
 * the buffer is full (flush now), a window number (≥ 2) when the caller must
 * flush that window after the batching window (it opened the buffer, or took
 * over a dead instance's), 0 when a pending flush covers it.
 */
export function click_buffer_push(json, object, instance, max) {
  const group = waiting.get(object);
  if (group) group.push(json);
  else waiting.set(object, [json]);
  count++;
  if (count >= max) return 1;
  if (count === 1 || owner !== instance) {
    owner = instance;
    return window;
  }
  return 0;
}

/**
 * Take the waiting clicks and end the pending flush: `[object, body, …]`,
 * each body the JSON array of that object's clicks. With a window number,
 * only if that window is still open (else nothing: its clicks went already).
 */
export function click_buffer_take(of) {
  if (of !== undefined && of !== window) return [];
  const out = [];
  for (const [object, jsons] of waiting) out.push(object, `[${jsons.join(',')}]`);
  waiting = new Map();
  count = 0;
  owner = 0;
  window++;
  return out;
}

/** Clicks left by an instance that is gone (a flush nobody will do). */
export function click_buffer_orphaned(instance) {
  return count > 0 && owner !== instance;
}

/** The JSON of a waiting click with this id, or undefined. */
export function click_buffer_find(clickId) {
  const needle = `"clickId":"${clickId}"`;
  for (const jsons of waiting.values()) {
    const hit = jsons.find((j) => j.includes(needle));
    if (hit !== undefined) return hit;
  }
  return undefined;
}
