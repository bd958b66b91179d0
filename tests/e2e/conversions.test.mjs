// Conversions: idempotency (by Idempotency-Key and by orderId, with
// concurrent repeats) and currencies other than the campaign's. The funnel
// numbers asserted are the exact numbers the test itself sent.
import { before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, UA } from '../harness/app.mjs';
import { funnelKit, wilsonConfidence, wilsonInterval, numbers } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

const { test, funnel, settleClicks, createCampaign, putLink, clickId, convert } = funnelKit(() => app);

describe('conversions', () => {
  test('4a. idempotency by Idempotency-Key: 5 posts (3 concurrent) count once; a changed body is 409', async () => {
    await createCampaign('idem-cmp');
    await putLink('idem-link', 'idem-cmp');
    const clk = await clickId('/demo/idem-link?utm_source=email', { ua: UA.iphone, country: 'US' });
    await settleClicks('idem-cmp', 1);
    const body = { clickId: clk, eventType: 'purchase', value: 42.5, currency: 'USD' };
    const key = { 'idempotency-key': 'idem-key-0001' };

    const concurrent = await Promise.all([convert(body, key), convert(body, key), convert(body, key)]);
    // The last repeat sends the same body with its keys in another order: still the same body.
    const reordered = { currency: 'USD', value: 42.5, eventType: 'purchase', clickId: clk };
    const sequential = [await convert(body, key), await convert(reordered, key)];
    const all = [...concurrent, ...sequential];
    assert.deepEqual(all.map((r) => r.status).sort(), [200, 200, 200, 200, 201], all.map((r) => r.text).join('\n'));
    const first = all.find((r) => r.status === 201);
    for (const r of all.filter((x) => x.status === 200)) {
      assert.equal(r.headers.get('idempotency-replayed'), 'true');
      assert.deepEqual(r.body, first.body, 'a replay is the first response, byte for byte');
    }
    assert.equal(first.headers.get('idempotency-replayed'), null);
    assert.equal(new Set(all.map((r) => r.body.conversion.conversionId)).size, 1);

    const changed = await convert({ ...body, value: 43 }, key);
    assert.deepEqual([changed.status, changed.body?.error?.code], [409, 'idempotency_conflict'], changed.text);

    const f = await funnel('idem-cmp');
    assert.deepEqual([f.conversions, f.revenue, f.revenueByCurrency], [1, 42.5, { USD: 42.5 }]);
    assert.deepEqual(
      f.breakdown.source,
      [{ source: 'email', count: 1, clicks: 1, qualifiedClicks: 1, conversions: 1, revenue: 42.5 }],
    );
  });

  test('4b. idempotency by orderId (no header): 5 posts (3 concurrent) count once; a changed body is 409', async () => {
    await createCampaign('idem-order-cmp');
    const body = { campaignId: 'idem-order-cmp', eventType: 'purchase', value: 10, orderId: 'ord-77' };
    const concurrent = await Promise.all([convert(body), convert(body), convert(body)]);
    const sequential = [await convert(body), await convert(body)];
    const all = [...concurrent, ...sequential];
    assert.deepEqual(all.map((r) => r.status).sort(), [200, 200, 200, 200, 201], all.map((r) => r.text).join('\n'));
    const first = all.find((r) => r.status === 201);
    assert.equal(first.body.conversion.attributed, false);
    assert.equal(first.body.conversion.orderId, 'ord-77');
    for (const r of all.filter((x) => x.status === 200)) {
      assert.equal(r.headers.get('idempotency-replayed'), 'true');
      assert.deepEqual(r.body, first.body);
    }
    const changed = await convert({ ...body, value: 11 });
    assert.deepEqual([changed.status, changed.body?.error?.code], [409, 'idempotency_conflict'], changed.text);
    // A different orderId is a different conversion.
    const other = await convert({ ...body, orderId: 'ord-78' });
    assert.equal(other.status, 201, other.text);
    assert.notEqual(other.body.conversion.conversionId, first.body.conversion.conversionId);

    const f = await funnel('idem-order-cmp');
    assert.deepEqual([f.conversions, f.revenue, f.revenueByCurrency], [2, 20, { USD: 20 }]);
    assert.deepEqual(f.breakdown, { source: [], country: [], device: [] }, 'unattributed conversions are in no breakdown');
  });

  test('7. currency: a EUR conversion on a USD campaign shows in revenueByCurrency.EUR, not in revenue', async () => {
    await createCampaign('cur-cmp');
    await putLink('cur-link', 'cur-cmp');
    const a = await clickId('/demo/cur-link?utm_source=email', { ua: UA.iphone, country: 'US' });
    const b = await clickId('/demo/cur-link?utm_source=email', { ua: UA.iphone, country: 'US' });
    await settleClicks('cur-cmp', 2);
    const usd = await convert({ clickId: a, eventType: 'purchase', value: 10 });
    assert.equal(usd.status, 201, usd.text);
    assert.equal(usd.body.conversion.currency, 'USD', "defaults to the campaign's currency");
    const eur = await convert({ clickId: b, eventType: 'purchase', value: 25.5, currency: 'EUR' });
    assert.equal(eur.status, 201, eur.text);
    assert.equal(eur.body.conversion.currency, 'EUR');

    const f = await funnel('cur-cmp');
    assert.deepEqual(numbers(f), {
      campaignId: 'cur-cmp',
      clicks: 2,
      botClicks: 0,
      qualifiedClicks: 2,
      uniqueClicks: 1, // both clicks from one visitor (same address and User-Agent)
      excluded: { user_agent: 0, head_request: 0, verified_bot: 0, bot_score: 0 },
      conversions: 2,
      revenue: 10,
      currency: 'USD',
      revenueByCurrency: { EUR: 25.5, USD: 10 },
      testConversions: 0,
      conversionRate: 1,
      confidence: wilsonConfidence(2, 2),
      interval: wilsonInterval(2, 2),
      breakdown: {
        source: [{ source: 'email', count: 2, clicks: 2, qualifiedClicks: 2, conversions: 2, revenue: 10 }],
        country: [{ country: 'US', count: 2, clicks: 2, qualifiedClicks: 2, conversions: 2, revenue: 10 }],
        device: [{ device: 'mobile', count: 2, clicks: 2, qualifiedClicks: 2, conversions: 2, revenue: 10 }],
      },
    });
    assert.equal(f.confidence, 67, 'sanity: the Wilson formula for 2 of 2');
  });

  test('a postback right after its redirect (inside the batching window) is attributed to that click', async () => {
    await createCampaign('fast-cmp');
    await putLink('fast-link', 'fast-cmp');
    const clk = await clickId('/demo/fast-link?utm_source=email', { ua: UA.iphone, country: 'DE' });
    // No wait: the click is still in the isolate's batch buffer, not in the ledger.
    const r = await convert({ clickId: clk, eventType: 'purchase', value: 12 });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.conversion.attributed, true);
    assert.equal(r.body.conversion.campaignId, 'fast-cmp');
    assert.deepEqual(
      [r.body.conversion.attribution.slug, r.body.conversion.attribution.country, r.body.conversion.attribution.source],
      ['fast-link', 'DE', 'email'],
    );
    await settleClicks('fast-cmp', 1);
    const f = await funnel('fast-cmp');
    assert.deepEqual([f.clicks, f.conversions, f.revenue], [1, 1, 12]);
    assert.deepEqual(f.breakdown.country, [{ country: 'DE', count: 1, clicks: 1, qualifiedClicks: 1, conversions: 1, revenue: 12 }]);
    // A click id that exists nowhere is still 404 (after one batching window).
    const unknown = await convert({ clickId: 'clk_' + 'a'.repeat(23) + 'b', eventType: 'purchase' });
    assert.deepEqual([unknown.status, unknown.body?.error?.code], [404, 'not_found'], unknown.text);
  });

  test('a currency whose conversions sum to 0 is still listed in revenueByCurrency', async () => {
    await createCampaign('zero-cmp');
    const sek = await convert({ campaignId: 'zero-cmp', eventType: 'purchase', value: 0, currency: 'SEK' });
    assert.equal(sek.status, 201, sek.text);
    const none = await convert({ campaignId: 'zero-cmp', eventType: 'purchase' });
    assert.equal(none.status, 201, none.text);
    const f = await funnel('zero-cmp');
    assert.deepEqual([f.conversions, f.revenue, f.revenueByCurrency], [2, 0, { SEK: 0, USD: 0 }]);
  });
});
