// Campaigns: create (generated ids, goal-type defaults and overrides), the
// error table of the README guide (bad id, conflict, not found), the
// lifecycle transitions, listing with pagination and filters, bad request
// bodies, and the routing answers (405 with Allow, 404 envelope).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp } from '../harness/app.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

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

  test('wrong methods → 405 with Allow, unknown routes → 404 envelope', async () => {
    const r = await app.api('DELETE', '/v2/handles/demo/campaigns');
    assert.deepEqual([r.status, r.body.error.code, r.headers.get('allow')], [405, 'method_not_allowed', 'GET, POST']);
    // POST on a short link is a password form's try: a link without a password allows GET and HEAD only.
    assert.equal((await app.api('PUT', '/v2/handles/demo/links/no-password', { body: { destinationUrl: 'https://shop.example.com/' } })).status, 201);
    const p = await app.api('POST', '/demo/no-password');
    assert.deepEqual([p.status, p.body.error.code, p.headers.get('allow')], [405, 'method_not_allowed', 'GET, HEAD']);
    // Any other method on a short link's URL: Allow names POST too (the URL takes a form's try; the link is not read).
    const put = await app.api('PUT', '/demo/no-password');
    assert.deepEqual([put.status, put.body.error.code, put.headers.get('allow')], [405, 'method_not_allowed', 'GET, HEAD, POST']);
    const gone = await app.api('POST', '/demo/no-such-link');
    assert.deepEqual([gone.status, gone.headers.get('content-type')], [404, 'text/html; charset=utf-8']);
    const n = await app.api('GET', '/v2/handles/demo/nothing-here');
    assert.deepEqual([n.status, n.body.error.code], [404, 'not_found']);
  });
});
