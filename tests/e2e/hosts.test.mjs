// Branded hosts: claiming (201, idempotent 200, 409 host_taken), listing and
// releasing a host; which names can be claimed; who may claim; a claimed host
// serving the handle's `/{slug}` exactly like `/{handle}/{slug}` (302, click in
// the funnel) and nothing else; shortUrl on the branded host (REST and MCP).
//
// Requests to a branded host go to the same wrangler dev with another `Host`
// header, through node:http (fetch cannot be trusted to send a custom Host).
import { before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnApp, UA } from '../harness/app.mjs';
import { funnelKit, mintPat, H, ISO_MS } from './fixtures.mjs';

const SHORT_HOST = 'go.short.example';
let app;
before(async () => {
  app = await spawnApp({ vars: { SHORT_HOSTS: SHORT_HOST } });
});
after(() => app?.stop());

const { test, settleClicks, createCampaign, putLink } = funnelKit(() => app);

/** A request to `host` (the Host header) on the test server. */
function onHost(host, path, { method = 'GET', headers = {}, body } = {}) {
  const { port } = new URL(app.base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method, headers: { host, 'user-agent': UA.iphone, ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const claim = (host, opts) => app.api('PUT', `${H}/hosts/${host}`, opts);
const release = (host, opts) => app.api('DELETE', `${H}/hosts/${host}`, opts);
const BRAND = 'go.brand.example';

describe('claiming hosts', () => {
  test('the first claim is 201, claiming it again is 200 with the same claim', async () => {
    const first = await claim(BRAND);
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(Object.keys(first.body.host).sort(), ['createdAt', 'handle', 'host']);
    assert.equal(first.body.host.host, BRAND);
    assert.equal(first.body.host.handle, 'demo');
    assert.match(first.body.host.createdAt, ISO_MS);
    const again = await claim(BRAND);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    // Upper case is the same DNS name: normalized, so it is the same claim.
    const upper = await claim('Go.Brand.EXAMPLE');
    assert.equal(upper.status, 200);
    assert.deepEqual(upper.body, first.body);
  });

  test("another handle's claim is 409 host_taken; its release is 404", async () => {
    const acme = app.token({ acme: 'OWNER' });
    const r = await app.api('PUT', `/v2/handles/acme/hosts/${BRAND}`, { token: acme });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'host_taken');
    assert.equal(r.body.error.message, `Host '${BRAND}' is claimed by another handle.`);
    const d = await app.api('DELETE', `/v2/handles/acme/hosts/${BRAND}`, { token: acme });
    assert.equal(d.status, 404);
    assert.equal(d.body.error.code, 'not_found');
    const list = await app.api('GET', '/v2/handles/acme/hosts', { token: acme });
    assert.deepEqual(list.body, { hosts: [] });
  });

  test('the list is in claim order', async () => {
    assert.equal((await claim('links.brand.example')).status, 201);
    const r = await app.api('GET', `${H}/hosts`);
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.hosts.map((h) => [h.host, h.handle]),
      [
        [BRAND, 'demo'],
        ['links.brand.example', 'demo'],
      ],
    );
    assert.equal((await release('links.brand.example')).status, 204);
  });

  test('names that are not claimable DNS names are 400 invalid_field', async () => {
    const cases = [
      ['127.0.0.1', 'an IPv4 literal'],
      ['10.0.0.256', 'a numeric last label'],
      ['[::1]', 'an IPv6 literal'],
      ['localhost', 'a single label'],
      ['-go.brand.example', 'a label starting with -'],
      ['go-.brand.example', 'a label ending with -'],
      ['go..example', 'an empty label'],
      ['go_x.example', 'an underscore'],
      [`${'a'.repeat(64)}.example`, 'a 64-character label'],
      [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, '254 characters'],
      [SHORT_HOST, 'a SHORT_HOSTS member'],
      ['GO.SHORT.EXAMPLE', 'a SHORT_HOSTS member in upper case'],
    ];
    for (const [host, why] of cases) {
      const r = await claim(encodeURIComponent(host));
      assert.equal(r.status, 400, `${why}: ${r.text}`);
      assert.equal(r.body.error.code, 'invalid_field', why);
      assert.match(r.body.error.message, /^Field 'host' /, why);
    }
    assert.deepEqual((await app.api('GET', `${H}/hosts`)).body.hosts.map((h) => h.host), [BRAND]);
  });

  test('only a signed-in OWNER claims or releases; VIEWERs and link-reading tokens list', async () => {
    for (const role of ['VIEWER', 'CREATOR', 'ADMIN']) {
      const tok = app.token({ demo: role });
      const r = await claim('x.brand.example', { token: tok });
      assert.equal(r.status, 403, role);
      assert.equal(r.body.error.code, 'forbidden');
      assert.equal((await release(BRAND, { token: tok })).status, 403, role);
      assert.equal((await app.api('GET', `${H}/hosts`, { token: tok })).status, 200, role);
    }
    // A personal access token never claims, whatever its scopes.
    const pat = await mintPat(app, ['links.write', 'links.read', 'campaigns.write']);
    assert.equal((await claim('x.brand.example', { token: pat.secret })).status, 403);
    assert.equal((await release(BRAND, { token: pat.secret })).status, 403);
    const list = await app.api('GET', `${H}/hosts`, { token: pat.secret });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.hosts.map((h) => h.host), [BRAND]);
    const analyticsOnly = await mintPat(app, ['analytics.read']);
    assert.equal((await app.api('GET', `${H}/hosts`, { token: analyticsOnly.secret })).status, 403);
    assert.equal((await claim('x.brand.example', { token: null })).status, 401);
    assert.equal((await app.api('GET', `${H}/hosts/${BRAND}`)).status, 405);
  });
});

describe('a claimed host serves the handle’s links', () => {
  test('/{slug} redirects like /{handle}/{slug}, and the click is counted', async () => {
    await createCampaign('brand-cmp');
    await putLink('brand-link', 'brand-cmp');
    const a = await onHost(BRAND, '/brand-link?utm_source=email');
    const b = await onHost(BRAND, '/brand-link?utm_source=email');
    const main = await app.click('/demo/brand-link?utm_source=email');
    for (const r of [a, b, main]) {
      assert.equal(r.status, 302);
      assert.match(r.location, /^https:\/\/shop\.example\.com\/brand-link\?utm_source=email&ctx=clk_[a-z2-7]{24}$/);
    }
    const head = await onHost(BRAND, '/brand-link', { method: 'HEAD' });
    assert.equal(head.status, 302);
    const f = await settleClicks('brand-cmp', 4);
    // Three GETs qualify; the HEAD counts as a bot click.
    assert.equal(f.clicks, 4);
    assert.equal(f.qualifiedClicks, 3);
    assert.equal(f.excluded.head_request, 1);
  });

  test('only /{slug} exists there: unknown slugs, the API, /{handle}/{slug} are 404', async () => {
    const unknown = await onHost(BRAND, '/nope');
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers['content-type'], /^text\/html/);
    for (const path of ['/demo/brand-link', '/v2/meta', `${H}/links`, '/', '/a/b/c']) {
      const r = await onHost(BRAND, path, { headers: { authorization: `Bearer ${app.ownerToken}` } });
      assert.equal(r.status, 404, path);
      assert.equal(JSON.parse(r.body).error.code, 'not_found', path);
    }
    // One segment is always a slug there: the service's own /healthz and /mcp
    // are main-host paths, and a handle may have links of those names.
    for (const path of ['/healthz', '/mcp']) {
      const r = await onHost(BRAND, path);
      assert.equal(r.status, 404, path);
      assert.match(r.body, /Link not found/, path);
    }
    await putLink('healthz', 'brand-cmp');
    assert.equal((await onHost(BRAND, '/healthz')).location.split('?')[0], 'https://shop.example.com/healthz');
    assert.equal((await app.api('GET', '/healthz', { token: null })).status, 200);
    const post = await onHost(BRAND, '/brand-link', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('a password-protected link on the branded host: its form posts back to /{slug} there', async () => {
    const put = await app.api('PUT', `${H}/links/brand-secret`, {
      body: { destinationUrl: 'https://shop.example.com/secret', campaignId: 'brand-cmp', password: 'brand pass', trackingPolicy: { appendContextParam: true } },
    });
    assert.equal(put.status, 201, put.text);
    const form = await onHost(BRAND, '/brand-secret');
    assert.equal(form.status, 200);
    assert.match(form.body, /<form method=post>/, 'no action: the form posts to its own URL');
    const type = { 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal((await onHost(BRAND, '/brand-secret', { method: 'POST', headers: type, body: 'password=nope' })).status, 401);
    const right = await onHost(BRAND, '/brand-secret', { method: 'POST', headers: type, body: 'password=brand+pass' });
    assert.equal(right.status, 302);
    assert.match(right.location, /^https:\/\/shop\.example\.com\/secret\?ctx=clk_/);
    // The unlock cookie is scoped to the URL the visitor used there, and opens it.
    const [set] = right.headers['set-cookie'];
    assert.match(set, /^ef_unlock=[^;]+; Path=\/brand-secret; Max-Age=86400; HttpOnly; SameSite=Lax$/);
    assert.equal((await onHost(BRAND, '/brand-secret', { headers: { cookie: set.split(';')[0] } })).status, 302);
    assert.equal((await app.api('DELETE', `${H}/links/brand-secret`)).status, 204);
  });

  test('an unclaimed host and the main host serve /{handle}/{slug}, not /{slug}', async () => {
    assert.equal((await onHost('other.example', '/demo/brand-link')).status, 302);
    assert.equal((await onHost('other.example', '/brand-link')).status, 404);
    assert.equal((await app.click('/brand-link')).status, 404);
    assert.equal((await onHost(SHORT_HOST, '/demo/brand-link')).status, 302);
    assert.equal((await onHost(SHORT_HOST, '/brand-link')).status, 404);
  });

  test('shortUrl is on the branded host: link GET, PUT, list and MCP', async () => {
    const want = `https://${BRAND}/brand-link`;
    assert.equal((await app.api('GET', `${H}/links/brand-link`)).body.link.shortUrl, want);
    const put = await app.api('PUT', `${H}/links/brand-link`, { body: { destinationUrl: 'https://shop.example.com/brand-link', campaignId: 'brand-cmp' } });
    assert.equal(put.status, 200);
    assert.equal(put.body.link.shortUrl, want);
    const list = await app.api('GET', `${H}/links?campaignId=brand-cmp`);
    assert.deepEqual(list.body.links.map((l) => l.shortUrl), [want, `https://${BRAND}/healthz`]);
    // A later claim does not move the short URLs: the earliest claim is the host.
    assert.equal((await claim('z.brand.example')).status, 201);
    assert.equal((await app.api('GET', `${H}/links/brand-link`)).body.link.shortUrl, want);
    assert.equal((await onHost('z.brand.example', '/brand-link')).status, 302);
    assert.equal((await release('z.brand.example')).status, 204);

    const pat = await mintPat(app, ['links.write']);
    const mcp = await app.api('POST', '/mcp', {
      token: pat.secret,
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'link_upsert', arguments: { slug: 'mcp-brand', destinationUrl: 'https://news.example/' } } },
    });
    assert.equal(mcp.status, 200, mcp.text);
    assert.equal(mcp.body.result.isError, false);
    assert.equal(mcp.body.result.structuredContent.link.shortUrl, `https://${BRAND}/mcp-brand`);
  });

  test('a destination on a claimed host is refused like one on SHORT_HOSTS (it would loop)', async () => {
    const loop = await app.api('PUT', `${H}/links/loop`, { body: { destinationUrl: `https://${BRAND}/brand-link` } });
    assert.equal(loop.status, 400);
    assert.equal(loop.body.error.message, "Field 'destinationUrl' must not point at this short-link service (it would loop).");
    const short = await app.api('PUT', `${H}/links/loop`, { body: { destinationUrl: `https://${SHORT_HOST}/demo/brand-link` } });
    assert.equal(short.body.error.message, loop.body.error.message);
    const variants = [
      { id: 'a', destinationUrl: 'https://shop.example.com/a', weight: 50 },
      { id: 'b', destinationUrl: `https://${BRAND.toUpperCase()}:8443/x`, weight: 50 },
    ];
    const exp = await app.api('PUT', `${H}/experiments/loop-exp`, { body: { slug: 'brand-link', variants } });
    assert.equal(exp.status, 400);
    assert.equal(exp.body.error.message, "Field 'variants[1].destinationUrl' must not point at this short-link service (it would loop).");
    // A sibling of the claimed host is not this service.
    const ok = await app.api('PUT', `${H}/links/loop`, { body: { destinationUrl: 'https://www.brand.example/' } });
    assert.equal(ok.status, 201, ok.text);
    assert.equal((await app.api('DELETE', `${H}/links/loop`)).status, 204);
  });

  test('after the release the host resolves nothing, shortUrl is back on the main host, others may claim it', async () => {
    const r = await release(BRAND);
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    assert.equal((await onHost(BRAND, '/brand-link')).status, 404);
    assert.equal((await onHost(BRAND, '/demo/brand-link')).status, 302);
    assert.equal((await app.api('GET', `${H}/links/brand-link`)).body.link.shortUrl, `${app.base}/demo/brand-link`);
    assert.equal((await release(BRAND)).status, 404);
    assert.deepEqual((await app.api('GET', `${H}/hosts`)).body, { hosts: [] });

    const pat = await mintPat(app, ['links.write']);
    const mcp = await app.api('POST', '/mcp', {
      token: pat.secret,
      body: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'link_upsert', arguments: { slug: 'mcp-brand', destinationUrl: 'https://news.example/' } } },
    });
    assert.equal(mcp.body.result.structuredContent.link.shortUrl, `${app.base}/demo/mcp-brand`);

    const acme = app.token({ acme: 'OWNER' });
    assert.equal((await app.api('PUT', `/v2/handles/acme/hosts/${BRAND}`, { token: acme })).status, 201);
    assert.equal((await app.api('PUT', `/v2/handles/acme/links/brand-link`, { token: acme, body: { destinationUrl: 'https://acme.example/' } })).status, 201);
    const acmeClick = await onHost(BRAND, '/brand-link');
    assert.equal(acmeClick.status, 302);
    assert.equal(acmeClick.location, 'https://acme.example/');
  });
});
