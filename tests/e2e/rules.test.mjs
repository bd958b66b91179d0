// Personalization rules decide where each click goes, explainably.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, UA } from '../harness/app.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

/** A fresh handle with an OWNER token, so tests never see each other's rules. */
let n = 0;
function tenant() {
  const handle = `rules-${n++}`;
  const token = app.token({ [handle]: 'OWNER' });
  const call = (method, path, body) => app.api(method, `/v2/handles/${handle}${path}`, { body, token });
  return { handle, token, call };
}

async function campaignWithLink(t, campaignId, slug, dest, policy = { appendContextParam: true }) {
  assert.equal((await t.call('POST', '/campaigns', { campaignId, goalType: 'PRODUCT_SALE', status: 'ACTIVE', primarySlug: slug })).status, 201);
  assert.equal((await t.call('PUT', `/links/${slug}`, { destinationUrl: dest, campaignId, trackingPolicy: policy })).status, 201);
}

const guideRule = {
  ruleId: 'spring-mobile-variant',
  enabled: true,
  priority: 100,
  when: { campaignIn: ['spring-launch'], deviceIn: ['MOBILE'] },
  variant: { id: 'mobile-optimized', destinationUrl: 'https://m.shop.example.com/spring' },
};

describe("the guide's example rule", () => {
  test('mobile → variant, desktop → default, mobile of another campaign → its own default', async () => {
    const t = tenant();
    await campaignWithLink(t, 'spring-launch', 'spring-promo', 'https://shop.example.com/spring');
    await campaignWithLink(t, 'autumn-sale', 'autumn', 'https://shop.example.com/autumn');
    const put = await t.call('PUT', '/rules/spring-mobile-variant', guideRule);
    assert.equal(put.status, 201);
    assert.deepEqual(
      { ...put.body.rule, createdAt: undefined, updatedAt: undefined },
      { ...guideRule, createdAt: undefined, updatedAt: undefined },
    );

    const mobile = await app.click(`/${t.handle}/spring-promo?utm_source=email`, { ua: UA.iphone });
    assert.match(mobile.location, /^https:\/\/m\.shop\.example\.com\/spring\?utm_source=email&ctx=clk_[a-z2-7]{24}$/);
    const android = await app.click(`/${t.handle}/spring-promo`, { ua: UA.android });
    assert.match(android.location, /^https:\/\/m\.shop\.example\.com\/spring\?ctx=clk_/);
    const desktop = await app.click(`/${t.handle}/spring-promo`, { ua: UA.mac });
    assert.match(desktop.location, /^https:\/\/shop\.example\.com\/spring\?ctx=clk_/);
    const tablet = await app.click(`/${t.handle}/spring-promo`, { ua: UA.ipad });
    assert.match(tablet.location, /^https:\/\/shop\.example\.com\/spring\?ctx=clk_/, 'a tablet is not MOBILE');
    const other = await app.click(`/${t.handle}/autumn`, { ua: UA.iphone });
    assert.match(other.location, /^https:\/\/shop\.example\.com\/autumn\?ctx=clk_/);
  });
});

describe('evaluation order and conditions', () => {
  test('priority first, ties by ruleId, disabled rules skipped, empty when matches all', async () => {
    const t = tenant();
    await campaignWithLink(t, 'order-test', 'o', 'https://default.example/', {});
    const rule = (id, priority, host, extra = {}) =>
      t.call('PUT', `/rules/${id}`, { priority, when: {}, variant: { id: `v-${id}`, destinationUrl: `https://${host}.example/` }, ...extra });
    await rule('zeta', 10, 'zeta');
    await rule('alpha', 10, 'alpha');
    assert.equal((await app.click(`/${t.handle}/o`)).location, 'https://alpha.example/', 'tie → ruleId ascending');
    await rule('low', 5, 'low');
    await rule('high', 50, 'high', { enabled: false });
    assert.equal((await app.click(`/${t.handle}/o`)).location, 'https://alpha.example/', 'disabled rule skipped');
    await rule('high', 50, 'high', { enabled: true });
    assert.equal((await app.click(`/${t.handle}/o`)).location, 'https://high.example/', 'enabling is visible at once');
    const list = await t.call('GET', '/rules');
    assert.deepEqual(list.body.rules.map((r) => r.ruleId), ['high', 'alpha', 'zeta', 'low'], 'listed in evaluation order');
    assert.equal((await t.call('DELETE', '/rules/high')).status, 204);
    assert.equal((await app.click(`/${t.handle}/o`)).location, 'https://alpha.example/');
  });

  test('country (request.cf) and source (utm_source, referrer) conditions', async () => {
    const t = tenant();
    await campaignWithLink(t, 'geo-test', 'g', 'https://default.example/', { forwardQuery: false });
    await t.call('PUT', '/rules/uk-only', { priority: 20, when: { countryIn: ['GB'] }, variant: { id: 'uk', destinationUrl: 'https://uk.example/' } });
    await t.call('PUT', '/rules/from-email', { priority: 10, when: { sourceIn: ['email'] }, variant: { id: 'em', destinationUrl: 'https://email.example/' } });
    await t.call('PUT', '/rules/from-search', { priority: 5, when: { sourceIn: ['search'], slugIn: ['g'] }, variant: { id: 'se', destinationUrl: 'https://search.example/' } });
    assert.equal((await app.click(`/${t.handle}/g`, { country: 'GB' })).location, 'https://uk.example/');
    assert.equal((await app.click(`/${t.handle}/g?utm_source=email`, { country: 'GB' })).location, 'https://uk.example/', 'priority beats source');
    assert.equal((await app.click(`/${t.handle}/g?utm_source=Email`, { country: 'US' })).location, 'https://email.example/', 'source is lower-cased');
    assert.equal((await app.click(`/${t.handle}/g?src=email`, { country: 'US' })).location, 'https://email.example/', 'src works like utm_source');
    assert.equal((await app.click(`/${t.handle}/g`, { country: 'US', referer: 'https://www.google.com/search?q=x' })).location, 'https://search.example/');
    assert.equal((await app.click(`/${t.handle}/g`, { country: 'US' })).location, 'https://default.example/');
  });
});

describe('attribution', () => {
  test('clicks and conversions of a variant are attributed to its rule (groupBy=rule)', async () => {
    const t = tenant();
    await campaignWithLink(t, 'spring-launch', 'spring-promo', 'https://shop.example.com/spring');
    await t.call('PUT', '/rules/spring-mobile-variant', guideRule);
    const m1 = await app.click(`/${t.handle}/spring-promo`, { ua: UA.iphone });
    await app.click(`/${t.handle}/spring-promo`, { ua: UA.android });
    await app.click(`/${t.handle}/spring-promo`, { ua: UA.mac });
    const clickId = new URL(m1.location).searchParams.get('ctx');
    const path = '/analytics?funnel=true&campaignId=spring-launch';
    const funnel = await app.eventually(async () => {
      const r = await t.call('GET', path);
      return r.body.funnel[0].clicks === 3 ? r.body.funnel[0] : null;
    });
    assert.ok(funnel, 'three clicks recorded');
    const conv = await t.call('POST', '/conversions', { clickId, eventType: 'purchase', value: 42.5 });
    assert.equal(conv.status, 201);
    assert.equal(conv.body.conversion.attribution.ruleId, 'spring-mobile-variant');
    assert.equal(conv.body.conversion.attribution.variantId, 'mobile-optimized');
    const g = await t.call('GET', '/analytics?groupBy=rule&campaignId=spring-launch');
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.rules, [
      { rule: 'spring-mobile-variant', clicks: 2, qualifiedClicks: 2, uniqueClicks: 2, conversions: 1, revenue: 42.5, conversionRate: 0.5, interval: { lo: 0.0945, hi: 0.9055 } },
    ]);
  });
});

describe('explain', () => {
  test('which rule fires, the final URL, and why each other rule did not', async () => {
    const t = tenant();
    await campaignWithLink(t, 'spring-launch', 'spring-promo', 'https://shop.example.com/spring');
    await t.call('PUT', '/rules/spring-mobile-variant', guideRule);
    await t.call('PUT', '/rules/gb-first', { priority: 200, when: { countryIn: ['GB'] }, variant: { id: 'gb', destinationUrl: 'https://gb.example/' } });
    await t.call('PUT', '/rules/off-rule', { enabled: false, priority: 300, when: {}, variant: { id: 'off', destinationUrl: 'https://off.example/' } });
    await t.call('PUT', '/rules/catch-all', { priority: 1, when: {}, variant: { id: 'all', destinationUrl: 'https://all.example/' } });
    const r = await t.call('POST', '/rules/explain', { slug: 'spring-promo', country: 'US', device: 'MOBILE', source: 'email' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.ruleId, 'spring-mobile-variant');
    assert.deepEqual(r.body.variant, { id: 'mobile-optimized', destinationUrl: 'https://m.shop.example.com/spring' });
    assert.equal(r.body.finalUrl, 'https://m.shop.example.com/spring?ctx=clk_example');
    assert.deepEqual(
      r.body.rules.map((x) => [x.ruleId, x.status, x.failedCondition]),
      [
        ['off-rule', 'SKIPPED', null],
        ['gb-first', 'NO_MATCH', 'countryIn'],
        ['spring-mobile-variant', 'FIRED', null],
        ['catch-all', 'SHADOWED', null],
      ],
    );
    const d = await t.call('POST', '/rules/explain', { slug: 'spring-promo', country: 'US', device: 'DESKTOP', source: 'direct' });
    assert.equal(d.body.ruleId, 'catch-all');
    assert.equal(d.body.rules.find((x) => x.ruleId === 'spring-mobile-variant').failedCondition, 'deviceIn');
    const ua = await t.call('POST', '/rules/explain', { slug: 'spring-promo', country: 'GB', userAgent: UA.iphone });
    assert.equal(ua.body.ruleId, 'gb-first');
    assert.equal(ua.body.visitor.device, 'MOBILE', 'device classified from userAgent');
    const missing = await t.call('POST', '/rules/explain', { slug: 'nope' });
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'link_not_found']);
  });
});

describe('bad rules', () => {
  const variant = { id: 'v', destinationUrl: 'https://v.example/' };
  const cases = [
    ['priority not an integer', { priority: 1.5, variant }],
    ['priority as string', { priority: '10', variant }],
    ['unknown condition key', { when: { weekdayIn: ['MON'] }, variant }],
    ['bad device', { when: { deviceIn: ['PHONE'] }, variant }],
    ['bad country', { when: { countryIn: ['USA'] }, variant }],
    ['lower-case country', { when: { countryIn: ['gb'] }, variant }],
    ['empty list', { when: { sourceIn: [] }, variant }],
    ['condition not a list', { when: { slugIn: 'x' }, variant }],
    ['missing variant', { priority: 1 }],
    ['variant javascript URL', { variant: { id: 'v', destinationUrl: 'javascript:alert(1)' } }],
    ['variant private IP', { variant: { id: 'v', destinationUrl: 'http://10.0.0.1/' } }],
    ['variant without id', { variant: { destinationUrl: 'https://v.example/' } }],
    ['ruleId mismatch', { ruleId: 'other-id', variant }],
    ['enabled not a bool', { enabled: 'yes', variant }],
  ];
  for (const [name, body] of cases) {
    test(`${name} → 400 invalid_field`, async () => {
      const t = tenant();
      const r = await t.call('PUT', '/rules/bad-rule', body);
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], r.text);
    });
  }

  test('invalid ruleId in the path → 400; not JSON → 400 invalid_json', async () => {
    const t = tenant();
    const r = await t.call('PUT', '/rules/X', { variant });
    assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field']);
    const j = await app.api('PUT', `/v2/handles/${t.handle}/rules/okay-id`, { raw: '{', token: t.token });
    assert.deepEqual([j.status, j.body.error.code], [400, 'invalid_json']);
  });

  test("a rule naming another handle's campaign is rejected (404 campaign_not_found)", async () => {
    const a = tenant();
    const b = tenant();
    await campaignWithLink(b, 'b-campaign', 'bl', 'https://b.example/');
    const r = await a.call('PUT', '/rules/steal', { when: { campaignIn: ['b-campaign'] }, variant });
    assert.deepEqual([r.status, r.body.error.code], [404, 'campaign_not_found']);
    assert.equal((await a.call('GET', '/rules/steal')).status, 404, 'nothing written');
  });

  test('rules are tenant-scoped: handle a cannot read or write rules of handle b', async () => {
    const a = tenant();
    const b = tenant();
    await b.call('PUT', '/rules/b-rule', { variant });
    for (const [m, body] of [['GET'], ['PUT', { variant }], ['DELETE']]) {
      const r = await app.api(m, `/v2/handles/${b.handle}/rules/b-rule`, { body, token: a.token });
      assert.equal(r.status, 403, m);
    }
    const viewer = app.token({ [b.handle]: 'VIEWER' });
    assert.equal((await app.api('GET', `/v2/handles/${b.handle}/rules`, { token: viewer })).status, 200);
    assert.equal((await app.api('PUT', `/v2/handles/${b.handle}/rules/v-rule`, { token: viewer, body: { variant } })).status, 403);
  });
});
