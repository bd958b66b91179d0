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
