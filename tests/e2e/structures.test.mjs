// Campaign detail structures: versioned upserts stored in R2 (each a new
// version, never overwritten), publishing, the login-gated detail page
// (/<handle>/p/<slug>), and bad structure bodies.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp } from '../harness/app.mjs';
import { mintPat, seedAutomation, structure } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp();
  await seedAutomation(app);
});
after(() => app?.stop());

const pat = (scopes, opts) => mintPat(app, scopes, opts);

describe('campaign detail structures', () => {
  test('three upserts → v1, v2, v3 at the exact keys; publish points at v3; the page is login-gated', async () => {
    const c = await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'spring-launch', goalType: 'PRODUCT_SALE' } });
    assert.equal(c.status, 201);
    const writer = (await pat(['pages.*'])).secret;
    const versions = [];
    for (let v = 1; v <= 3; v++) {
      const path = v === 2 ? '/v2/handles/demo/site-structure/campaigns/spring-launch' : '/v2/public/handles/demo/site-structure/campaigns/spring-launch';
      const r = await app.api('PUT', path, {
        token: v === 2 ? app.ownerToken : writer,
        body: { page: { slug: 'spring-details', title: `Spring v${v}`, blocks: [{ type: 'hero', n: v }] }, schema: { type: 'object', version: v } },
      });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(r.body, { version: v, key: `site-structure/demo/campaigns/spring-launch/v${v}.json` });
      versions.push(r.body);
    }
    for (let v = 1; v <= 3; v++) {
      const r = await app.api('GET', `/v2/public/handles/demo/site-structure/campaigns/spring-launch?version=${v}`, { token: writer });
      assert.equal(r.status, 200);
      assert.equal(r.body.key, `site-structure/demo/campaigns/spring-launch/v${v}.json`);
      assert.equal(r.body.page.title, `Spring v${v}`, 'each version kept (never overwritten)');
      assert.deepEqual(r.body.schema, { type: 'object', version: v });
    }
    const latest = await app.api('GET', '/v2/handles/demo/site-structure/campaigns/spring-launch');
    assert.equal(latest.body.version, 3);
    assert.equal(latest.body.published, null);
    const pub = await app.api('POST', '/v2/public/handles/demo/site-structure/campaigns/spring-launch/publish', { token: writer });
    assert.equal(pub.status, 200, pub.text);
    assert.deepEqual([pub.body.version, pub.body.access, pub.body.detailsPageSlug], [3, 'FREE_WITH_LOGIN', 'spring-details']);
    const campaign = await app.api('GET', '/v2/handles/demo/campaigns/spring-launch');
    assert.equal(campaign.body.campaign.detailsPageSlug, 'spring-details');

    const anon = await fetch(`${app.base}/demo/p/spring-details`);
    const anonBody = await anon.json();
    assert.equal(anon.status, 401);
    assert.equal(anonBody.error.code, 'unauthorized');
    assert.match(anonBody.error.message, /[Ss]ign in/);
    assert.ok(!JSON.stringify(anonBody).includes('Spring v3'), 'never the content');
    const viewer = app.token({ someone: 'VIEWER' }, { sub: 'visitor-1' });
    const signedIn = await fetch(`${app.base}/demo/p/spring-details`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(signedIn.status, 200);
    const page = await signedIn.json();
    assert.deepEqual([page.version, page.page.title, page.access], [3, 'Spring v3', 'FREE_WITH_LOGIN']);
    const cookie = await fetch(`${app.base}/demo/p/spring-details`, { headers: { cookie: `theme=dark; ef_session=${viewer}` } });
    assert.equal(cookie.status, 200, 'the session cookie works too');
    const forged = await fetch(`${app.base}/demo/p/spring-details`, { headers: { cookie: 'ef_session=abc.def.ghi' } });
    assert.equal(forged.status, 401);
    assert.equal((await fetch(`${app.base}/demo/p/unknown-page`, { headers: { authorization: `Bearer ${viewer}` } })).status, 404);
  });

  test('oversized (> 256 KiB) → 413; non-object page/schema → 400 invalid_field; not JSON → 400 invalid_json; unknown campaign → 404', async () => {
    const p = '/v2/handles/demo/site-structure/campaigns/auto-cmp';
    const big = await app.api('PUT', p, { body: { page: { slug: 's', title: 't' }, schema: { blob: 'x'.repeat(270 * 1024) } } });
    assert.deepEqual([big.status, big.body.error.code], [413, 'payload_too_large']);
    const okBig = await app.api('PUT', p, { body: { page: { slug: 's', title: 't' }, schema: { blob: 'x'.repeat(200 * 1024) } } });
    assert.equal(okBig.status, 201, 'structures up to 256 KiB are fine (above the 64 KiB API limit)');
    for (const body of [{ page: [], schema: {} }, { page: { slug: 's', title: 't' }, schema: 'x' }, { page: 'x', schema: {} }, { page: { slug: 's', title: 't' }, schema: [1] }, { schema: {} }]) {
      const r = await app.api('PUT', p, { body });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], JSON.stringify(body));
    }
    assert.deepEqual((await app.api('PUT', p, { raw: '[1,2]' })).body.error.code, 'invalid_json');
    const missing = await app.api('PUT', '/v2/handles/demo/site-structure/campaigns/no-such-cmp', { body: structure });
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'campaign_not_found']);
    const unpublished = await app.api('POST', '/v2/handles/demo/site-structure/campaigns/links-none/publish');
    assert.equal(unpublished.status, 404);
  });
});
