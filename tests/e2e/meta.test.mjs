// GET /openapi.json: the API description (OpenAPI 3.1), public and cacheable;
// that it matches the route table is a native test (src/core/openapi.rs), that
// the service answers as it says is `make test-api` (Schemathesis).
// GET /v2/meta: the catalog the dashboard builds its forms from (goal types
// with their tracking defaults, roles, scopes, webhook events, devices,
// tracking modes, limits). Public: no token needed.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp } from '../harness/app.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

describe('GET /v2/meta', () => {
  test('is public and lists the goal types with their defaults', async () => {
    const r = await app.api('GET', '/v2/meta', { token: null });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.goalTypes, [
      { goalType: 'PRODUCT_SALE', label: 'Product sale', trackingPreset: 'ga4_purchase', conversionEventType: 'purchase' },
      { goalType: 'LEAD_CAPTURE', label: 'Lead capture', trackingPreset: 'ga4_lead', conversionEventType: 'lead' },
      { goalType: 'NEWSLETTER', label: 'Newsletter signup', trackingPreset: 'ga4_sign_up', conversionEventType: 'newsletter_signup' },
      { goalType: 'AFFILIATE_CLICKOUT', label: 'Affiliate clickout', trackingPreset: 'custom_webhook', conversionEventType: 'affiliate_click' },
      { goalType: 'APP_INSTALL', label: 'App install', trackingPreset: 'ga4_app_install', conversionEventType: 'app_install' },
    ]);
  });

  test('roles lowest first; scopes include family wildcards and "*"', async () => {
    const { body } = await app.api('GET', '/v2/meta', { token: null });
    assert.deepEqual(body.roles, ['VIEWER', 'CREATOR', 'ADMIN', 'OWNER']);
    assert.ok(body.scopes.includes('analytics.read'));
    assert.ok(body.scopes.includes('analytics.*'));
    assert.ok(body.scopes.includes('*'));
    assert.deepEqual(body.devices, ['MOBILE', 'DESKTOP', 'TABLET']);
    assert.deepEqual(body.trackingModes, ['DIRECT', 'AGGREGATE_ONLY', 'OFF']);
    assert.ok(body.webhookEvents.includes('conversion.created'));
    assert.deepEqual(body.limits, { bodyBytes: 65536, structureBytes: 262144 });
  });

  test('every scope it lists can be granted to a token', async () => {
    const { body } = await app.api('GET', '/v2/meta', { token: null });
    const r = await app.api('POST', '/v2/handles/demo/tokens', { body: { name: 'all scopes', scopes: body.scopes } });
    assert.equal(r.status, 201, r.text);
  });
});

describe('GET /v2/dev/memory (local development only)', () => {
  test("the isolate's wasm memory, in whole 64 KiB pages; other methods are 405", async () => {
    const r = await app.api('GET', '/v2/dev/memory', { token: null });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body), ['cacheReads', 'wasmMemoryBytes']);
    assert.ok(r.body.wasmMemoryBytes >= 65536 && r.body.wasmMemoryBytes % 65536 === 0, r.text);
    assert.deepEqual(Object.keys(r.body.cacheReads), ['hosts', 'links', 'rules']);
    const post = await app.api('POST', '/v2/dev/memory', { token: null });
    assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET']);
  });
});

describe('the isolate cache: concurrent misses share one D1 read', () => {
  const reads = async () => (await app.api('GET', '/v2/dev/memory', { token: null })).body.cacheReads;
  const burst = (path, n) =>
    Promise.all(Array.from({ length: n }, () => app.api('GET', path, { token: null, redirect: 'manual' })));

  test('40 simultaneous first clicks on a link: one read of the link, one of the rules, 40 redirects', async () => {
    assert.equal((await app.api('PUT', '/v2/handles/demo/links/burst', { body: { destinationUrl: 'https://shop.example.com/burst' } })).status, 201);
    // A rule in the handle, so its rules are read too (and not found in the cache).
    assert.equal((await app.api('PUT', '/v2/handles/demo/rules/burst-mobile', { body: { enabled: true, priority: 10, when: { deviceIn: ['MOBILE'] }, variant: { id: 'm', destinationUrl: 'https://m.shop.example.com/' } } })).status, 201);
    const before = await reads();
    const rs = await burst('/demo/burst', 40);
    const after = await reads();
    assert.deepEqual(rs.map((r) => [r.status, r.headers.get('location')]), Array(40).fill([302, 'https://shop.example.com/burst']));
    assert.deepEqual([after.links - before.links, after.rules - before.rules], [1, 1]);
    // Cached now: another burst reads nothing.
    await burst('/demo/burst', 10);
    assert.deepEqual(await reads(), after);
  });

  test('a change made through the isolate is seen by the next click (no read from before it is kept)', async () => {
    assert.equal((await app.api('PUT', '/v2/handles/demo/links/burst2', { body: { destinationUrl: 'https://shop.example.com/one' } })).status, 201);
    const first = burst('/demo/burst2', 20);
    const put = app.api('PUT', '/v2/handles/demo/links/burst2', { body: { destinationUrl: 'https://shop.example.com/two' } });
    const rs = await first;
    assert.equal((await put).status, 200);
    for (const r of rs) assert.equal(r.status, 302);
    const next = await app.api('GET', '/demo/burst2', { token: null, redirect: 'manual' });
    assert.equal(next.headers.get('location'), 'https://shop.example.com/two');
  });

  test('an unknown slug in a burst: one read, every request a 404', async () => {
    const before = await reads();
    const rs = await burst('/demo/no-such-burst', 20);
    assert.deepEqual(rs.map((r) => r.status), Array(20).fill(404));
    assert.equal((await reads()).links - before.links, 1);
  });
});

describe('GET /openapi.json', () => {
  test('is public, cacheable JSON: OpenAPI 3.1 with both security schemes and the error envelope', async () => {
    const r = await app.api('GET', '/openapi.json', { token: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=3600');
    assert.equal(r.body.openapi, '3.1.0');
    assert.deepEqual(
      Object.fromEntries(Object.entries(r.body.components.securitySchemes).map(([k, v]) => [k, [v.type, v.scheme, v.bearerFormat]])),
      { jwt: ['http', 'bearer', 'JWT'], pat: ['http', 'bearer', 'pat_…'] },
    );
    assert.deepEqual(r.body.components.schemas.Error.required, ['error']);
    assert.deepEqual(r.body.paths['/mcp'].post.security, [{ pat: [] }]);
    assert.deepEqual(r.body.paths['/v2/handles/{handle}/tokens'].post.security, [{ jwt: [] }]);
    assert.deepEqual(r.body.paths['/v2/handles/{handle}/links'].get.security, [{ jwt: [] }, { pat: [] }]);
    assert.equal(r.body.paths['/v2/dev/token'], undefined, 'development routes are not described');
  });

  test('HEAD answers like GET; other methods are 405 with Allow', async () => {
    const head = await fetch(`${app.base}/openapi.json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'application/json; charset=utf-8');
    const post = await app.api('POST', '/openapi.json', { token: null });
    assert.deepEqual([post.status, post.body.error.code, post.headers.get('allow')], [405, 'method_not_allowed', 'GET, HEAD']);
  });

  test('every path it lists answers the documented methods (no 404 route-not-found, no 405)', async () => {
    const { body } = await app.api('GET', '/openapi.json', { token: null });
    const sample = { handle: 'demo', campaignId: 'nope-campaign', slug: 'nope', ruleId: 'nope-rule', experimentId: 'nope-exp',
      host: 'go.nope.example', tokenId: 'tok_x', webhookId: 'wh_x', deliveryId: 'dlv_x' };
    const pending = ['/v2/handles/{handle}/webhooks/{webhookId}/enable', '/v2/handles/{handle}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver'];
    let checked = 0;
    for (const [template, item] of Object.entries(body.paths)) {
      const path = template.replace(/\{(\w+)\}/g, (_, k) => sample[k]);
      for (const method of ['get', 'head', 'post', 'put', 'patch', 'delete'].filter((m) => item[m])) {
        const r = await fetch(app.base + path, { method: method.toUpperCase(), redirect: 'manual' });
        const text = await r.text();
        if (pending.includes(template) && r.status === 404) continue; // added by the webhooks branch
        assert.notEqual(r.status, 405, `${method} ${template}: ${text}`);
        assert.ok(!text.includes('Route does not exist'), `${method} ${template}: ${r.status} ${text}`);
        assert.ok(r.status < 500, `${method} ${template}: ${r.status}`);
        checked++;
      }
    }
    assert.ok(checked >= 55, `checked ${checked}`);
  });
});
