// QR codes of links (GET …/links/{slug}/qr): the SVG document (type, size,
// margin, title naming the short URL with src=qr), the option bounds, who may
// read it, and a scan of the encoded URL counted with source `qr`. (Decoding
// the image back to the URL with a real QR decoder is in
// tests/browser/dashboard.test.mjs, which renders it.)
import { before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp } from '../harness/app.mjs';
import { funnelKit, mintPat, H } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

const { test, settleClicks, createCampaign, putLink, groupBy } = funnelKit(() => app);
const qr = (slug, query = '', opts) => app.api('GET', `${H}/links/${slug}/qr${query}`, opts);

describe('QR codes', () => {
  test('an SVG of the short URL with src=qr, 256 px and a 4-module margin by default', async () => {
    await createCampaign('qr-cmp');
    await putLink('qr-link', 'qr-cmp');
    const r = await qr('qr-link');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/svg+xml; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'private, max-age=60');
    const svg = r.text;
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="256" height="256" viewBox="0 0 (\d+) \1" shape-rendering="crispEdges" role="img"/);
    assert.ok(svg.includes(`<title id="qr-title">QR code: ${app.base}/demo/qr-link?src=qr</title>`), svg);
    assert.equal(svg.match(/<path /g).length, 1);
    assert.equal(svg.match(/<rect /g).length, 1);
    // The code is 4 modules in: the top-left finder starts at (4,4), 7 modules wide.
    assert.match(svg, / d="M4,4h7v1h-7z/);
    const dim = Number(svg.match(/viewBox="0 0 (\d+)/)[1]);
    // A version 1–40 code is 21–177 modules, + 2 × 4 of margin.
    assert.ok(dim >= 29 && dim <= 185 && (dim - 8 - 21) % 4 === 0, `dim ${dim}`);
    // Deterministic: the same link gives the same document.
    assert.equal((await qr('qr-link')).text, svg);
  });

  test('size and margin change the document; out of range is 400 invalid_field', async () => {
    const small = await qr('qr-link', '?size=64&margin=0');
    assert.equal(small.status, 200);
    assert.match(small.text, /width="64" height="64"/);
    assert.match(small.text, / d="M0,0h7v1h-7z/);
    const big = await qr('qr-link', '?size=2048&margin=16');
    assert.equal(big.status, 200);
    assert.match(big.text, /width="2048" height="2048"/);
    assert.match(big.text, / d="M16,16h7v1h-7z/);
    for (const [query, field] of [
      ['?size=63', 'size'],
      ['?size=2049', 'size'],
      ['?size=abc', 'size'],
      ['?size=', 'size'],
      ['?margin=17', 'margin'],
      ['?margin=-1', 'margin'],
      ['?margin=1.5', 'margin'],
    ]) {
      const r = await qr('qr-link', query);
      assert.equal(r.status, 400, query);
      assert.equal(r.body.error.code, 'invalid_field', query);
      assert.match(r.body.error.message, new RegExp(`^Field '${field}' must be an integer from`), query);
    }
  });

  test('an unknown link is 404 link_not_found, like GET link', async () => {
    for (const slug of ['nope', 'Bad%20Slug']) {
      const r = await qr(slug);
      assert.equal(r.status, 404, slug);
      assert.equal(r.body.error.code, 'link_not_found');
      assert.equal(r.body.error.code, (await app.api('GET', `${H}/links/${slug}`)).body.error.code);
    }
  });

  test('VIEWERs and links.read tokens read it; others may not', async () => {
    assert.equal((await qr('qr-link', '', { token: app.token({ demo: 'VIEWER' }) })).status, 200);
    const reader = await mintPat(app, ['links.read']);
    assert.equal((await qr('qr-link', '', { token: reader.secret })).status, 200);
    const analytics = await mintPat(app, ['analytics.read']);
    assert.equal((await qr('qr-link', '', { token: analytics.secret })).status, 403);
    assert.equal((await qr('qr-link', '', { token: app.token({ acme: 'OWNER' }) })).status, 403);
    assert.equal((await qr('qr-link', '', { token: null })).status, 401);
    assert.equal((await app.api('POST', `${H}/links/qr-link/qr`)).status, 405);
  });

  test('a scan of the encoded URL is a click with source qr', async () => {
    const svg = (await qr('qr-link')).text;
    const encoded = svg.match(/<title id="qr-title">QR code: ([^<]+)<\/title>/)[1];
    assert.equal(encoded, `${app.base}/demo/qr-link?src=qr`);
    const scan = await app.click(encoded.slice(app.base.length));
    assert.equal(scan.status, 302);
    assert.match(scan.location, /^https:\/\/shop\.example\.com\/qr-link\?src=qr&ctx=clk_/);
    await app.click('/demo/qr-link');
    await settleClicks('qr-cmp', 2);
    const g = await groupBy('qr-cmp', 'source');
    assert.deepEqual(
      g.sources.map((r) => [r.source, r.clicks]).sort(),
      [
        ['direct', 1],
        ['qr', 1],
      ],
    );
  });
});
