// Credentials: JWT verification (missing, expired, forged, alg:none, wrong
// handle, too low a role), PATs minted through /tokens (secret shown once,
// listing, revocation, never more than their creator) and the PAT scope
// matrix over every route a PAT may use.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp } from '../harness/app.mjs';
import { sleep } from '../harness/env.mjs';
import { mint } from '../../scripts/token.mjs';
import { mintPat, seedAutomation, structure } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp();
  await seedAutomation(app);
});
after(() => app?.stop());

const pat = (scopes, opts) => mintPat(app, scopes, opts);

const ALL = ['campaigns.read', 'campaigns.write', 'links.read', 'links.write', 'analytics.read', 'conversions.write', 'pages.read', 'pages.write', 'webhooks.read', 'webhooks.write'];
// [method, path, body, scope] for every route a PAT may use.
const ROUTES = [
  ['GET', '/v2/handles/demo/campaigns', null, 'campaigns.read'],
  ['POST', '/v2/handles/demo/campaigns', { goalType: 'LEAD_CAPTURE' }, 'campaigns.write'],
  ['GET', '/v2/handles/demo/campaigns/auto-cmp', null, 'campaigns.read'],
  ['PATCH', '/v2/handles/demo/campaigns/auto-cmp', { name: 'renamed' }, 'campaigns.write'],
  ['GET', '/v2/handles/demo/campaigns/auto-cmp/health', null, 'campaigns.read'],
  ['POST', '/v2/handles/demo/campaigns/auto-cmp/test-conversion', { value: 1 }, 'conversions.write'],
  ['GET', '/v2/handles/demo/links', null, 'links.read'],
  ['PUT', '/v2/handles/demo/links/auto-link', { destinationUrl: 'https://e.example/', campaignId: 'auto-cmp' }, 'links.write'],
  ['GET', '/v2/handles/demo/links/auto-link', null, 'links.read'],
  ['DELETE', '/v2/handles/demo/links/no-such-link', null, 'links.write'],
  ['GET', '/v2/handles/demo/rules', null, 'campaigns.read'],
  ['PUT', '/v2/handles/demo/rules/auto-rule', { when: { countryIn: ['AQ'] }, variant: { id: 'v', destinationUrl: 'https://v.example/' } }, 'campaigns.write'],
  ['GET', '/v2/handles/demo/rules/auto-rule', null, 'campaigns.read'],
  ['DELETE', '/v2/handles/demo/rules/no-such-rule', null, 'campaigns.write'],
  ['POST', '/v2/handles/demo/rules/explain', { slug: 'auto-link' }, 'campaigns.read'],
  ['POST', '/v2/handles/demo/conversions', { campaignId: 'auto-cmp', eventType: 'purchase', value: 1 }, 'conversions.write'],
  ['GET', '/v2/handles/demo/analytics?funnel=true&campaignId=auto-cmp', null, 'analytics.read'],
  ['GET', '/v2/handles/demo/webhooks', null, 'webhooks.read'],
  ['POST', '/v2/handles/demo/webhooks', { url: 'https://hooks.example/x', events: ['campaign.paused'] }, 'webhooks.write'],
  ['PUT', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp', structure, 'pages.write'],
  ['GET', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp', null, 'pages.read'],
  ['POST', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp/publish', null, 'pages.write'],
];

describe('scope matrix', () => {
  test('every route: right scope passes, any other scope 403, wildcard family and * pass', async () => {
    const tokens = {};
    for (const s of ALL) tokens[s] = (await pat([s])).secret;
    const family = {};
    for (const f of ['campaigns', 'links', 'analytics', 'conversions', 'pages', 'webhooks']) family[f] = (await pat([`${f}.*`])).secret;
    const star = (await pat(['*'])).secret;
    let checked = 0;
    for (const [method, path, body, scope] of ROUTES) {
      const opts = body ? { body } : {};
      const ok = await app.api(method, path, { ...opts, token: tokens[scope] });
      assert.ok(![401, 403].includes(ok.status), `${method} ${path} with ${scope}: ${ok.status} ${ok.text}`);
      const fam = await app.api(method, path, { ...opts, token: family[scope.split('.')[0]] });
      assert.ok(![401, 403].includes(fam.status), `${method} ${path} with ${scope.split('.')[0]}.*: ${fam.status}`);
      const all = await app.api(method, path, { ...opts, token: star });
      assert.ok(![401, 403].includes(all.status), `${method} ${path} with *: ${all.status}`);
      for (const other of ALL.filter((s) => s !== scope)) {
        const r = await app.api(method, path, { ...opts, token: tokens[other] });
        assert.equal(r.status, 403, `${method} ${path} with ${other} should be 403, got ${r.status}`);
        assert.equal(r.body.error.code, 'forbidden');
        checked++;
      }
    }
    assert.equal(checked, ROUTES.length * (ALL.length - 1));
  });

  test('JWT-only routes refuse every PAT, even *: tokens (a PAT never mints a PAT) and rollup rebuild', async () => {
    const star = (await pat(['*'])).secret;
    for (const [m, p, body] of [
      ['POST', '/v2/handles/demo/tokens', { name: 'x', scopes: ['campaigns.read'] }],
      ['GET', '/v2/handles/demo/tokens'],
      ['POST', '/v2/handles/demo/campaigns/auto-cmp/rollup/rebuild'],
    ]) {
      const r = await app.api(m, p, { token: star, body });
      assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden'], `${m} ${p}`);
    }
  });

  test('PAT-only public routes refuse a JWT (403)', async () => {
    const r = await app.api('GET', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp');
    assert.equal(r.status, 403);
  });

  test("a PAT of handle a never touches handle b (403, existing or not)", async () => {
    await app.api('POST', '/v2/handles/other-brand/campaigns', { token: app.token({ 'other-brand': 'OWNER' }), body: { campaignId: 'b-secret', goalType: 'LEAD_CAPTURE' } });
    const star = (await pat(['*'])).secret;
    for (const p of ['/v2/handles/other-brand/campaigns', '/v2/handles/other-brand/campaigns/b-secret', '/v2/handles/other-brand/campaigns/nope-nope', '/v2/public/handles/other-brand/site-structure/campaigns/b-secret']) {
      const r = await app.api('GET', p, { token: star });
      assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden'], p);
    }
  });

  test('expired, revoked, unknown and malformed PATs → 401', async () => {
    const soon = await pat(['campaigns.read'], { expiresAt: new Date(Date.now() + 1500).toISOString() });
    assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: soon.secret })).status, 200);
    await sleep(2000);
    const exp = await app.api('GET', '/v2/handles/demo/campaigns', { token: soon.secret });
    assert.deepEqual([exp.status, exp.body.error.code], [401, 'unauthorized'], 'expired');
    const rev = await pat(['campaigns.read']);
    assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: rev.secret })).status, 200);
    assert.equal((await app.api('DELETE', `/v2/handles/demo/tokens/${rev.token.id}`)).status, 204);
    assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: rev.secret })).status, 401, 'revoked');
    for (const t of [`pat_${'0'.repeat(48)}`, 'pat_short', `pat_${'z'.repeat(48)}`]) {
      assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: t })).status, 401, t);
    }
  });
});

describe('tokens', () => {
  test('secret shown once, listed without it, lastUsedAt recorded, creator vs admin visibility', async () => {
    const creator = app.token({ demo: 'CREATOR' }, { sub: 'creator-1' });
    const mine = await pat(['analytics.*'], { jwt: creator });
    assert.equal(mine.token.createdBy, 'creator-1');
    assert.equal(mine.token.lastUsedAt, null);
    await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=auto-cmp', { token: mine.secret });
    const listed = await app.eventually(async () => {
      const r = await app.api('GET', '/v2/handles/demo/tokens', { token: creator });
      const t = r.body.tokens.find((x) => x.id === mine.token.id);
      return t?.lastUsedAt ? r : null;
    });
    assert.ok(listed, 'lastUsedAt set after use');
    assert.ok(!JSON.stringify(listed.body).includes(mine.secret), 'no secret in listings');
    assert.ok(listed.body.tokens.every((t) => t.createdBy === 'creator-1'), 'a CREATOR sees only their own tokens');
    const admin = await app.api('GET', '/v2/handles/demo/tokens?limit=100');
    assert.ok(admin.body.tokens.some((t) => t.createdBy !== 'creator-1'), 'an OWNER sees everyone’s');
    const other = admin.body.tokens.find((t) => t.createdBy !== 'creator-1');
    assert.equal((await app.api('DELETE', `/v2/handles/demo/tokens/${other.id}`, { token: creator })).status, 403, 'a CREATOR cannot revoke others’ tokens');
  });

  test('a PAT never exceeds its creator: CREATOR cannot grant webhooks.* or *; VIEWER cannot mint', async () => {
    const creator = app.token({ demo: 'CREATOR' });
    for (const scopes of [['webhooks.read'], ['*']]) {
      const r = await app.api('POST', '/v2/handles/demo/tokens', { token: creator, body: { name: 'x', scopes } });
      assert.equal(r.status, 403, JSON.stringify(scopes));
    }
    const viewer = app.token({ demo: 'VIEWER' });
    assert.equal((await app.api('POST', '/v2/handles/demo/tokens', { token: viewer, body: { name: 'x', scopes: ['campaigns.read'] } })).status, 403);
    for (const body of [{ scopes: ['*'] }, { name: 'x', scopes: [] }, { name: 'x', scopes: ['nope.read'] }, { name: 'x', scopes: ['*'], expiresAt: '2001-01-01T00:00:00Z' }]) {
      const r = await app.api('POST', '/v2/handles/demo/tokens', { body });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], JSON.stringify(body));
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
