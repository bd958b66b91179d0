// The redirect's two calls into the runtime, imported by src/edge/redirect.rs
// (wasm-bindgen `module`). Each replaces several wasm↔JS crossings with one.

/**
 * The visitor facts in one string (parsed by `core::redirect::Packed`):
 * `method \n user-agent \n referer|\0 \n country \n verifiedBot \n botScore \n clientIp`
 * (the address is only ever hashed into a day's visitor key, never stored).
 * `request.cf` is built by the runtime on access, so it is read only when
 * `withCf` (the click is recorded, or a rule tests the country).
 */
export function visitor_facts(req, withCf) {
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
  const ip = h.get('cf-connecting-ip') ?? '';
  return `${req.method}\n${h.get('user-agent') ?? ''}\n${referer === null ? '\0' : referer}\n${country}\n${verified}\n${score}\n${ip}`;
}

/** The 302, built as a JS Worker would build it. */
export function redirect_302(location) {
  return new Response(null, {
    status: 302,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' },
  });
}
