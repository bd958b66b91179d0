// Hardening: faults. The rollup object or the click ledger failing
// mid-request: the redirect still answers, the event is parked or replayed,
// and after recovery the counts are exact (and equal to a rebuild).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, UA } from '../../harness/app.mjs';
import { sleep } from '../../harness/env.mjs';

let app;
const faults = (list) => app.api('POST', '/v2/dev/faults', { token: null, body: { faults: list } });

before(async () => {
  app = await spawnApp();
  assert.equal((await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'fault-cmp', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } })).status, 201);
  assert.equal((await app.api('PUT', '/v2/handles/demo/links/fault-link', { body: { destinationUrl: 'https://shop.example.com/', campaignId: 'fault-cmp', trackingPolicy: { appendContextParam: true } } })).status, 201);
});
after(async () => {
  await faults([]).catch(() => {});
  app?.stop();
});

const funnel = async () => {
  const r = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
  assert.equal(r.status, 200, r.text);
  return r.body.funnel[0];
};

async function settle(expectClicks, expectConversions) {
  return app.eventually(async () => {
    const f = await funnel();
    return f.clicks === expectClicks && f.conversions === expectConversions ? f : null;
  }, { timeout: 60_000, interval: 250 });
}

test('the rollup object failing: redirects and conversions still succeed; after recovery counts are exact', async () => {
  const start = await funnel();
  assert.equal((await faults(['rollup'])).body.faults[0], 'rollup');
  let last;
  for (let i = 0; i < 10; i++) {
    last = await app.click('/demo/fault-link', { ua: i % 2 ? UA.mac : UA.iphone, country: 'GB' });
    assert.equal(last.status, 302, 'the visitor is still redirected');
  }
  const clickId = new URL(last.location).searchParams.get('ctx');
  await sleep(1000); // let the click ledger writes finish
  const conv = await app.api('POST', '/v2/handles/demo/conversions', { body: { clickId, eventType: 'purchase', value: 10 } });
  assert.equal(conv.status, 201, 'the conversion is in the ledger');
  const read = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
  assert.deepEqual([read.status, read.body.error.code], [503, 'unavailable'], 'reads say unavailable, never 500');
  assert.equal((await faults([])).body.faults.length, 0);
  // Recovery: the next tracked event drains the parked ones.
  assert.equal((await app.click('/demo/fault-link', { ua: UA.mac })).status, 302);
  const f = await settle(start.clicks + 11, start.conversions + 1);
  assert.ok(f, `exact after recovery: ${JSON.stringify(await funnel())}`);
  assert.equal(f.revenue, start.revenue + 10);
  const rebuilt = await app.api('POST', '/v2/handles/demo/campaigns/fault-cmp/rollup/rebuild');
  assert.equal(rebuilt.status, 200);
  assert.equal(rebuilt.body.funnel[0].clicks, f.clicks, 'the ledger agrees');
  assert.deepEqual(rebuilt.body.funnel[0].breakdown, f.breakdown);
});

test('the click ledger (D1) failing: redirects still answer; clicks are replayed after recovery, exactly once', async () => {
  const start = await funnel();
  await faults(['d1_clicks']);
  for (let i = 0; i < 5; i++) assert.equal((await app.click('/demo/fault-link', { ua: UA.android })).status, 302);
  await sleep(1500);
  assert.equal((await funnel()).clicks, start.clicks, 'nothing counted while the ledger is down (ledger first)');
  await faults([]);
  const f = await settle(start.clicks + 5, start.conversions);
  assert.ok(f, `replayed: ${JSON.stringify(await funnel())}`);
  await sleep(1500);
  assert.equal((await funnel()).clicks, start.clicks + 5, 'no double count from replays');
  const rebuilt = await app.api('POST', '/v2/handles/demo/campaigns/fault-cmp/rollup/rebuild');
  assert.equal(rebuilt.body.funnel[0].clicks, start.clicks + 5, 'each replayed click is in the ledger exactly once');
});

test('a panic costs one request, never the next visitor: the wasm instance is re-created', async () => {
  // the async path (routing, handlers)
  assert.equal((await faults(['panic'])).status, 200);
  assert.equal((await app.api('GET', '/healthz', { token: null })).status, 500);
  const after = await app.api('GET', '/healthz', { token: null });
  assert.deepEqual([after.status, after.body], [200, { ok: true }]);
  // console_error_panic_hook: the panic's message and location reach the log, not only "unreachable"
  const logged = app.log().replace(/\x1B\[[0-9;]*m/g, '').match(/panicked at src[\\/]edge[\\/]faults\.rs:\d+:\d+:\s*injected fault: panic/);
  assert.ok(logged, `the panic's message and location are in the log:\n${app.log().slice(-2000)}`);
  console.log(`# the panic as logged: ${logged[0].replace(/\s+/g, ' ')}`);
  // the rollup objects of the isolate are re-created with the module: the next read through them answers
  const read = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
  assert.equal(read.status, 200, `the first rollup read after a panic: ${read.text}`);
  // the synchronous redirect fast path (link and rules cached)
  for (let i = 0; i < 2; i++) assert.equal((await app.click('/demo/fault-link', { ua: UA.mac })).status, 302);
  assert.equal((await faults(['panic'])).status, 200);
  assert.equal((await app.click('/demo/fault-link', { ua: UA.mac })).status, 500);
  const next = await app.click('/demo/fault-link', { ua: UA.mac });
  assert.equal(next.status, 302);
  const read2 = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
  assert.equal(read2.status, 200, `the first rollup read after a fast-path panic: ${read2.text}`);
  assert.match(next.location, /^https:\/\/shop\.example\.com\/\?ctx=clk_[a-z2-7]{24}$/);
  // the fresh instance serves the API as before (and the fault is gone)
  assert.equal((await app.api('GET', '/v2/handles/demo/campaigns/fault-cmp')).status, 200);
  assert.deepEqual((await app.api('GET', '/healthz', { token: null })).body, { ok: true });
});

const health = async (id = 'fault-cmp') => {
  const r = await app.api('GET', `/v2/handles/demo/campaigns/${id}/health`);
  assert.equal(r.status, 200, r.text);
  return r.body.checks.find((c) => c.name === 'rollup_consistency');
};

test('rollup writes failing: pendingEvents counts the parked events, consistency warns; 0 and PASS after recovery', async () => {
  await sleep(600); // the previous test's last clicks reach the rollup first
  const start = await funnel();
  const before = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
  assert.equal(before.body.pendingEvents, 0);
  assert.equal(before.body.sampled, false);
  await faults(['rollup_writes']);
  for (let i = 0; i < 4; i++) assert.equal((await app.click('/demo/fault-link', { ua: UA.iphone })).status, 302);
  let seen;
  const parked = await app.eventually(async () => {
    const r = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
    seen = r.text;
    return r.status === 200 && r.body.pendingEvents === 4 ? r.body : null;
  }, { timeout: 20_000, interval: 200 });
  assert.ok(parked, `the 4 clicks are pending while the rollup cannot take them: ${seen}`);
  assert.equal(parked.funnel[0].clicks, start.clicks, 'and not yet counted');
  const all = await app.api('GET', '/v2/handles/demo/analytics?funnel=true');
  assert.equal(all.body.pendingEvents, 4, 'the all-campaign view says so too');
  const warn = await health();
  assert.equal(warn.status, 'WARN');
  assert.match(warn.detail, new RegExp(`clicks ${start.clicks} in the rollup, ${start.clicks + 4} in the ledger`));
  assert.match(warn.detail, /4 event\(s\) are on their way to the rollup/);
  await faults([]);
  assert.equal((await app.click('/demo/fault-link', { ua: UA.iphone })).status, 302, 'the next click drains the outbox');
  const f = await settle(start.clicks + 5, start.conversions);
  assert.ok(f, `recovered: ${JSON.stringify(await funnel())}`);
  const after = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
  assert.equal(after.body.pendingEvents, 0);
  assert.equal((await health()).status, 'PASS');
});

test('clicks replayed through the queue count as pending until they land', async () => {
  const start = await funnel();
  await faults(['d1_clicks']);
  for (let i = 0; i < 3; i++) assert.equal((await app.click('/demo/fault-link', { ua: UA.mac })).status, 302);
  const announced = await app.eventually(async () => {
    const r = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
    return r.body.pendingEvents === 3 ? r.body : null;
  }, { timeout: 20_000, interval: 200 });
  assert.ok(announced, 'three clicks on their way through the replay queue');
  await faults([]);
  assert.ok(await settle(start.clicks + 3, start.conversions));
  const after = await app.eventually(async () => {
    const r = await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=fault-cmp');
    return r.body.pendingEvents === 0 ? r.body : null;
  }, { timeout: 20_000, interval: 200 });
  assert.ok(after, 'none pending once replayed');
});

test('a ledger that lost clicks: consistency WARNs with the drift, a rebuild makes it PASS', async () => {
  const start = await funnel();
  assert.equal((await health()).status, 'PASS');
  await faults(['d1_clicks_lost']);
  for (let i = 0; i < 2; i++) assert.equal((await app.click('/demo/fault-link', { ua: UA.windows })).status, 302);
  assert.ok(await settle(start.clicks + 2, start.conversions), 'counted in the rollup');
  await faults([]);
  const warn = await health();
  assert.equal(warn.status, 'WARN');
  assert.match(warn.detail, new RegExp(`^Rollup differs from the ledger: clicks ${start.clicks + 2} in the rollup, ${start.clicks} in the ledger`));
  const rebuilt = await app.api('POST', '/v2/handles/demo/campaigns/fault-cmp/rollup/rebuild');
  assert.equal(rebuilt.status, 200);
  assert.equal(rebuilt.body.funnel[0].clicks, start.clicks, 'the rebuild recomputes from the ledger');
  const pass = await health();
  assert.equal(pass.status, 'PASS');
  assert.match(pass.detail, new RegExp(`^Rollup matches the ledger: ${start.clicks} click\\(s\\)`));
});

test('AGGREGATE_ONLY: a ledger write that committed but reported failure is never counted twice', async () => {
  const put = await app.api('PUT', '/v2/handles/demo/links/agg-link', {
    body: { destinationUrl: 'https://shop.example.com/agg', campaignId: 'fault-cmp', trackingPolicy: { mode: 'AGGREGATE_ONLY' } },
  });
  assert.equal(put.status, 201, put.text);
  const start = await funnel();
  await faults(['d1_clicks_unacked']);
  for (let i = 0; i < 6; i++) assert.equal((await app.click('/demo/agg-link', { ua: i % 2 ? UA.iphone : UA.mac })).status, 302);
  await sleep(2500); // the batch, its 3 tries and the one-by-one writes all commit and "fail"
  await faults([]);
  const f = await settle(start.clicks + 6, start.conversions);
  assert.ok(f, `replays landed: ${JSON.stringify(await funnel())}`);
  await sleep(3000); // any further replay would show up now
  assert.equal((await funnel()).clicks, start.clicks + 6, 'the rollup counts each click once');
  const rebuilt = await app.api('POST', '/v2/handles/demo/campaigns/fault-cmp/rollup/rebuild');
  assert.equal(rebuilt.status, 200);
  assert.equal(rebuilt.body.funnel[0].clicks, start.clicks + 6, 'the hourly aggregates hold each click once');
  assert.equal((await health()).status, 'PASS');
});

test('clicks still in the batch buffer when a panic aborts the instance are recorded, exactly once', async () => {
  await sleep(600);
  const start = await funnel();
  // Inside one batching window (200 ms): three clicks, then a panic on the same path.
  for (let i = 0; i < 3; i++) assert.equal((await app.click('/demo/fault-link', { ua: UA.ipad })).status, 302);
  assert.equal((await faults(['panic'])).status, 200);
  assert.equal((await app.click('/demo/fault-link', { ua: UA.ipad })).status, 500);
  // The next request meets a fresh instance, which writes what the dead one buffered.
  assert.deepEqual((await app.api('GET', '/healthz', { token: null })).body, { ok: true });
  const f = await settle(start.clicks + 3, start.conversions);
  assert.ok(f, `the 3 buffered clicks survived: ${JSON.stringify(await funnel())}`);
  await sleep(1000);
  assert.equal((await funnel()).clicks, start.clicks + 3, 'and were written once');
  const rebuilt = await app.api('POST', '/v2/handles/demo/campaigns/fault-cmp/rollup/rebuild');
  assert.equal(rebuilt.body.funnel[0].clicks, start.clicks + 3, 'they are in the ledger');
});

test('the fault switch exists only in local development', async () => {
  const r = await app.api('POST', '/v2/dev/faults', { token: null, body: { faults: ['disk'] } });
  assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field']);
});
