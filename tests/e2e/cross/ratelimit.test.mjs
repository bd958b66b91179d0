// Hardening: rate limits (Workers rate-limiting binding, local under
// wrangler dev): conversions per PAT, failed authentications per client,
// test conversions per campaign. 429 `rate_limited` with Retry-After.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp } from '../../harness/app.mjs';

let app;
before(async () => {
  app = await spawnApp({
    limits: {
      CONVERSIONS_LIMITER: { limit: 5, period: 60 },
      AUTH_FAILURE_LIMITER: { limit: 5, period: 60 },
      TEST_CONVERSION_LIMITER: { limit: 3, period: 60 },
    },
  });
  for (const id of ['rl-one', 'rl-two']) {
    const r = await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: id, goalType: 'LEAD_CAPTURE', status: 'ACTIVE' } });
    assert.equal(r.status, 201);
  }
});
after(() => app?.stop());

async function pat() {
  const r = await app.api('POST', '/v2/handles/demo/tokens', { body: { name: 'rl', scopes: ['conversions.write'] } });
  assert.equal(r.status, 201);
  return r.body.secret;
}

function assertLimited(r, what) {
  assert.equal(r.status, 429, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body.error.code, 'rate_limited');
  assert.equal(r.headers.get('retry-after'), '60');
}

test('conversions per PAT: the 6th in a minute is 429; another PAT and JWTs are unaffected', async () => {
  const a = await pat();
  const body = { campaignId: 'rl-one', eventType: 'lead' };
  for (let i = 0; i < 5; i++) assert.equal((await app.api('POST', '/v2/handles/demo/conversions', { token: a, body })).status, 201, `#${i + 1}`);
  assertLimited(await app.api('POST', '/v2/handles/demo/conversions', { token: a, body }), 'sixth');
  const b = await pat();
  assert.equal((await app.api('POST', '/v2/handles/demo/conversions', { token: b, body })).status, 201, 'another PAT');
  assert.equal((await app.api('POST', '/v2/handles/demo/conversions', { body })).status, 201, 'a JWT');
  const funnel = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=rl-one');
  assert.equal(funnel.body.funnel[0].conversions, 7, 'the refused conversion was not recorded');
});

test('failed authentications per client: after 5 failures the next is 429; a valid token still works', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await app.api('GET', '/v2/handles/demo/campaigns', { token: `pat_${'0'.repeat(48)}` });
    assert.equal(r.status, 401, `#${i + 1}`);
  }
  assertLimited(await app.api('GET', '/v2/handles/demo/campaigns', { token: 'not.a.jwt' }), 'sixth failure');
  assert.equal((await app.api('GET', '/v2/handles/demo/campaigns')).status, 200);
});

test('test conversions per campaign: the 4th is 429; another campaign is unaffected', async () => {
  for (let i = 0; i < 3; i++) {
    assert.equal((await app.api('POST', '/v2/handles/demo/campaigns/rl-two/test-conversion', { body: {} })).status, 201, `#${i + 1}`);
  }
  assertLimited(await app.api('POST', '/v2/handles/demo/campaigns/rl-two/test-conversion', { body: {} }), 'fourth');
  assert.equal((await app.api('POST', '/v2/handles/demo/campaigns/rl-one/test-conversion', { body: {} })).status, 201);
});
