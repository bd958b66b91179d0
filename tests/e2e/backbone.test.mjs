// Issue: the backbone. The guide's steps 1–2 verbatim, its error table,
// the lifecycle, auth, bad bodies, links and the redirect.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, guideSetup, UA } from './helpers.mjs';
import { mint } from '../../scripts/token.mjs';

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
    await app.api('PUT', '/v2/handles/demo/links/nofwd', { body: { destinationUrl: 'https://e.example/p', trackingPolicy: { forwardQuery: false, appendContextParam: true, contextParamName: 'cid' } } });
    const n = await app.click('/demo/nofwd?x=1');
    assert.match(n.location, /^https:\/\/e\.example\/p\?cid=clk_[a-z2-7]{24}$/);
  });

  test('an unknown slug is a 404 page, never a redirect', async () => {
    for (const p of ['/demo/nope', '/ghost/spring-promo']) {
      const r = await app.click(p);
      assert.equal(r.status, 404, p);
      assert.equal(r.location, null);
    }
  });
});

describe("the guide's error table", () => {
  test('400 invalid_campaign_id for several bad ids', async () => {
    for (const id of ['X', 'ab', 'Spring-Launch', '-abc', 'spring launch', 'a'.repeat(65), 'spring.launch', 'ünicode']) {
      const r = await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: id, goalType: 'PRODUCT_SALE' } });
      assert.equal(r.status, 400, id);
      assert.equal(r.body.error.code, 'invalid_campaign_id', id);
      assert.equal(typeof r.body.error.message, 'string');
    }
  });

  test('409 campaign_conflict', async () => {
    const body = { campaignId: 'dupe-campaign', goalType: 'LEAD_CAPTURE' };
    assert.equal((await app.api('POST', '/v2/handles/demo/campaigns', { body })).status, 201);
    const r = await app.api('POST', '/v2/handles/demo/campaigns', { body });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'campaign_conflict');
  });

  test('404 campaign_not_found: get, patch, and a link to a missing campaign', async () => {
    const g = await app.api('GET', '/v2/handles/demo/campaigns/missing-one');
    assert.deepEqual([g.status, g.body.error.code], [404, 'campaign_not_found']);
    const p = await app.api('PATCH', '/v2/handles/demo/campaigns/missing-one', { body: { status: 'ACTIVE' } });
    assert.deepEqual([p.status, p.body.error.code], [404, 'campaign_not_found']);
    const l = await app.api('PUT', '/v2/handles/demo/links/orphan', { body: { destinationUrl: 'https://e.example/', campaignId: 'missing-one' } });
    assert.deepEqual([l.status, l.body.error.code], [404, 'campaign_not_found']);
    assert.equal((await app.api('GET', '/v2/handles/demo/links/orphan')).status, 404, 'nothing half-written');
  });
});

describe('campaigns', () => {
  test('generated id, goal-type defaults and overrides', async () => {
    const r = await app.api('POST', '/v2/handles/demo/campaigns', { body: { goalType: 'AFFILIATE_CLICKOUT' } });
    assert.equal(r.status, 201);
    assert.match(r.body.campaign.campaignId, /^cmp_[0-9a-f]{16}$/);
    assert.equal(r.body.campaign.status, 'DRAFT');
    assert.equal(r.body.campaign.trackingPreset, 'custom_webhook');
    assert.equal(r.body.campaign.conversionEventType, 'affiliate_click');
    assert.equal(r.body.campaign.activatedAt, null);
    const o = await app.api('POST', '/v2/handles/demo/campaigns', {
      body: { campaignId: 'override-me', goalType: 'NEWSLETTER', trackingPreset: 'custom_webhook', conversionEventType: 'double_opt_in', currency: 'EUR', name: 'Weekly' },
    });
    assert.equal(o.status, 201);
    assert.deepEqual(
      [o.body.campaign.trackingPreset, o.body.campaign.conversionEventType, o.body.campaign.currency, o.body.campaign.name],
      ['custom_webhook', 'double_opt_in', 'EUR', 'Weekly'],
    );
  });

  test('lifecycle: every allowed and forbidden transition', async () => {
    const cases = [
      ['DRAFT', 'ACTIVE', 200],
      ['DRAFT', 'PAUSED', 409],
      ['ACTIVE', 'PAUSED', 200],
      ['ACTIVE', 'DRAFT', 409],
      ['PAUSED', 'ACTIVE', 200],
      ['PAUSED', 'DRAFT', 409],
    ];
    let n = 0;
    for (const [from, to, expect] of cases) {
      const id = `life-${n++}`;
      await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: id, goalType: 'LEAD_CAPTURE' } });
      // walk to `from`
      const path = { DRAFT: [], ACTIVE: ['ACTIVE'], PAUSED: ['ACTIVE', 'PAUSED'] }[from];
      for (const s of path) assert.equal((await app.api('PATCH', `/v2/handles/demo/campaigns/${id}`, { body: { status: s } })).status, 200);
      const r = await app.api('PATCH', `/v2/handles/demo/campaigns/${id}`, { body: { status: to } });
      assert.equal(r.status, expect, `${from} -> ${to}`);
      if (expect === 409) {
        assert.equal(r.body.error.code, 'invalid_transition');
        const g = await app.api('GET', `/v2/handles/demo/campaigns/${id}`);
        assert.equal(g.body.campaign.status, from, 'unchanged after a refused transition');
      } else {
        assert.equal(r.body.campaign.status, to);
      }
    }
  });

  test('list: pagination, ?status= filter', async () => {
    for (let i = 0; i < 5; i++) {
      await app.api('POST', '/v2/handles/pager/campaigns', {
        body: { campaignId: `page-${i}`, goalType: 'LEAD_CAPTURE', status: i % 2 ? 'ACTIVE' : 'DRAFT' },
        token: app.token({ pager: 'OWNER' }),
      });
    }
    const tok = app.token({ pager: 'VIEWER' });
    const seen = [];
    let cursor = null;
    do {
      const r = await app.api('GET', `/v2/handles/pager/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: tok });
      assert.equal(r.status, 200);
      assert.ok(r.body.campaigns.length <= 2);
      seen.push(...r.body.campaigns.map((c) => c.campaignId));
      cursor = r.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    const active = await app.api('GET', '/v2/handles/pager/campaigns?status=ACTIVE', { token: tok });
    assert.deepEqual(active.body.campaigns.map((c) => c.campaignId), ['page-1', 'page-3']);
    assert.equal(active.body.nextCursor, null);
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'cursor=zzz!', 'status=LIVE']) {
      const r = await app.api('GET', `/v2/handles/pager/campaigns?${q}`, { token: tok });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], q);
    }
  });
});

describe('auth', () => {
  const path = '/v2/handles/demo/campaigns';
  test('no token → 401', async () => {
    const r = await app.api('GET', path, { token: null });
    assert.deepEqual([r.status, r.body.error.code], [401, 'unauthorized']);
  });

  test('expired, wrong-secret, alg:none, HS512-labelled and garbage tokens → 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const noneTok = (() => {
      const b = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${b({ alg: 'none', typ: 'JWT' })}.${b({ sub: 'x', exp: now + 600, handles: { demo: 'OWNER' } })}.`;
    })();
    const tokens = {
      expired: mint(app.secret, { handles: { demo: 'OWNER' }, ttl: -3600 }),
      wrongSecret: mint('not-the-secret', { handles: { demo: 'OWNER' } }),
      algNone: noneTok,
      hs512Header: mint(app.secret, { handles: { demo: 'OWNER' }, header: { alg: 'HS512', typ: 'JWT' } }),
      notYetValid: mint(app.secret, { handles: { demo: 'OWNER' }, extra: { nbf: now + 3600 } }),
      garbage: 'not.a.jwt',
    };
    for (const [name, tok] of Object.entries(tokens)) {
      const r = await app.api('GET', path, { token: tok });
      assert.deepEqual([r.status, r.body.error.code], [401, 'unauthorized'], name);
    }
  });

  test('VIEWER can read but not create (403)', async () => {
    const tok = app.token({ demo: 'VIEWER' });
    assert.equal((await app.api('GET', path, { token: tok })).status, 200);
    const r = await app.api('POST', path, { token: tok, body: { goalType: 'LEAD_CAPTURE' } });
    assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden']);
  });

  test("a token for handle a gets 403 on handle b's campaign, existing or not", async () => {
    await app.api('POST', '/v2/handles/hb/campaigns', { token: app.token({ hb: 'OWNER' }), body: { campaignId: 'secret-plan', goalType: 'LEAD_CAPTURE' } });
    const tokA = app.token({ ha: 'OWNER' });
    for (const p of ['/v2/handles/hb/campaigns/secret-plan', '/v2/handles/hb/campaigns/no-such-thing', '/v2/handles/hb/campaigns/X']) {
      const r = await app.api('GET', p, { token: tokA });
      assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden'], p);
    }
    const w = await app.api('PATCH', '/v2/handles/hb/campaigns/secret-plan', { token: tokA, body: { status: 'ACTIVE' } });
    assert.equal(w.status, 403);
  });
});

describe('bad input', () => {
  const big = JSON.stringify({ goalType: 'PRODUCT_SALE', name: 'x'.repeat(2 * 1024 * 1024) });
  const campaignCases = [
    ['not JSON', { raw: '{"goalType": ' }, 400, 'invalid_json'],
    ['empty body', { raw: '' }, 400, 'invalid_json'],
    ['array body', { raw: '[]' }, 400, 'invalid_json'],
    ['goalType wrong type', { body: { goalType: 7 } }, 400, 'invalid_field'],
    ['missing goalType', { body: { campaignId: 'no-goal' } }, 400, 'invalid_field'],
    ['unknown goalType', { body: { goalType: 'WORLD_DOMINATION' } }, 400, 'invalid_field'],
    ['status wrong type', { body: { goalType: 'PRODUCT_SALE', status: true } }, 400, 'invalid_field'],
    ['name too long', { body: { goalType: 'PRODUCT_SALE', name: 'n'.repeat(121) } }, 400, 'invalid_field'],
    ['unknown field', { body: { goalType: 'PRODUCT_SALE', budget: 5 } }, 400, 'invalid_field'],
    ['2 MB body', { raw: big, headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large'],
    ['XML content type', { raw: '<campaign/>', headers: { 'content-type': 'application/xml' } }, 415, 'unsupported_media_type'],
  ];
  for (const [name, opts, status, code] of campaignCases) {
    test(`campaign: ${name} → ${status} ${code}`, async () => {
      const r = await app.api('POST', '/v2/handles/demo/campaigns', opts);
      assert.equal(r.status, status, r.text);
      assert.equal(r.body.error.code, code);
    });
  }

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

  test('wrong methods → 405 with Allow, unknown routes → 404 envelope', async () => {
    const r = await app.api('DELETE', '/v2/handles/demo/campaigns');
    assert.deepEqual([r.status, r.body.error.code, r.headers.get('allow')], [405, 'method_not_allowed', 'GET, POST']);
    const p = await app.api('POST', '/demo/spring-promo');
    assert.deepEqual([p.status, p.body.error.code], [405, 'method_not_allowed']);
    const n = await app.api('GET', '/v2/handles/demo/nothing-here');
    assert.deepEqual([n.status, n.body.error.code], [404, 'not_found']);
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
