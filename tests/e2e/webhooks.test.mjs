// Webhooks: signed, retried deliveries with a delivery log — against a real
// receiver started by the test on 127.0.0.1. Signatures are checked with the
// official Standard Webhooks library, not a verifier of our own.
// The retry schedule runs at 1/100 (WEBHOOK_RETRY_BASE_SECS 0.05: tries at
// ~0, 0.05 s, 3 s, 18 s …) and stops after 4 tries, so exhausting an event
// takes ~18 s.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { spawnApp } from '../harness/app.mjs';
import { sleep } from '../harness/env.mjs';

let app;
let receiver;
const got = []; // every request the receiver saw
const plans = new Map(); // path → answers, in order: a status or {status, headers}
const always = new Map(); // path → the status answered once its plan is used up (200 if none)
const hold = new Map(); // path → promise the receiver waits on before answering

function startReceiver() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', async () => {
        const entry = { path: req.url, headers: req.headers, body, answered: false };
        got.push(entry);
        entry.at = Date.now();
        if (hold.has(req.url)) await hold.get(req.url);
        const plan = plans.get(req.url) ?? [];
        const next = plan.length ? plan.shift() : (always.get(req.url) ?? 200);
        const { status, headers = {} } = typeof next === 'number' ? { status: next } : next;
        res.writeHead(status, { 'content-type': 'text/plain', ...headers });
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
  app = await spawnApp({ vars: { WEBHOOK_RETRY_BASE_SECS: '0.05', WEBHOOK_MAX_TRIES: '4' } });
});
after(() => {
  app?.stop();
  receiver?.close();
});

const hookUrl = (path) => `http://127.0.0.1:${receiver.address().port}${path}`;
const at = (path) => got.filter((g) => g.path === path);

/** The official Standard Webhooks verifier (`standardwebhooks` on npm): throws on a bad signature. */
function verify(secret, headers, body) {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

const deliveryLog = async (handle, id, tok) =>
  (await app.api('GET', `/v2/handles/${handle}/webhooks/${id}/deliveries?limit=100`, { token: tok ?? app.token({ [handle]: 'OWNER' }) })).body.deliveries;

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

describe('retries, disabling, redelivery (Standard Webhooks recommendations)', () => {
  test('a failing receiver is retried on the scaled schedule (~0.05 s, 3 s, 18 s after the first try), then the event is exhausted', async () => {
    always.set('/sched', 500);
    const { webhook, secret } = await subscribe('/sched', ['conversion.tested'], 'sched');
    const tok = app.token({ sched: 'OWNER' });
    await app.api('POST', '/v2/handles/sched/campaigns', { token: tok, body: { campaignId: 'sched-cmp', goalType: 'LEAD_CAPTURE' } });
    assert.equal((await app.api('POST', '/v2/handles/sched/campaigns/sched-cmp/test-conversion', { token: tok, body: {} })).status, 201);
    const log = await app.eventually(async () => {
      const ds = await deliveryLog('sched', webhook.id, tok);
      return ds.some((d) => d.outcome === 'failed') ? ds : null;
    }, { timeout: 40_000, interval: 250 });
    assert.ok(log, 'the event was exhausted');
    assert.deepEqual(log.map((d) => [d.attempt, d.outcome, d.responseStatus]), [
      [1, 'retrying', 500],
      [2, 'retrying', 500],
      [3, 'retrying', 500],
      [4, 'failed', 500],
    ]);
    const reqs = at('/sched');
    assert.equal(reqs.length, 4);
    const t0 = reqs[0].at;
    const gaps = reqs.map((r) => (r.at - t0) / 1000);
    // Scheduled (±15 % of each wait) at 0.05 s, 3 s and 18 s; the local queue adds up to ~1.5 s.
    assert.ok(gaps[1] < 2, `try 2 at ${gaps[1]} s`);
    assert.ok(gaps[2] >= 2.4 && gaps[2] <= 5.5, `try 3 at ${gaps[2]} s`);
    assert.ok(gaps[3] >= 15.5 && gaps[3] <= 22.5, `try 4 at ${gaps[3]} s (a doubling schedule would be far earlier)`);
    const planned = (Date.parse(log[2].nextAttemptAt) - Date.parse(log[0].createdAt)) / 1000;
    assert.ok(planned >= 15 && planned <= 21, `try 4 planned ${planned} s after the first`);
    assert.equal(new Set(reqs.map((r) => r.headers['webhook-id'])).size, 1, 'one webhook-id for every try');
    assert.ok(reqs.every((r) => verify(secret, r.headers, r.body)), 'every try verifies with the official library');
    await sleep(2000);
    assert.equal(at('/sched').length, 4, 'no fifth try');
    const one = await app.api('GET', `/v2/handles/sched/webhooks/${webhook.id}`, { token: tok });
    assert.deepEqual([one.body.webhook.disabledAt, one.body.webhook.disabledReason], [null, null], 'one exhausted event does not disable');
  });

  test('a 503 with Retry-After is retried after the receiver\'s delay, not the schedule\'s (~0.05 s)', async () => {
    plans.set('/ra', [{ status: 503, headers: { 'retry-after': '4' } }, 200]);
    const { webhook } = await subscribe('/ra', ['conversion.tested'], 'ra');
    const tok = app.token({ ra: 'OWNER' });
    await app.api('POST', '/v2/handles/ra/campaigns', { token: tok, body: { campaignId: 'ra-cmp', goalType: 'LEAD_CAPTURE' } });
    await app.api('POST', '/v2/handles/ra/campaigns/ra-cmp/test-conversion', { token: tok, body: {} });
    const log = await app.eventually(async () => {
      const ds = await deliveryLog('ra', webhook.id, tok);
      return ds.some((d) => d.outcome === 'delivered') ? ds : null;
    }, { timeout: 20_000, interval: 250 });
    assert.ok(log, 'delivered');
    assert.deepEqual(log.map((d) => [d.attempt, d.outcome, d.responseStatus]), [[1, 'retrying', 503], [2, 'delivered', 200]]);
    assert.match(log[0].error, /Retry-After/);
    const planned = (Date.parse(log[0].nextAttemptAt) - Date.parse(log[0].createdAt)) / 1000;
    assert.ok(planned >= 3.5 && planned <= 4.5, `planned ${planned} s`);
    const [a, b] = at('/ra');
    assert.ok((b.at - a.at) / 1000 >= 3.5 && (b.at - a.at) / 1000 <= 7, `retried after ${(b.at - a.at) / 1000} s`);
  });

  test('410 Gone disables at once (shown in GET, list and health; nothing more is sent); enable re-enables; redeliver resends with the same webhook-id', async () => {
    plans.set('/g410', [410]);
    const { webhook, secret } = await subscribe('/g410', ['conversion.tested'], 'gone');
    const tok = app.token({ gone: 'OWNER' });
    await app.api('POST', '/v2/handles/gone/campaigns', { token: tok, body: { campaignId: 'gone-cmp', goalType: 'LEAD_CAPTURE' } });
    const checks = async () => (await app.api('GET', '/v2/handles/gone/campaigns/gone-cmp/health', { token: tok })).body.checks;
    assert.equal((await checks()).find((c) => c.name === 'webhooks_enabled'), undefined, 'no check while every webhook is enabled');
    await app.api('POST', '/v2/handles/gone/campaigns/gone-cmp/test-conversion', { token: tok, body: {} });
    const disabled = await app.eventually(async () => {
      const r = await app.api('GET', `/v2/handles/gone/webhooks/${webhook.id}`, { token: tok });
      return r.body.webhook.disabledAt ? r.body.webhook : null;
    }, { timeout: 20_000, interval: 250 });
    assert.ok(disabled, 'disabled');
    assert.equal(disabled.disabledReason, 'The endpoint answered 410 Gone.');
    assert.ok(Math.abs(Date.parse(disabled.disabledAt) - Date.now()) < 60_000);
    const listed = (await app.api('GET', '/v2/handles/gone/webhooks', { token: tok })).body.webhooks;
    assert.deepEqual(listed.map((w) => [w.id, w.disabledAt, w.disabledReason]), [[webhook.id, disabled.disabledAt, disabled.disabledReason]]);
    const log = await deliveryLog('gone', webhook.id, tok);
    assert.deepEqual(log.map((d) => [d.attempt, d.outcome, d.responseStatus]), [[1, 'failed', 410]], 'no retry after 410');
    const warn = (await checks()).find((c) => c.name === 'webhooks_enabled');
    assert.equal(warn.status, 'WARN');
    assert.ok(warn.detail.includes(webhook.id) && warn.detail.includes('410 Gone'), warn.detail);

    // Disabled: a new event is neither sent nor logged; redelivery is refused.
    await app.api('POST', '/v2/handles/gone/campaigns/gone-cmp/test-conversion', { token: tok, body: {} });
    await sleep(2500);
    assert.equal(at('/g410').length, 1);
    assert.equal((await deliveryLog('gone', webhook.id, tok)).length, 1);
    const refused = await app.api('POST', `/v2/handles/gone/webhooks/${webhook.id}/deliveries/${log[0].id}/redeliver`, { token: tok });
    assert.deepEqual([refused.status, refused.body.error.code], [409, 'webhook_disabled']);

    // Roles: enable and redeliver are webhook writes.
    const creator = app.token({ gone: 'CREATOR' });
    assert.equal((await app.api('POST', `/v2/handles/gone/webhooks/${webhook.id}/enable`, { token: creator })).status, 403);
    assert.equal((await app.api('POST', `/v2/handles/gone/webhooks/${webhook.id}/deliveries/${log[0].id}/redeliver`, { token: creator })).status, 403);
    assert.equal((await app.api('POST', '/v2/handles/gone/webhooks/wh_nope/enable', { token: tok })).status, 404);

    const en = await app.api('POST', `/v2/handles/gone/webhooks/${webhook.id}/enable`, { token: tok });
    assert.equal(en.status, 200);
    assert.deepEqual([en.body.webhook.id, en.body.webhook.disabledAt, en.body.webhook.disabledReason], [webhook.id, null, null]);
    assert.equal((await checks()).find((c) => c.name === 'webhooks_enabled'), undefined, 'health is clear again');

    // Redeliver the logged 410 try: same webhook-id and body, fresh timestamp, a valid signature.
    await sleep(1100); // a later second for the fresh timestamp
    const re = await app.api('POST', `/v2/handles/gone/webhooks/${webhook.id}/deliveries/${log[0].id}/redeliver`, { token: tok });
    assert.equal(re.status, 202, re.text);
    assert.deepEqual(re.body.redelivery, { webhookId: webhook.id, eventId: log[0].eventId, redeliveryOf: log[0].id, status: 'queued' });
    assert.ok(await app.eventually(() => at('/g410').length === 2, { timeout: 20_000 }), 'redelivered');
    const [orig, again] = at('/g410');
    assert.equal(again.headers['webhook-id'], orig.headers['webhook-id']);
    assert.equal(again.body, orig.body);
    assert.ok(Number(again.headers['webhook-timestamp']) > Number(orig.headers['webhook-timestamp']), 'fresh timestamp');
    assert.ok(verify(secret, again.headers, again.body), 'the official verifier accepts the redelivery');
    assert.ok(!verify(secret, { ...again.headers, 'webhook-signature': orig.headers['webhook-signature'] }, again.body), 'the old signature does not match the new timestamp');
    const after = await app.eventually(async () => {
      const ds = await deliveryLog('gone', webhook.id, tok);
      return ds.length === 2 ? ds : null;
    });
    assert.deepEqual(
      after.map((d) => [d.attempt, d.outcome, d.responseStatus, d.eventId, d.redeliveryOf]),
      [[1, 'failed', 410, log[0].eventId, null], [1, 'delivered', 200, log[0].eventId, log[0].id]],
    );
    const unknown = await app.api('POST', `/v2/handles/gone/webhooks/${webhook.id}/deliveries/dlv_0000000000000_nope/redeliver`, { token: tok });
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'not_found']);

    // Enabled again: new events are delivered.
    await app.api('POST', '/v2/handles/gone/campaigns/gone-cmp/test-conversion', { token: tok, body: {} });
    assert.ok(await app.eventually(() => at('/g410').length === 3, { timeout: 20_000 }), 'new events flow again');
  });

  test('20 events in a row that exhaust their tries disable the subscription', async () => {
    always.set('/dead', 500);
    const { webhook } = await subscribe('/dead', ['conversion.tested'], 'dead');
    const tok = app.token({ dead: 'OWNER' });
    await app.api('POST', '/v2/handles/dead/campaigns', { token: tok, body: { campaignId: 'dead-cmp', goalType: 'LEAD_CAPTURE' } });
    for (let i = 0; i < 20; i++) {
      assert.equal((await app.api('POST', '/v2/handles/dead/campaigns/dead-cmp/test-conversion', { token: tok, body: {} })).status, 201);
    }
    const disabled = await app.eventually(async () => {
      const r = await app.api('GET', `/v2/handles/dead/webhooks/${webhook.id}`, { token: tok });
      return r.body.webhook.disabledAt ? r.body.webhook : null;
    }, { timeout: 50_000, interval: 500 });
    assert.ok(disabled, 'disabled');
    assert.equal(disabled.disabledReason, '20 events in a row exhausted all their tries.');
    await sleep(1500);
    const log = await deliveryLog('dead', webhook.id, tok);
    assert.equal(log.filter((d) => d.outcome === 'failed').length, 20, 'twenty exhausted events');
    assert.equal(log.length, 80, 'four tries each');
    assert.equal(at('/dead').length, 80);
    await app.api('POST', '/v2/handles/dead/campaigns/dead-cmp/test-conversion', { token: tok, body: {} });
    await sleep(2500);
    assert.equal(at('/dead').length, 80, 'nothing is sent to a disabled subscription');
    const warn = (await app.api('GET', '/v2/handles/dead/campaigns/dead-cmp/health', { token: tok })).body.checks.find((c) => c.name === 'webhooks_enabled');
    assert.equal(warn?.status, 'WARN');
    // Enabling resets the streak: one more exhausted event does not disable it again.
    assert.equal((await app.api('POST', `/v2/handles/dead/webhooks/${webhook.id}/enable`, { token: tok })).status, 200);
    await app.api('POST', '/v2/handles/dead/campaigns/dead-cmp/test-conversion', { token: tok, body: {} });
    const exhausted = await app.eventually(async () => (await deliveryLog('dead', webhook.id, tok)).filter((d) => d.outcome === 'failed').length === 21, { timeout: 40_000, interval: 500 });
    assert.ok(exhausted, 'the 21st event was exhausted');
    const still = await app.api('GET', `/v2/handles/dead/webhooks/${webhook.id}`, { token: tok });
    assert.equal(still.body.webhook.disabledAt, null, 'a streak of one after enable');
  });
});
