// Analytics: the README guide's steps 3–6 end to end (clicks → health → test
// conversion → live conversion → the exact funnel, segments and aggregate),
// campaign status vs. tracking, bots, tracking modes and rebuilds, time series
// and the analytics error cases. Every number asserted here is the exact
// number the test itself sent. (Conversion idempotency and currencies are in
// conversions.test.mjs; the load and sharded-rollup suites are in cross/.)
import { before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, guideSetup, UA } from '../harness/app.mjs';
import { sleep } from '../harness/env.mjs';
import { funnelKit, H, ISO_MS, HOUR, DAY, wilsonConfidence, wilsonInterval, rate, numbers } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

const { test, funnel, groupBy, settleClicks, createCampaign, putLink, clickId, convert } = funnelKit(() => app);

describe('funnel', () => {
  test("1. the guide's full flow: campaign → link → clicks → health → test conversion → live conversion → exact funnel", async () => {
    // Steps 1–2.
    const { campaign, link } = await guideSetup(app);
    assert.equal(campaign.status, 201, campaign.text);
    assert.equal(link.status, 201, link.text);

    // Health before any click: READY (nothing fails), but click_seen / test_conversion warn.
    const h0 = await app.api('GET', `${H}/campaigns/spring-launch/health`);
    assert.equal(h0.status, 200);
    assert.equal(h0.body.readiness, 'READY');
    assert.deepEqual(
      h0.body.checks.map((c) => [c.name, c.status]),
      [
        ['tracking_preset', 'PASS'],
        ['conversion_event_type', 'PASS'],
        ['primary_link', 'PASS'],
        ['campaign_status', 'PASS'],
        ['click_seen', 'WARN'],
        ['test_conversion', 'WARN'],
        ['webhook', 'PASS'],
        ['rollup_consistency', 'PASS'],
      ],
    );

    // Step 5: visitors. [ua, country, query, referer] → expected (device, source).
    const visits = [
      ['iphone', 'US', '?utm_source=email'], //   mobile:email  ← converts
      ['iphone', 'US', '?utm_source=email'], //   mobile:email
      ['android', 'GB', '?utm_source=social'], // mobile:social
      ['mac', 'US', '?utm_source=email'], //      desktop:email
      ['windows', 'DE', ''], //                   desktop:direct
      ['ipad', 'GB', '?utm_source=social'], //    tablet:social
      ['windows', 'US', '', 'https://www.google.com/'], // desktop:search
      ['android', 'DE', '?utm_source=email'], //  mobile:email
    ];
    const ids = [];
    for (const [ua, country, q, referer] of visits) {
      ids.push(await clickId(`/demo/spring-promo${q}`, { ua: UA[ua], country, referer }));
    }
    assert.equal(new Set(ids).size, visits.length, 'one fresh click id per visit');
    const N = visits.length;
    await settleClicks('spring-launch', N);

    // Step 3: health is READY and has seen the clicks.
    const h = await app.api('GET', `${H}/campaigns/spring-launch/health`);
    assert.equal(h.status, 200);
    assert.equal(h.body.campaignId, 'spring-launch');
    assert.equal(h.body.readiness, 'READY');
    assert.deepEqual(h.body.checks.slice(0, 3), [
      { name: 'tracking_preset', status: 'PASS', detail: "Using tracking preset 'ga4_purchase'." },
      { name: 'conversion_event_type', status: 'PASS', detail: "Using event type 'purchase'." },
      { name: 'primary_link', status: 'PASS', detail: 'Primary link configured: spring-promo' },
    ]);
    const byName = Object.fromEntries(h.body.checks.map((c) => [c.name, c]));
    assert.equal(byName.click_seen.status, 'PASS');
    assert.equal(byName.campaign_status.status, 'PASS');

    // Step 4: the guide's test conversion, verbatim.
    const t = await app.api('POST', `${H}/campaigns/spring-launch/test-conversion`, {
      body: { eventType: 'purchase', value: 99.99, currency: 'USD', metadata: { orderId: '12345', items: 3 } },
    });
    assert.equal(t.status, 201, t.text);
    assert.equal(t.body.conversion.metadata.test, true);
    assert.equal(t.body.conversion.metadata.orderId, '12345');
    assert.equal(t.body.conversion.value, 99.99);
    let f = await funnel('spring-launch');
    assert.equal(f.testConversions, 1);
    assert.equal(f.conversions, 0);
    assert.equal(f.revenue, 0, 'a test conversion never counts as revenue');
    assert.deepEqual(f.revenueByCurrency, {});
    const h2 = await app.api('GET', `${H}/campaigns/spring-launch/health`);
    assert.equal(h2.body.checks.find((c) => c.name === 'test_conversion').status, 'PASS');

    // A real conversion from the click id the destination received.
    const c = await convert({ clickId: ids[0], eventType: 'purchase', value: 120.5, currency: 'USD', orderId: 'spring-order-1' });
    assert.equal(c.status, 201, c.text);
    const conv = c.body.conversion;
    assert.match(conv.conversionId, /^cnv_/);
    assert.equal(conv.campaignId, 'spring-launch');
    assert.equal(conv.clickId, ids[0]);
    assert.equal(conv.attributed, true);
    assert.equal(conv.attribution.slug, 'spring-promo');
    assert.equal(conv.attribution.segment, 'mobile:email');
    assert.equal(conv.attribution.source, 'email');
    assert.equal(conv.attribution.country, 'US');
    assert.equal(conv.eventType, 'purchase');
    assert.equal(conv.value, 120.5);
    assert.equal(conv.currency, 'USD');
    // click_seen names the last *click*: a conversion after it does not move it.
    await app.eventually(async () => (await funnel('spring-launch')).conversions === 1);
    const h3 = await app.api('GET', `${H}/campaigns/spring-launch/health`);
    const seen = h3.body.checks.find((c) => c.name === 'click_seen');
    assert.equal(seen.detail, byName.click_seen.detail);
    const lastClick = seen.detail.match(/last at (\S+)\.$/)[1];
    assert.ok(lastClick < conv.createdAt, `${lastClick} is before the conversion at ${conv.createdAt}`);

    // Step 6: the funnel, number for number.
    f = await funnel('spring-launch');
    assert.match(f.lastSeenAt, ISO_MS);
    const e = (key, value, clicks, conversions = 0, revenue = 0) => ({
      [key]: value, count: clicks, clicks, qualifiedClicks: clicks, conversions, revenue,
    });
    assert.deepEqual(numbers(f), {
      campaignId: 'spring-launch',
      clicks: N,
      botClicks: 0,
      qualifiedClicks: N,
      // Every visit comes from one address; the 5 distinct User-Agents are 5 visitors.
      uniqueClicks: 5,
      excluded: { user_agent: 0, head_request: 0, verified_bot: 0, bot_score: 0 },
      conversions: 1,
      revenue: 120.5,
      currency: 'USD',
      revenueByCurrency: { USD: 120.5 },
      testConversions: 1,
      conversionRate: rate(1, N),
      confidence: wilsonConfidence(1, N),
      interval: wilsonInterval(1, N),
      breakdown: {
        source: [e('source', 'email', 4, 1, 120.5), e('source', 'social', 2), e('source', 'direct', 1), e('source', 'search', 1)],
        country: [e('country', 'US', 4, 1, 120.5), e('country', 'DE', 2), e('country', 'GB', 2)],
        device: [e('device', 'mobile', 4, 1, 120.5), e('device', 'desktop', 3), e('device', 'tablet', 1)],
      },
    });

    // groupBy=segment: the attributed conversion sits under mobile:email.
    // A visitor's first click on the link that day is the unique one: the second
    // iPhone and Windows visits and the Android's later email visit are not.
    const s = (segment, clicks, uniqueClicks, conversions = 0, revenue = 0) => ({
      segment, clicks, qualifiedClicks: clicks, uniqueClicks, conversions, revenue, conversionRate: rate(conversions, clicks),
      interval: wilsonInterval(conversions, clicks),
    });
    const { asOf, pendingEvents, sampled, ...grouped } = await groupBy('spring-launch', 'segment');
    assert.deepEqual([asOf, pendingEvents, sampled], [f.lastSeenAt, 0, false]);
    assert.deepEqual(grouped, {
      campaignId: 'spring-launch',
      groupBy: 'segment',
      currency: 'USD',
      segments: [
        s('mobile:email', 3, 1, 1, 120.5),
        s('desktop:direct', 1, 1),
        s('desktop:email', 1, 1),
        s('desktop:search', 1, 0),
        s('mobile:social', 1, 1),
        s('tablet:social', 1, 1),
      ],
    });

    // Without campaignId: the aggregate (only this campaign exists so far) and its funnel.
    const all = await app.api('GET', `${H}/analytics?funnel=true`);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.body.truncated, false);
    assert.deepEqual(all.body.funnel, [f]);
    assert.equal(all.body.aggregate.campaigns, 1);
    assert.equal(all.body.aggregate.clicks, N);
    assert.equal(all.body.aggregate.qualifiedClicks, N);
    assert.equal(all.body.aggregate.conversions, 1);
    assert.equal(all.body.aggregate.revenue, 120.5);
    assert.equal(all.body.aggregate.testConversions, 1);
  });

  test('2a. a PAUSED campaign still redirects but records no clicks and refuses live conversions; test conversions work', async () => {
    await createCampaign('pause-cmp');
    await putLink('pause-link', 'pause-cmp');
    const live = await clickId('/demo/pause-link?utm_source=email', { ua: UA.iphone, country: 'US' });
    await clickId('/demo/pause-link', { ua: UA.mac, country: 'GB' });
    const before = await settleClicks('pause-cmp', 2);
    assert.equal(before.clicks, 2);

    const p = await app.api('PATCH', `${H}/campaigns/pause-cmp`, { body: { status: 'PAUSED' } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.campaign.status, 'PAUSED');

    for (const ua of [UA.iphone, UA.android, UA.windows]) {
      const r = await app.click('/demo/pause-link?utm_source=social', { ua, country: 'DE' });
      assert.equal(r.status, 302, 'a paused campaign still redirects');
      assert.equal(r.location, 'https://shop.example.com/pause-link?utm_source=social', 'no click id: it could never be attributed');
    }
    await sleep(1500);
    assert.deepEqual(await funnel('pause-cmp'), before, 'nothing changed while paused (its data stays)');

    for (const body of [
      { clickId: live, eventType: 'purchase', value: 5 },
      { campaignId: 'pause-cmp', eventType: 'purchase', value: 5 },
    ]) {
      const r = await convert(body);
      assert.deepEqual([r.status, r.body?.error?.code], [409, 'campaign_not_tracking'], r.text);
    }
    const t = await app.api('POST', `${H}/campaigns/pause-cmp/test-conversion`, { body: { eventType: 'purchase', value: 1 } });
    assert.equal(t.status, 201, t.text);
    const after = await funnel('pause-cmp');
    assert.deepEqual(
      [after.clicks, after.conversions, after.revenue, after.testConversions],
      [2, 0, 0, 1],
    );
    const h = await app.api('GET', `${H}/campaigns/pause-cmp/health`);
    assert.equal(h.body.checks.find((c) => c.name === 'campaign_status').status, 'WARN');

    // Resumed: tracking picks up again on top of the kept data.
    assert.equal((await app.api('PATCH', `${H}/campaigns/pause-cmp`, { body: { status: 'ACTIVE' } })).status, 200);
    await clickId('/demo/pause-link', { ua: UA.iphone, country: 'US' });
    assert.equal((await settleClicks('pause-cmp', 3)).clicks, 3);
  });

  test('2c. conversions without a qualified click come with a note saying why the rate reads 0', async () => {
    await createCampaign('curl-cmp');
    await putLink('curl-link', 'curl-cmp');
    const id = await clickId('/demo/curl-link', { ua: 'curl/8.5.0' });
    await settleClicks('curl-cmp', 1);
    assert.equal((await convert({ clickId: id, eventType: 'purchase', value: 10 })).status, 201);
    const f = await app.eventually(async () => {
      const x = await funnel('curl-cmp');
      return x.conversions === 1 ? x : null;
    });
    assert.deepEqual([f.clicks, f.qualifiedClicks, f.conversions, f.conversionRate], [1, 0, 1, 0]);
    assert.equal(f.notes.length, 1);
    assert.match(f.notes[0], /^1 conversion\(s\) but 0 qualified click\(s\) \(not counted: 1 user_agent\): a conversion counts whatever its click was/);
    await clickId('/demo/curl-link', { ua: UA.iphone });
    await settleClicks('curl-cmp', 2);
    assert.equal((await funnel('curl-cmp')).notes, undefined, 'one qualified click, one conversion: nothing to explain');
  });

  test('2b. a DRAFT campaign records nothing', async () => {
    await createCampaign('draft-cmp', { status: 'DRAFT' });
    await putLink('draft-link', 'draft-cmp');
    for (const ua of [UA.iphone, UA.mac]) {
      const r = await app.click('/demo/draft-link?utm_source=email', { ua, country: 'US' });
      assert.equal(r.status, 302);
      assert.equal(r.location, 'https://shop.example.com/draft-link?utm_source=email', 'no click id while not tracking');
    }
    const head = await app.click('/demo/draft-link', { method: 'HEAD' });
    assert.equal(head.status, 302);
    await sleep(1500);
    const f = await funnel('draft-cmp');
    assert.deepEqual(
      [f.clicks, f.botClicks, f.qualifiedClicks, f.conversions, f.revenue, f.testConversions, f.lastSeenAt],
      [0, 0, 0, 0, 0, 0, null],
    );
    assert.deepEqual(f.breakdown, { source: [], country: [], device: [] });
    const r = await convert({ campaignId: 'draft-cmp', eventType: 'purchase', value: 3 });
    assert.deepEqual([r.status, r.body?.error?.code], [409, 'campaign_not_tracking'], r.text);
    const t = await app.api('POST', `${H}/campaigns/draft-cmp/test-conversion`, { body: { eventType: 'purchase' } });
    assert.equal(t.status, 201, t.text);
    const g = await funnel('draft-cmp');
    assert.deepEqual([g.clicks, g.conversions, g.testConversions], [0, 0, 1]);
    const h = await app.api('GET', `${H}/campaigns/draft-cmp/health`);
    const byName = Object.fromEntries(h.body.checks.map((c) => [c.name, c.status]));
    assert.deepEqual([byName.campaign_status, byName.click_seen], ['WARN', 'WARN']);
  });

  test('3. bots: preview fetchers and HEAD requests count in clicks and botClicks, never in qualifiedClicks', async () => {
    await createCampaign('bot-cmp');
    await putLink('bot-link', 'bot-cmp');
    const clicks = [
      { ua: UA.iphone }, // human, mobile
      { ua: UA.mac }, // human, desktop
      { ua: UA.facebookPreview }, // bot (user_agent), desktop
      { ua: UA.slackPreview }, // bot (user_agent), desktop
      { ua: UA.iphone, method: 'HEAD' }, // bot (head_request), mobile
    ];
    for (const c of clicks) {
      const r = await app.click('/demo/bot-link', { country: 'US', ...c });
      assert.equal(r.status, 302, 'bots are redirected too (previews must work)');
    }
    const f = await settleClicks('bot-cmp', 5);
    const e = (key, value, clicks, qualified) => ({
      [key]: value, count: qualified, clicks, qualifiedClicks: qualified, conversions: 0, revenue: 0,
    });
    assert.deepEqual(numbers(f), {
      campaignId: 'bot-cmp',
      clicks: 5,
      botClicks: 3,
      qualifiedClicks: 2,
      uniqueClicks: 2,
      // Why the 3 bot clicks were not qualified; they sum to botClicks.
      excluded: { user_agent: 2, head_request: 1, verified_bot: 0, bot_score: 0 },
      conversions: 0,
      revenue: 0,
      currency: 'USD',
      revenueByCurrency: {},
      testConversions: 0,
      conversionRate: 0,
      confidence: 0,
      interval: wilsonInterval(0, 2),
      breakdown: {
        source: [e('source', 'direct', 5, 2)],
        country: [e('country', 'US', 5, 2)],
        device: [e('device', 'desktop', 3, 1), e('device', 'mobile', 2, 1)],
      },
    });
    const seg = await groupBy('bot-cmp', 'segment');
    assert.deepEqual(
      seg.segments.map((x) => [x.segment, x.clicks, x.qualifiedClicks]),
      [['desktop:direct', 3, 1], ['mobile:direct', 2, 1]],
    );
  });

  test('6. tracking modes: AGGREGATE_ONLY counts in the rollup and survives a rebuild; OFF counts nothing', async () => {
    await createCampaign('modes-cmp');
    await putLink('agg-link', 'modes-cmp', { mode: 'AGGREGATE_ONLY' });
    await putLink('off-link', 'modes-cmp', { mode: 'OFF' });
    await putLink('direct-link', 'modes-cmp', { mode: 'DIRECT', appendContextParam: true });

    const go = async (slug, opts) => assert.equal((await app.click(`/demo/${slug}`, opts)).status, 302, slug);
    await go('agg-link?utm_source=email', { ua: UA.iphone, country: 'US' });
    await go('agg-link?utm_source=email', { ua: UA.iphone, country: 'US' });
    await go('agg-link', { ua: UA.mac, country: 'GB' });
    await go('agg-link', { ua: UA.facebookPreview, country: 'GB' });
    for (let i = 0; i < 4; i++) await go('off-link?utm_source=email', { ua: UA.android, country: 'DE' });
    await go('direct-link?utm_source=social', { ua: UA.ipad, country: 'US' });
    await go('direct-link', { ua: UA.windows, country: 'US' });
    const clk = await clickId('/demo/direct-link?utm_source=social', { ua: UA.ipad, country: 'US' });

    await settleClicks('modes-cmp', 7);
    await sleep(700); // give any OFF click that (wrongly) records time to show up
    const before = await funnel('modes-cmp');
    assert.equal(before.clicks, 7, '4 AGGREGATE_ONLY + 3 DIRECT; the 4 OFF clicks count nothing');
    assert.equal(before.botClicks, 1);
    assert.equal(before.qualifiedClicks, 6);
    assert.deepEqual(
      before.breakdown.country.map((x) => [x.country, x.clicks, x.count]),
      [['US', 5, 5], ['GB', 2, 1]],
    );
    const links = await groupBy('modes-cmp', 'link');
    assert.deepEqual(
      links.links.map((x) => [x.link, x.clicks, x.qualifiedClicks]),
      [['agg-link', 4, 3], ['direct-link', 3, 3]],
    );

    const c = await convert({ clickId: clk, eventType: 'purchase', value: 7.25 });
    assert.equal(c.status, 201, c.text);
    const tc = await app.api('POST', `${H}/campaigns/modes-cmp/test-conversion`, { body: { value: 1 } });
    assert.equal(tc.status, 201, tc.text);
    const withConv = await funnel('modes-cmp');
    assert.deepEqual([withConv.conversions, withConv.revenue, withConv.testConversions], [1, 7.25, 1]);
    const segBefore = await groupBy('modes-cmp', 'segment');

    const r = await app.api('POST', `${H}/campaigns/modes-cmp/rollup/rebuild`, { token: app.token({ demo: 'ADMIN' }) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.campaignId, 'modes-cmp');
    assert.deepEqual(r.body.rebuilt, { clicks: 7, conversions: 2 }, '7 clicks (3 rows + 4 aggregated) and 2 conversion rows (1 live, 1 test)');
    const after = await funnel('modes-cmp');
    assert.deepEqual(numbers(after), numbers(withConv), 'identical numbers after the rebuild');
    assert.deepEqual(numbers(r.body.funnel[0]), numbers(withConv));
    assert.deepEqual(await groupBy('modes-cmp', 'segment'), segBefore);
  });

  test('6b. AGGREGATE_ONLY: a rebuild keeps lastSeenAt (identical results)', async () => {
    await createCampaign('agg-only-cmp');
    await putLink('agg-only-link', 'agg-only-cmp', { mode: 'AGGREGATE_ONLY' });
    for (const ua of [UA.iphone, UA.mac]) {
      assert.equal((await app.click('/demo/agg-only-link?utm_source=email', { ua, country: 'US' })).status, 302);
    }
    const before = await settleClicks('agg-only-cmp', 2);
    assert.equal(before.clicks, 2);
    assert.match(before.lastSeenAt, ISO_MS);
    const healthBefore = await app.api('GET', `${H}/campaigns/agg-only-cmp/health`);
    const r = await app.api('POST', `${H}/campaigns/agg-only-cmp/rollup/rebuild`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.rebuilt, { clicks: 2, conversions: 0 });
    const after = await funnel('agg-only-cmp');
    assert.deepEqual(numbers(after), numbers(before), 'numbers identical');
    assert.equal(after.lastSeenAt, before.lastSeenAt, 'lastSeenAt must not jump back to the start of the hour');
    const healthAfter = await app.api('GET', `${H}/campaigns/agg-only-cmp/health`);
    assert.deepEqual(healthAfter.body, healthBefore.body, 'health (click_seen "last at …") unchanged by a rebuild');
  });

  test('8. time series: hour and day buckets are dense and sum to the funnel; a bad interval is 400', async () => {
    await createCampaign('ts-cmp');
    await putLink('ts-link', 'ts-cmp');
    const clk = await clickId('/demo/ts-link?utm_source=email', { ua: UA.iphone, country: 'US' });
    await clickId('/demo/ts-link', { ua: UA.mac, country: 'GB' });
    await clickId('/demo/ts-link', { ua: UA.windows, country: 'DE' });
    await app.click('/demo/ts-link', { ua: UA.slackPreview, country: 'US' });
    const f = await settleClicks('ts-cmp', 4);
    const c = await convert({ clickId: clk, eventType: 'purchase', value: 19.99 });
    assert.equal(c.status, 201, c.text);
    const fin = await funnel('ts-cmp');
    assert.deepEqual([f.clicks, fin.clicks, fin.qualifiedClicks, fin.conversions, fin.revenue], [4, 4, 3, 1, 19.99]);

    const now = Date.now();
    for (const [interval, step, from, to] of [
      ['hour', HOUR, now - 47 * HOUR, now + HOUR],
      ['day', DAY, now - 7 * DAY, now + DAY],
    ]) {
      const q = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&interval=${interval}`;
      const r = await app.api('GET', `${H}/analytics?campaignId=ts-cmp&${q}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.campaignId, 'ts-cmp');
      assert.equal(r.body.interval, interval);
      assert.equal(r.body.currency, 'USD');
      assert.equal(r.body.from, new Date(from).toISOString());
      assert.equal(r.body.to, new Date(to).toISOString());
      const ts = r.body.timeseries;
      // Dense: every bucket from floor(from) while t < to, one step apart.
      const first = Math.floor(from / step) * step;
      const expected = [];
      for (let t = first; t < to; t += step) expected.push(new Date(t).toISOString());
      assert.deepEqual(ts.map((b) => b.t), expected, interval);
      for (const b of ts) assert.deepEqual(Object.keys(b).sort(), ['clicks', 'conversions', 'qualifiedClicks', 'revenue', 't', 'uniqueClicks']);
      const sum = (k) => Math.round(ts.reduce((a, b) => a + b[k], 0) * 100) / 100;
      assert.deepEqual(
        [sum('clicks'), sum('qualifiedClicks'), sum('uniqueClicks'), sum('conversions'), sum('revenue')],
        [fin.clicks, fin.qualifiedClicks, 3, fin.conversions, fin.revenue],
        `${interval} buckets sum to the funnel`,
      );
    }
    for (const q of ['interval=week', 'interval=minute', 'interval=', 'from=yesterday', `from=${new Date(now).toISOString()}&to=${new Date(now - HOUR).toISOString()}`]) {
      const r = await app.api('GET', `${H}/analytics?campaignId=ts-cmp&${q}`);
      assert.deepEqual([r.status, r.body?.error?.code], [400, 'invalid_field'], `${q}: ${r.text}`);
    }
    const bad = await app.api('GET', `${H}/analytics?campaignId=ts-cmp&interval=week`);
    assert.match(bad.body.error.message, /interval/);
  });

  test('9. error cases: event type mismatch, groupBy without campaignId or unknown, rebuild needs ADMIN, unknown click', async () => {
    await createCampaign('err-cmp');
    const m = await convert({ campaignId: 'err-cmp', eventType: 'lead', value: 1 });
    assert.deepEqual([m.status, m.body?.error?.code], [422, 'event_type_mismatch'], m.text);
    const tm = await app.api('POST', `${H}/campaigns/err-cmp/test-conversion`, { body: { eventType: 'lead' } });
    assert.deepEqual([tm.status, tm.body?.error?.code], [422, 'event_type_mismatch'], tm.text);

    const g = await app.api('GET', `${H}/analytics?groupBy=segment`);
    assert.deepEqual([g.status, g.body?.error?.code], [400, 'invalid_field'], g.text);
    assert.match(g.body.error.message, /campaignId/);
    const u = await app.api('GET', `${H}/analytics?groupBy=planet&campaignId=err-cmp`);
    assert.deepEqual([u.status, u.body?.error?.code], [400, 'invalid_field'], u.text);
    assert.match(u.body.error.message, /groupBy/);

    const creator = await app.api('POST', `${H}/campaigns/err-cmp/rollup/rebuild`, { token: app.token({ demo: 'CREATOR' }) });
    assert.deepEqual([creator.status, creator.body?.error?.code], [403, 'forbidden'], creator.text);
    const admin = await app.api('POST', `${H}/campaigns/err-cmp/rollup/rebuild`, { token: app.token({ demo: 'ADMIN' }) });
    assert.equal(admin.status, 200, admin.text);
    assert.deepEqual(admin.body.rebuilt, { clicks: 0, conversions: 0 });

    const nf = await convert({ clickId: 'clk_aaaaaaaaaaaaaaaaaaaaaaaa', eventType: 'purchase' });
    assert.deepEqual([nf.status, nf.body?.error?.code], [404, 'not_found'], nf.text);
    const missing = await app.api('GET', `${H}/analytics?funnel=true&campaignId=no-such-campaign`);
    assert.deepEqual([missing.status, missing.body?.error?.code], [404, 'campaign_not_found'], missing.text);

    // None of the refused conversions counted.
    const f = await funnel('err-cmp');
    assert.deepEqual([f.conversions, f.testConversions, f.revenue], [0, 0, 0]);
  });

  test('10. every analytics response says how fresh and complete it is: asOf, pendingEvents, sampled', async () => {
    await createCampaign('fresh-cmp');
    await putLink('fresh-link', 'fresh-cmp');
    const empty = await app.api('GET', `${H}/analytics?funnel=true&campaignId=fresh-cmp`);
    assert.deepEqual([empty.body.asOf, empty.body.pendingEvents, empty.body.sampled], [null, 0, false]);
    const clk = await clickId('/demo/fresh-link?utm_source=email', { ua: UA.iphone, country: 'FR' });
    await settleClicks('fresh-cmp', 1);
    assert.equal((await convert({ clickId: clk, eventType: 'purchase', value: 3 })).status, 201);
    const f = await app.api('GET', `${H}/analytics?funnel=true&campaignId=fresh-cmp`);
    assert.match(f.body.asOf, ISO_MS);
    assert.equal(f.body.asOf, f.body.funnel[0].lastSeenAt, 'asOf is the newest event in the rollup');
    const reads = [
      `${H}/analytics?groupBy=country&campaignId=fresh-cmp`,
      `${H}/analytics?campaignId=fresh-cmp&interval=hour&from=${new Date(Date.now() - 2 * HOUR).toISOString()}`,
      `${H}/analytics?funnel=true`,
    ];
    for (const path of reads) {
      const r = await app.api('GET', path);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.pendingEvents, 0, path);
      assert.equal(r.body.sampled, false, path);
      assert.match(r.body.asOf, ISO_MS, path);
    }
    const all = await app.api('GET', `${H}/analytics?funnel=true`);
    assert.equal(all.body.asOf, all.body.aggregate.lastSeenAt, 'the aggregate: the newest of all campaigns');
  });

  test('11. health compares the rollup with the ledger; the daily reconciliation records its verdict', async () => {
    await createCampaign('recon-cmp');
    await putLink('recon-link', 'recon-cmp');
    await putLink('recon-agg', 'recon-cmp', { mode: 'AGGREGATE_ONLY' });
    const ids = [];
    for (const ua of [UA.iphone, UA.mac, UA.slackPreview]) ids.push(await clickId('/demo/recon-link', { ua }));
    for (const ua of [UA.android, UA.facebookPreview]) assert.equal((await app.click('/demo/recon-agg', { ua })).status, 302);
    await settleClicks('recon-cmp', 5);
    assert.equal((await convert({ clickId: ids[0], eventType: 'purchase', value: 7.25 })).status, 201);
    assert.equal((await convert({ campaignId: 'recon-cmp', eventType: 'purchase', value: 0, currency: 'SEK' })).status, 201);
    const h = await app.api('GET', `${H}/campaigns/recon-cmp/health`);
    const check = h.body.checks.find((c) => c.name === 'rollup_consistency');
    assert.deepEqual(
      [check.status, check.detail],
      ['PASS', 'Rollup matches the ledger: 5 click(s), 2 bot click(s), 2 conversion(s). No daily reconciliation has run yet.'],
    );
    assert.equal(h.body.checks.at(-1).name, 'rollup_consistency', 'the last check');
    const cron = await fetch(`${app.base}/__scheduled?cron=*+*+*+*+*`);
    assert.equal(cron.status, 200, await cron.text());
    const after = await app.eventually(async () => {
      const r = await app.api('GET', `${H}/campaigns/recon-cmp/health`);
      const c = r.body.checks.find((x) => x.name === 'rollup_consistency');
      return /Last daily reconciliation: PASS at /.test(c.detail) ? c : null;
    }, { timeout: 15_000, interval: 250 });
    assert.ok(after, 'the scheduled job reconciled the campaign');
    assert.match(after.detail, /Last daily reconciliation: PASS at \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\.$/);
  });

  test('12. unique clicks: distinct and repeated visitors, bots, across a UTC day boundary; a rebuild reproduces them', async () => {
    const clock = (offsetMs) => app.api('POST', '/v2/dev/clock', { token: null, body: { offsetMs } });
    // Start an hour before the next UTC midnight (the isolate's clock, shifted).
    const now = Date.now();
    const toMidnight = DAY - (now % DAY);
    assert.equal((await clock(toMidnight - HOUR)).status, 200);
    try {
      await createCampaign('uniq-cmp');
      await putLink('uniq-a', 'uniq-cmp');
      await putLink('uniq-b', 'uniq-cmp');
      const visit = (slug, ua, q = '') => clickId(`/demo/${slug}${q}`, { ua, country: 'US' });
      // Day 1: A twice on link a, B once, A once on link b (another link: unique again), a bot.
      await visit('uniq-a', UA.iphone, '?utm_source=email');
      await visit('uniq-a', UA.iphone, '?utm_source=social');
      await visit('uniq-a', UA.mac);
      await visit('uniq-b', UA.iphone);
      assert.equal((await app.click('/demo/uniq-a', { ua: UA.slackPreview })).status, 302);
      let f = await settleClicks('uniq-cmp', 5);
      assert.deepEqual([f.clicks, f.qualifiedClicks, f.uniqueClicks], [5, 4, 3]);
      const bySource = Object.fromEntries((await groupBy('uniq-cmp', 'source')).sources.map((r) => [r.source, r.uniqueClicks]));
      assert.deepEqual(bySource, { email: 1, social: 0, direct: 2 });
      // Past midnight: a new day, a new key — A is unique again on link a, once.
      assert.equal((await clock(toMidnight + HOUR)).status, 200);
      await visit('uniq-a', UA.iphone);
      await visit('uniq-a', UA.iphone);
      f = await settleClicks('uniq-cmp', 7);
      assert.deepEqual([f.clicks, f.qualifiedClicks, f.uniqueClicks], [7, 6, 4]);
      const byLink = Object.fromEntries((await groupBy('uniq-cmp', 'link')).links.map((r) => [r.link, r.uniqueClicks]));
      assert.deepEqual(byLink, { 'uniq-a': 3, 'uniq-b': 1 });
      // Day buckets: 3 unique on day 1, 1 on day 2.
      const from = new Date(now + toMidnight - DAY).toISOString();
      const to = new Date(now + toMidnight + DAY).toISOString();
      const ts = await app.api('GET', `${H}/analytics?campaignId=uniq-cmp&interval=day&from=${from}&to=${to}`);
      assert.deepEqual(ts.body.timeseries.map((b) => [b.clicks, b.uniqueClicks]), [[5, 3], [2, 1]]);
      // The ledger keeps the visitor keys (never an address): a rebuild counts the same.
      const rebuilt = await app.api('POST', `${H}/campaigns/uniq-cmp/rollup/rebuild`);
      assert.equal(rebuilt.status, 200, rebuilt.text);
      assert.equal(rebuilt.body.funnel[0].uniqueClicks, 4);
      assert.deepEqual(rebuilt.body.funnel[0].excluded, { user_agent: 1, head_request: 0, verified_bot: 0, bot_score: 0 });
    } finally {
      await clock(0);
    }
  });
});
