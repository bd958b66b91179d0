// Link controls (SPEC §11): expiry with and without a fallback URL (the dev
// clock moves the Worker past `expiresAt`), and password-protected links: the
// form, a wrong try (401), the right one (302, the click recorded once, the
// unlock cookie that remembers it for a day), the write-only password's
// keep/remove semantics, and the per-client limit on tries.
import { before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, UA } from '../harness/app.mjs';
import { H, HOUR, funnelKit, mintPat } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp({ limits: { PASSWORD_LIMITER: { limit: 6, period: 60 } } });
});
after(() => app?.stop());

const { test, funnel, settleClicks, createCampaign } = funnelKit(() => app);
const clock = (offsetMs) => app.api('POST', '/v2/dev/clock', { token: null, body: { offsetMs } });
const iso = (ms) => new Date(ms).toISOString();

async function putLink(slug, extra, campaignId = 'controls') {
  return app.api('PUT', `${H}/links/${slug}`, {
    body: { destinationUrl: `https://shop.example.com/${slug}`, campaignId, trackingPolicy: { appendContextParam: true }, ...extra },
  });
}

/** Submit the password form as a browser does (urlencoded, no redirects followed). */
async function submit(path, fields, headers = {}) {
  const r = await fetch(app.base + path, {
    method: 'POST',
    headers: { 'user-agent': UA.iphone, ...headers },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  return { status: r.status, location: r.headers.get('location'), headers: r.headers, text: await r.text() };
}

async function page(path, headers = {}) {
  const r = await fetch(app.base + path, { headers: { 'user-agent': UA.iphone, ...headers }, redirect: 'manual' });
  return { status: r.status, location: r.headers.get('location'), headers: r.headers, text: await r.text() };
}

describe('link controls', () => {
  test('fields round-trip; the password is never echoed; bad values are 400', async () => {
    await createCampaign('controls');
    const expiresAt = Date.now() + HOUR;
    const r = await putLink('ctl-read', { expiresAt: iso(expiresAt), expiredUrl: 'https://shop.example.com/over', password: 'open sesame' });
    assert.equal(r.status, 201, r.text);
    const l = r.body.link;
    assert.equal(l.expiresAt, iso(expiresAt));
    assert.equal(l.expiredUrl, 'https://shop.example.com/over');
    assert.equal(l.passwordProtected, true);
    assert.ok(!/sesame|pbkdf2/.test(r.text), 'neither the password nor its hash is ever returned');
    const g = await app.api('GET', `${H}/links/ctl-read`);
    assert.deepEqual(g.body.link, l);
    const plain = await putLink('ctl-plain', {});
    assert.deepEqual([plain.body.link.expiresAt, plain.body.link.expiredUrl, plain.body.link.passwordProtected], [null, null, false]);

    for (const [extra, field] of [
      [{ expiresAt: 'next week' }, 'expiresAt'],
      [{ expiredUrl: 'https://shop.example.com/x' }, 'expiredUrl'],
      [{ expiresAt: iso(expiresAt), expiredUrl: 'ftp://x.example/' }, 'expiredUrl'],
      [{ password: 'abc' }, 'password'],
      [{ password: 'x'.repeat(129) }, 'password'],
      [{ password: 1234 }, 'password'],
    ]) {
      const bad = await putLink('ctl-bad', extra);
      assert.equal(bad.status, 400, JSON.stringify(extra));
      assert.equal(bad.body.error.code, 'invalid_field');
      assert.match(bad.body.error.message, new RegExp(`^Field '${field}' `), JSON.stringify(bad.body));
    }
  });

  test('expiry: before → the destination; after → expiredUrl (302) or 410; nothing recorded after', async () => {
    await createCampaign('expiry');
    const expiresAt = Date.now() + HOUR;
    assert.equal((await putLink('exp-fallback', { expiresAt: iso(expiresAt), expiredUrl: 'https://shop.example.com/sold-out' }, 'expiry')).status, 201);
    assert.equal((await putLink('exp-gone', { expiresAt: iso(expiresAt) }, 'expiry')).status, 201);
    try {
      const a = await app.click('/demo/exp-fallback');
      const b = await app.click('/demo/exp-gone');
      assert.equal(a.status, 302);
      assert.match(a.location, /^https:\/\/shop\.example\.com\/exp-fallback\?ctx=clk_/);
      assert.match(b.location, /^https:\/\/shop\.example\.com\/exp-gone\?ctx=clk_/);
      assert.equal((await settleClicks('expiry', 2)).clicks, 2);

      assert.equal((await clock(2 * HOUR)).status, 200);
      for (let i = 0; i < 2; i++) {
        // twice: the async path (first) and the cached fast path answer alike
        const x = await app.click('/demo/exp-fallback?utm_source=mail');
        assert.equal(x.status, 302);
        assert.equal(x.location, 'https://shop.example.com/sold-out', 'no click id, no forwarded query');
        assert.equal(x.headers.get('cache-control'), 'no-store');
        const y = await page('/demo/exp-gone');
        assert.equal(y.status, 410);
        assert.equal(y.location, null);
        assert.equal(y.headers.get('cache-control'), 'no-store');
        assert.match(y.headers.get('content-type'), /^text\/html/);
        assert.match(y.text, /This link has expired/);
      }
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await funnel('expiry')).clicks, 2, 'expired hits are not clicks');
      // The API still reads and lists the expired link.
      assert.equal((await app.api('GET', `${H}/links/exp-gone`)).status, 200);
    } finally {
      await clock(0);
    }
    // Moving expiresAt forward revives it.
    assert.equal((await putLink('exp-gone', { expiresAt: iso(Date.now() + 3 * HOUR) }, 'expiry')).status, 200);
    assert.equal((await app.click('/demo/exp-gone')).status, 302);
  });

  test('password: form → wrong (401) → right (302, one click); keep and remove on replace', async () => {
    await createCampaign('locked');
    assert.equal((await putLink('secret-sale', { password: 'hunter22' }, 'locked')).status, 201);
    for (let i = 0; i < 2; i++) {
      const f = await page('/demo/secret-sale?utm_source=mail', { referer: 'https://news.example/post' });
      assert.equal(f.status, 200);
      assert.equal(f.location, null);
      assert.equal(f.headers.get('cache-control'), 'no-store');
      assert.match(f.headers.get('content-type'), /^text\/html/);
      assert.match(f.text, /<form method=post>/);
      assert.match(f.text, /<label for=pw>Password<\/label>/);
      assert.match(f.text, /name=r value="https:\/\/news\.example\/post"/);
      assert.doesNotMatch(f.text, /<script/);
    }
    const wrong = await submit('/demo/secret-sale?utm_source=mail', { password: 'hunter2', r: 'https://news.example/post' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.location, null);
    assert.equal(wrong.headers.get('cache-control'), 'no-store');
    assert.match(wrong.text, /role=alert>That password is not right/);
    const right = await submit('/demo/secret-sale?utm_source=mail', { password: 'hunter22', r: 'https://news.example/post' });
    assert.equal(right.status, 302);
    assert.match(right.location, /^https:\/\/shop\.example\.com\/secret-sale\?utm_source=mail&ctx=clk_[a-z2-7]{24}$/);
    const f = await settleClicks('locked', 1);
    assert.equal(f.clicks, 1, 'the form views and the wrong try are not clicks; the right one is, once');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await funnel('locked')).clicks, 1);
    const src = await app.api('GET', `${H}/analytics?groupBy=source&campaignId=locked`);
    assert.deepEqual(src.body.sources.map((s) => s.source), ['mail']);

    // A replace without `password` keeps it; `null` removes it.
    assert.equal((await putLink('secret-sale', { destinationUrl: 'https://shop.example.com/v2' }, 'locked')).body.link.passwordProtected, true);
    assert.equal((await page('/demo/secret-sale')).status, 200);
    const rm = await putLink('secret-sale', { password: null }, 'locked');
    assert.equal(rm.body.link.passwordProtected, false);
    assert.equal((await app.click('/demo/secret-sale')).status, 302);
    // POST to a link without a password is a method it does not allow.
    const post = await submit('/demo/secret-sale', { password: 'hunter22' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal(JSON.parse(post.text).error.code, 'method_not_allowed');
  });

  test('a right password is remembered for a day: the unlock cookie opens that link only', async () => {
    await createCampaign('remember');
    for (const slug of ['vault', 'vault-2']) assert.equal((await putLink(slug, { password: 'swordfish' }, 'remember')).status, 201);
    const right = await submit('/demo/vault?utm_source=mail', { password: 'swordfish' });
    assert.equal(right.status, 302);
    const set = right.headers.get('set-cookie');
    assert.match(set, /^ef_unlock=\d{10}\.[A-Za-z0-9_-]{43}; Path=\/demo\/vault; Max-Age=86400; HttpOnly; SameSite=Lax$/, 'plain http: no Secure');
    const cookie = set.split(';')[0];
    // With it: the redirect, recorded (twice: the cold path, then the isolate cache).
    for (let i = 0; i < 2; i++) {
      const r = await page('/demo/vault?utm_source=mail', { cookie: `theme=dark; ${cookie}` });
      assert.equal(r.status, 302, r.text);
      assert.match(r.location, /^https:\/\/shop\.example\.com\/vault\?utm_source=mail&ctx=clk_[a-z2-7]{24}$/);
      assert.equal(r.headers.get('set-cookie'), null, 'only the right password sets it');
    }
    // Without it, with it on another link, or altered: the form.
    const form = async (path, headers) => {
      const r = await page(path, headers);
      assert.equal(r.status, 200, `${path} ${JSON.stringify(headers)}`);
      assert.match(r.text, /<form method=post>/);
    };
    await form('/demo/vault', {});
    await form('/demo/vault-2', { cookie });
    await form('/demo/vault', { cookie: cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) });
    const [exp, mac] = cookie.slice('ef_unlock='.length).split('.');
    await form('/demo/vault', { cookie: `ef_unlock=${Number(exp) + 3600}.${mac}` });
    // A new password voids it.
    assert.equal((await putLink('vault', { password: 'swordfish-2' }, 'remember')).status, 200);
    await form('/demo/vault', { cookie });
    // A day later it is void too (the dev clock moves the Worker 25 hours on).
    const again = (await submit('/demo/vault', { password: 'swordfish-2' })).headers.get('set-cookie').split(';')[0];
    assert.equal((await page('/demo/vault', { cookie: again })).status, 302);
    try {
      assert.equal((await clock(25 * HOUR)).status, 200);
      await form('/demo/vault', { cookie: again });
    } finally {
      assert.equal((await clock(0)).status, 200);
    }
    // Clicks: the two right tries and the three remembered visits; no form view.
    assert.equal((await settleClicks('remember', 5)).clicks, 5);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await funnel('remember')).clicks, 5);
  });

  test('an expired protected link answers as expired, without its form', async () => {
    assert.equal((await putLink('old-secret', { password: 'hunter22', expiresAt: iso(Date.now() - 1000) }, 'locked')).status, 201);
    assert.equal((await page('/demo/old-secret')).status, 410);
    assert.equal((await submit('/demo/old-secret', { password: 'hunter22' })).status, 410);
  });

  test('tries are rate limited per client and link: 429 with the form and Retry-After', async () => {
    assert.equal((await putLink('brute', { password: 'correct horse' }, 'locked')).status, 201);
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await submit('/demo/brute', { password: `guess-${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 429, 429]);
    const limited = await submit('/demo/brute', { password: 'correct horse' });
    assert.equal(limited.status, 429, 'past the limit even the right password waits');
    assert.equal(limited.headers.get('retry-after'), '60');
    assert.match(limited.text, /Too many tries/);
    // Another link's form is not affected.
    assert.equal((await putLink('other-lock', { password: 'correct horse' }, 'locked')).status, 201);
    assert.equal((await submit('/demo/other-lock', { password: 'correct horse' })).status, 302);
  });

  test('MCP link_upsert takes the controls, and its tool schema lists them', async () => {
    const pat = await mintPat(app, ['links.write', 'links.read']);
    const rpc = (id, method, params) => app.api('POST', '/mcp', {
      token: pat.secret,
      headers: { accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id, method, params },
    });
    const list = await rpc(1, 'tools/list', {});
    const schema = list.body.result.tools.find((t) => t.name === 'link_upsert').inputSchema.properties;
    assert.deepEqual(['expiresAt', 'expiredUrl', 'password'].filter((k) => k in schema), ['expiresAt', 'expiredUrl', 'password']);
    const expiresAt = iso(Date.now() + HOUR);
    const r = await rpc(2, 'tools/call', {
      name: 'link_upsert',
      arguments: { slug: 'mcp-locked', destinationUrl: 'https://shop.example.com/m', expiresAt, expiredUrl: 'https://shop.example.com/late', password: 'via mcp' },
    });
    assert.equal(r.body.result.isError, false, r.text);
    const link = r.body.result.structuredContent?.link ?? JSON.parse(r.body.result.content[0].text).link;
    assert.deepEqual([link.expiresAt, link.expiredUrl, link.passwordProtected], [expiresAt, 'https://shop.example.com/late', true]);
    assert.equal((await page('/demo/mcp-locked')).status, 200);
    assert.equal((await submit('/demo/mcp-locked', { password: 'via mcp' })).location, 'https://shop.example.com/m');
  });
});
