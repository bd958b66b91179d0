// Webhooks: signed, retried deliveries with a delivery log — against a real
// receiver started by the test on 127.0.0.1.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { spawnApp } from '../harness/app.mjs';
import { sleep } from '../harness/env.mjs';

let app;
let receiver;
const got = []; // every request the receiver saw
const plans = new Map(); // path → list of statuses to answer, in order
const hold = new Map(); // path → promise the receiver waits on before answering

function startReceiver() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', async () => {
        const entry = { path: req.url, headers: req.headers, body, answered: false };
        got.push(entry);
        if (hold.has(req.url)) await hold.get(req.url);
        const plan = plans.get(req.url) ?? [];
        const status = plan.length ? plan.shift() : 200;
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 200 ? 'ok' : 'nope');
        entry.answered = true;
        entry.status = status;
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

before(async () => {
  receiver = await startReceiver();
  app = await spawnApp({ vars: { WEBHOOK_RETRY_BASE_SECS: '1' } });
});
after(() => {
  app?.stop();
  receiver?.close();
});

const hookUrl = (path) => `http://127.0.0.1:${receiver.address().port}${path}`;
const at = (path) => got.filter((g) => g.path === path);

/** Standard Webhooks verification, as a receiver would write it. */
function verify(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest();
  return headers['webhook-signature'].split(' ').some((sig) => {
    const [v, b64] = sig.split(',');
    const given = Buffer.from(b64 ?? '', 'base64');
    return v === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

async function subscribe(path, events, handle = 'demo') {
  const r = await app.api('POST', `/v2/handles/${handle}/webhooks`, { body: { url: hookUrl(path), events }, token: app.token({ [handle]: 'OWNER' }) });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

describe('delivery', () => {
  test('a test conversion produces exactly one signed conversion.tested delivery; a tampered body fails verification', async () => {
    const { webhook, secret } = await subscribe('/tested', ['conversion.tested']);
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(webhook.events, ['conversion.tested']);
    await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'hooked', goalType: 'PRODUCT_SALE' } });
    const conv = await app.api('POST', '/v2/handles/demo/campaigns/hooked/test-conversion', { body: { eventType: 'purchase', value: 99.99, currency: 'USD', metadata: { orderId: '12345', items: 3 } } });
    assert.equal(conv.status, 201);
    assert.ok(await app.eventually(() => at('/tested').length >= 1, { timeout: 20_000 }), 'delivered');
    await sleep(2500);
    const reqs = at('/tested');
    assert.equal(reqs.length, 1, 'exactly one delivery');
    const { headers, body } = reqs[0];
    assert.equal(headers['content-type'], 'application/json');
    assert.match(headers['webhook-id'], /^evt_[0-9a-f]{24}$/);
    assert.ok(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000) < 120);
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.ok(verify(secret, headers, body), 'the signature verifies with the secret');
    assert.ok(!verify(secret, headers, body.replace('99.99', '9.99')), 'a tampered body fails');
    assert.ok(!verify('whsec_' + Buffer.from('other-key').toString('base64'), headers, body), 'another secret fails');
    const event = JSON.parse(body);
    assert.deepEqual(Object.keys(event).sort(), ['createdAt', 'data', 'handle', 'id', 'type']);
    assert.equal(event.id, headers['webhook-id']);
    assert.equal(event.type, 'conversion.tested');
    assert.equal(event.handle, 'demo');
    assert.equal(event.data.conversionId, conv.body.conversion.conversionId);
    assert.equal(event.data.metadata.test, true);
    const log = await app.api('GET', `/v2/handles/demo/webhooks/${webhook.id}/deliveries`);
    assert.equal(log.body.deliveries.length, 1);
    assert.deepEqual(
      [log.body.deliveries[0].outcome, log.body.deliveries[0].attempt, log.body.deliveries[0].responseStatus, log.body.deliveries[0].type],
      ['delivered', 1, 200, 'conversion.tested'],
    );
    assert.equal(typeof log.body.deliveries[0].latencyMs, 'number');
  });

  test('a receiver answering 500 twice then 200 gets three tries, all logged, delivered once', async () => {
    plans.set('/flaky', [500, 500, 200]);
    const { webhook } = await subscribe('/flaky', ['conversion.created']);
    await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'flaky-cmp', goalType: 'LEAD_CAPTURE', status: 'ACTIVE' } });
    const c = await app.api('POST', '/v2/handles/demo/conversions', { body: { campaignId: 'flaky-cmp', eventType: 'lead' } });
    assert.equal(c.status, 201);
    const log = await app.eventually(async () => {
      const r = await app.api('GET', `/v2/handles/demo/webhooks/${webhook.id}/deliveries`);
      return r.body.deliveries.some((d) => d.outcome === 'delivered') ? r.body.deliveries : null;
    }, { timeout: 40_000, interval: 250 });
    assert.ok(log, 'eventually delivered');
    assert.deepEqual(log.map((d) => [d.attempt, d.outcome, d.responseStatus]), [
      [1, 'retrying', 500],
      [2, 'retrying', 500],
      [3, 'delivered', 200],
    ]);
    assert.ok(log[0].nextAttemptAt, 'a retry says when it will happen');
    const reqs = at('/flaky');
    assert.equal(reqs.length, 3);
    assert.equal(new Set(reqs.map((r) => r.headers['webhook-id'])).size, 1, 'same event id on every try');
    assert.equal(new Set(reqs.map((r) => r.body)).size, 1, 'same body on every try');
    assert.equal(reqs.filter((r) => r.status === 200).length, 1, 'delivered once');
  });

  test("a slow receiver never slows the API call that caused the event", async () => {
    let release;
    hold.set('/slow', new Promise((r) => (release = r)));
    await subscribe('/slow', ['conversion.tested']);
    const r = await app.api('POST', '/v2/handles/demo/campaigns/hooked/test-conversion', { body: { value: 1 } });
    assert.equal(r.status, 201);
    assert.ok(await app.eventually(() => at('/slow').length === 1), 'the receiver got the request');
    assert.equal(at('/slow')[0].answered, false, 'the API answered while the receiver was still holding the delivery');
    release();
  });
});

describe('events', () => {
  test('activate and pause emit their events; a webhook subscribed to other events receives none', async () => {
    await subscribe('/lifecycle', ['campaign.activated', 'campaign.paused'], 'life');
    await subscribe('/other', ['conversion.created'], 'life');
    const tok = app.token({ life: 'OWNER' });
    await app.api('POST', '/v2/handles/life/campaigns', { token: tok, body: { campaignId: 'life-cmp', goalType: 'LEAD_CAPTURE' } });
    for (const status of ['ACTIVE', 'PAUSED', 'ACTIVE']) {
      assert.equal((await app.api('PATCH', '/v2/handles/life/campaigns/life-cmp', { token: tok, body: { status } })).status, 200);
    }
    await app.api('PATCH', '/v2/handles/life/campaigns/life-cmp', { token: tok, body: { name: 'no status change' } });
    assert.ok(await app.eventually(() => at('/lifecycle').length >= 3, { timeout: 20_000 }));
    await sleep(2000);
    const types = at('/lifecycle').map((g) => JSON.parse(g.body).type);
    assert.deepEqual(types.sort(), ['campaign.activated', 'campaign.activated', 'campaign.paused']);
    const paused = at('/lifecycle').map((g) => JSON.parse(g.body)).find((e) => e.type === 'campaign.paused');
    assert.equal(paused.data.status, 'PAUSED');
    assert.equal(paused.data.campaignId, 'life-cmp');
    assert.equal(at('/other').length, 0, 'no events it did not subscribe to');
  });

  test("health: a custom_webhook campaign's webhook check turns PASS once a conversion subscription exists", async () => {
    const tok = app.token({ aff: 'OWNER' });
    await app.api('POST', '/v2/handles/aff/campaigns', { token: tok, body: { campaignId: 'aff-cmp', goalType: 'AFFILIATE_CLICKOUT' } });
    const before = await app.api('GET', '/v2/handles/aff/campaigns/aff-cmp/health', { token: tok });
    const check = (r) => r.body.checks.find((c) => c.name === 'webhook');
    assert.equal(check(before).status, 'FAIL');
    assert.equal(before.body.readiness, 'NOT_READY');
    await subscribe('/aff-lifecycle', ['campaign.paused'], 'aff');
    assert.equal(check(await app.api('GET', '/v2/handles/aff/campaigns/aff-cmp/health', { token: tok })).status, 'FAIL', 'not a conversion event');
    await subscribe('/aff', ['conversion.created'], 'aff');
    const after = await app.api('GET', '/v2/handles/aff/campaigns/aff-cmp/health', { token: tok });
    assert.equal(check(after).status, 'PASS');
  });
});

describe('subscriptions', () => {
  test('list and get never show the secret; delete stops deliveries', async () => {
    const { webhook, secret } = await subscribe('/gone', ['conversion.tested'], 'subs');
    const tok = app.token({ subs: 'ADMIN' });
    const list = await app.api('GET', '/v2/handles/subs/webhooks', { token: tok });
    assert.deepEqual(list.body.webhooks.map((w) => w.id), [webhook.id]);
    assert.ok(!list.text.includes(secret));
    const one = await app.api('GET', `/v2/handles/subs/webhooks/${webhook.id}`, { token: tok });
    assert.ok(!one.text.includes(secret));
    assert.equal((await app.api('DELETE', `/v2/handles/subs/webhooks/${webhook.id}`, { token: tok })).status, 204);
    await app.api('POST', '/v2/handles/subs/campaigns', { token: tok, body: { campaignId: 'subs-cmp', goalType: 'LEAD_CAPTURE' } });
    await app.api('POST', '/v2/handles/subs/campaigns/subs-cmp/test-conversion', { token: tok, body: {} });
    await sleep(2500);
    assert.equal(at('/gone').length, 0);
    assert.equal((await app.api('GET', `/v2/handles/subs/webhooks/${webhook.id}`, { token: tok })).status, 404);
  });

  test('bad subscriptions and roles', async () => {
    const cases = [
      [{ url: 'http://hooks.example.com/x', events: ['campaign.paused'] }, 'plain http to a public host'],
      [{ url: 'https://10.0.0.5/x', events: ['campaign.paused'] }, 'private target'],
      [{ url: 'https://hooks.example.com/x', events: ['click.created'] }, 'unknown event'],
      [{ url: 'https://hooks.example.com/x', events: [] }, 'no events'],
      [{ url: 'https://hooks.example.com/x' }, 'events missing'],
      [{ events: ['campaign.paused'] }, 'url missing'],
    ];
    for (const [body, why] of cases) {
      const r = await app.api('POST', '/v2/handles/demo/webhooks', { body });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], why);
    }
    const creator = app.token({ demo: 'CREATOR' });
    assert.equal((await app.api('POST', '/v2/handles/demo/webhooks', { token: creator, body: { url: 'https://h.example/', events: ['campaign.paused'] } })).status, 403, 'webhooks need ADMIN');
    assert.equal((await app.api('GET', '/v2/handles/demo/webhooks', { token: creator })).status, 403);
  });
});
