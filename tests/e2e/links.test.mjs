// Links and the redirect they serve: the README guide's steps 1–2 verbatim
// (campaign + link, the short URL redirecting with a fresh context parameter,
// HEAD, query forwarding, unknown slugs), link CRUD, bad link bodies, links
// pointing back at this service, and internationalized domains.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnApp, guideSetup, ROOT } from '../harness/app.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('the guide, steps 1–2', () => {
  test('create the campaign exactly as the guide shows', async () => {
    const { campaign: r, link } = await guideSetup(app);
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.quickStart, [
      'Share the short URL in your campaign channel.',
      'Click once to validate click/context tracking.',
      'Post one conversion event to complete activation.',
    ]);
    const c = r.body.campaign;
    assert.equal(c.campaignId, 'spring-launch');
    assert.equal(c.goalType, 'PRODUCT_SALE');
    assert.equal(c.status, 'ACTIVE');
    assert.equal(c.primarySlug, 'spring-promo');
    assert.equal(c.trackingPreset, 'ga4_purchase');
    assert.equal(c.conversionEventType, 'purchase');
    assert.equal(c.currency, 'USD');
    assert.equal(c.detailsPageSlug, null);
    assert.match(c.createdAt, ISO_MS);
    assert.match(c.activatedAt, ISO_MS);

    assert.equal(link.status, 201);
    assert.equal(link.body.link.destinationUrl, 'https://shop.example.com/spring');
    assert.equal(link.body.link.campaignId, 'spring-launch');
    assert.deepEqual(link.body.link.trackingPolicy, { mode: 'DIRECT', appendContextParam: true, contextParamName: 'ctx', forwardQuery: true });
    assert.equal(link.body.link.shortUrl, `${app.base}/demo/spring-promo`);
  });

  test('the short URL redirects with a fresh context parameter', async () => {
    const a = await app.click('/demo/spring-promo');
    const b = await app.click('/demo/spring-promo');
    assert.equal(a.status, 302);
    // the first click is served by the async path (cold cache), the second by
    // the synchronous fast path: same answer either way
    for (const r of [a, b]) {
      assert.equal(r.status, 302);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer-when-downgrade');
    }
    assert.match(a.location, /^https:\/\/shop\.example\.com\/spring\?ctx=clk_[a-z2-7]{24}$/);
    assert.notEqual(a.location, b.location, 'each click gets its own id');
  });

  test('HEAD redirects too, and the visitor query is forwarded (destination wins)', async () => {
    const h = await app.click('/demo/spring-promo', { method: 'HEAD' });
    assert.equal(h.status, 302);
    await app.api('PUT', '/v2/handles/demo/links/fwd', { body: { destinationUrl: 'https://e.example/p?a=1' } });
    const r = await app.click('/demo/fwd?a=2&b=3');
    assert.equal(r.location, 'https://e.example/p?a=1&b=3');
    await app.api('PUT', '/v2/handles/demo/links/nofwd', { body: { destinationUrl: 'https://e.example/p', campaignId: 'spring-launch', trackingPolicy: { forwardQuery: false, appendContextParam: true, contextParamName: 'cid' } } });
    const n = await app.click('/demo/nofwd?x=1');
    assert.match(n.location, /^https:\/\/e\.example\/p\?cid=clk_[a-z2-7]{24}$/);
    // A click id only where the click is recorded: a link without a campaign gets none.
    await app.api('PUT', '/v2/handles/demo/links/loose', { body: { destinationUrl: 'https://e.example/p', trackingPolicy: { appendContextParam: true } } });
    assert.equal((await app.click('/demo/loose?x=1')).location, 'https://e.example/p?x=1');
  });

  test("the quick start's clicks (README, make dev's banner) use a browser User-Agent: qualified, not bots", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const banner = readFileSync(join(ROOT, 'scripts/dev-banner.mjs'), 'utf8');
    const uas = [readme.match(/^UA='([^']+)'$/m)?.[1], banner.match(/curl -si -A '([^']+)'/)?.[1]];
    assert.ok(uas.every(Boolean), 'both show a User-Agent');
    assert.equal((await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'quick-start', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } })).status, 201);
    assert.equal((await app.api('PUT', '/v2/handles/demo/links/quick', { body: { destinationUrl: 'https://shop.example.com/q', campaignId: 'quick-start' } })).status, 201);
    for (const ua of uas) assert.equal((await app.click('/demo/quick?utm_source=email', { ua })).status, 302);
    const f = await app.eventually(async () => {
      const x = (await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=quick-start')).body.funnel[0];
      return x.clicks >= 2 ? x : null;
    });
    assert.deepEqual([f.clicks, f.qualifiedClicks, f.botClicks], [2, 2, 0]);
  });

  test('an unknown slug is a 404 page, never a redirect', async () => {
    for (const p of ['/demo/nope', '/ghost/spring-promo']) {
      const r = await app.click(p);
      assert.equal(r.status, 404, p);
      assert.equal(r.location, null);
    }
  });
});

describe('links', () => {
  test('PUT creates (201) then replaces (200); GET, list by campaign, DELETE', async () => {
    await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'links-cmp', goalType: 'LEAD_CAPTURE' } });
    const a = await app.api('PUT', '/v2/handles/demo/links/l-one', { body: { destinationUrl: 'https://a.example/', campaignId: 'links-cmp' } });
    assert.equal(a.status, 201);
    const b = await app.api('PUT', '/v2/handles/demo/links/l-one', { body: { destinationUrl: 'https://b.example/', campaignId: 'links-cmp' } });
    assert.equal(b.status, 200);
    assert.equal(b.body.link.destinationUrl, 'https://b.example/');
    assert.equal((await app.click('/demo/l-one')).location, 'https://b.example/', 'a replace is visible to the redirect at once');
    await app.api('PUT', '/v2/handles/demo/links/l-two', { body: { destinationUrl: 'https://c.example/', campaignId: 'links-cmp' } });
    const list = await app.api('GET', '/v2/handles/demo/links?campaignId=links-cmp');
    assert.deepEqual(list.body.links.map((l) => l.slug), ['l-one', 'l-two']);
    const d = await app.api('DELETE', '/v2/handles/demo/links/l-one');
    assert.equal(d.status, 204);
    assert.equal((await app.api('GET', '/v2/handles/demo/links/l-one')).body.error.code, 'link_not_found');
    assert.equal((await app.click('/demo/l-one')).status, 404, 'deleted link stops redirecting at once');
    assert.equal((await app.api('DELETE', '/v2/handles/demo/links/l-one')).status, 404);
  });
});

describe('bad input', () => {
  const linkCases = [
    ['javascript: destination', { destinationUrl: 'javascript:alert(1)' }],
    ['private-IP destination', { destinationUrl: 'http://192.168.1.10/admin' }],
    ['loopback shorthand', { destinationUrl: 'http://127.1/' }],
    ['metadata IP', { destinationUrl: 'http://169.254.169.254/latest' }],
    ['user-info', { destinationUrl: 'https://user:pw@example.com/' }],
    ['relative', { destinationUrl: '/spring' }],
    ['too long', { destinationUrl: `https://e.example/${'a'.repeat(2100)}` }],
    ['number', { destinationUrl: 42 }],
    ['bad mode', { destinationUrl: 'https://e.example/', trackingPolicy: { mode: 'SOMETIMES' } }],
    ['bad param name', { destinationUrl: 'https://e.example/', trackingPolicy: { contextParamName: '1bad' } }],
  ];
  for (const [name, body] of linkCases) {
    test(`link: ${name} → 400 invalid_field`, async () => {
      const r = await app.api('PUT', '/v2/handles/demo/links/bad-link', { body });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], r.text);
      assert.match(r.body.error.message, /destinationUrl|trackingPolicy/);
    });
  }

  test('a link may not point back at this service', async () => {
    const host = new URL(app.base).host;
    const r = await app.api('PUT', '/v2/handles/demo/links/loop', { body: { destinationUrl: `http://${host.replace('127.0.0.1', 'localhost')}/demo/x` } });
    assert.equal(r.status, 400);
  });

  test('internationalized domains: stored and redirected in their ASCII form; Unicode tricks still refused', async () => {
    const r = await app.api('PUT', '/v2/handles/demo/links/idn', { body: { destinationUrl: 'https://Bücher.example/straße?q=ü' } });
    assert.equal(r.status, 201);
    assert.equal(r.body.link.destinationUrl, 'https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC');
    assert.equal((await app.click('/demo/idn')).location, 'https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC');
    // full-width digits and ideographic dots are loopback once mapped
    for (const destinationUrl of ['https://１２７.０.０.１/', 'http://127。0。0。1/admin', 'https://xn--/']) {
      const bad = await app.api('PUT', '/v2/handles/demo/links/idn-bad', { body: { destinationUrl } });
      assert.deepEqual([bad.status, bad.body.error.code], [400, 'invalid_field'], destinationUrl);
    }
    const rule = await app.api('PUT', '/v2/handles/demo/rules/idn-rule', {
      body: { priority: 1, when: { countryIn: ['GB'] }, variant: { id: 'v', destinationUrl: 'https://münchen.example/' } },
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    assert.equal(rule.body.rule.variant.destinationUrl, 'https://xn--mnchen-3ya.example/');
    assert.equal((await app.api('DELETE', '/v2/handles/demo/rules/idn-rule')).status, 204);
  });
});
