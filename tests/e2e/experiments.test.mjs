// Experiments: the resource and its errors, assignment in the redirect (rules
// first, cookie, weighted draw), per-variant counts and conversions, the
// sample-ratio check, and autoPromote concluding once with one webhook.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawnApp, UA } from '../harness/app.mjs';
import { sleep } from '../harness/env.mjs';

const H = '/v2/handles/demo';
let app;
let receiver;
const got = [];

before(async () => {
  receiver = await new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ path: req.url, body });
        res.writeHead(200).end('ok');
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
  app = await spawnApp({ vars: { WEBHOOK_RETRY_BASE_SECS: '1' } });
  const ok = (r) => assert.ok(r.status < 300, r.text);
  ok(await app.api('POST', `${H}/campaigns`, { body: { campaignId: 'exp-cmp', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } }));
  for (const slug of ['exp-link', 'srm-link', 'auto-link']) {
    ok(await app.api('PUT', `${H}/links/${slug}`, {
      body: { destinationUrl: `https://shop.example.com/${slug}`, campaignId: 'exp-cmp', trackingPolicy: { appendContextParam: true } },
    }));
  }
  ok(await app.api('PUT', `${H}/links/lonely`, { body: { destinationUrl: 'https://shop.example.com/lonely' } }));
});
after(() => {
  app?.stop();
  receiver?.close();
});

const variants = (slug, weights = [50, 50]) =>
  weights.map((weight, i) => ({ id: `v${i}`, destinationUrl: `https://shop.example.com/${slug}/v${i}`, weight }));
const put = (id, body) => app.api('PUT', `${H}/experiments/${id}`, { body });
const results = async (id) => {
  const r = await app.api('GET', `${H}/experiments/${id}/results`);
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const variantOf = (location) => new URL(location).pathname.split('/').pop();
const cookieOf = (r) => (r.headers.get('set-cookie') ?? '').split(';')[0];

describe('experiments', () => {
  test('create, read, list, replace, conflict, delete; bad bodies name their field', async () => {
    const created = await put('exp-a', { slug: 'exp-link', status: 'DRAFT', variants: variants('exp-link') });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(
      [created.body.experiment.campaignId, created.body.experiment.status, created.body.experiment.minQualifiedClicksPerVariant, created.body.experiment.autoPromote],
      ['exp-cmp', 'DRAFT', 100, false],
    );
    assert.equal((await put('exp-a', { slug: 'exp-link', status: 'RUNNING', variants: variants('exp-link') })).status, 200);
    const second = await put('exp-b', { slug: 'exp-link', status: 'RUNNING', variants: variants('exp-link') });
    assert.deepEqual([second.status, second.body.error.code], [409, 'experiment_conflict'], second.text);
    assert.equal((await put('exp-b', { slug: 'exp-link', variants: variants('exp-link') })).status, 201, 'a DRAFT alongside is fine');
    const list = await app.api('GET', `${H}/experiments?slug=exp-link`);
    assert.deepEqual(list.body.experiments.map((e) => [e.experimentId, e.status]), [['exp-a', 'RUNNING'], ['exp-b', 'DRAFT']]);
    // A malformed filter is refused, not answered with an empty list; an empty one is no filter.
    const badFilter = await app.api('GET', `${H}/experiments?slug=Not%20A%20Slug`);
    assert.deepEqual([badFilter.status, badFilter.body.error.code], [400, 'invalid_field'], badFilter.text);
    assert.match(badFilter.body.error.message, /slug/);
    const unfiltered = await app.api('GET', `${H}/experiments?slug=`);
    assert.deepEqual(unfiltered.body.experiments.map((e) => e.experimentId), ['exp-a', 'exp-b']);
    assert.equal((await app.api('DELETE', `${H}/experiments/exp-b`)).status, 204);
    assert.equal((await app.api('GET', `${H}/experiments/exp-b`)).status, 404);
    const bad = [
      [{ slug: 'exp-link', variants: variants('exp-link', [60, 50]) }, 400, 'invalid_field', /weights must sum to 100/],
      [{ slug: 'exp-link', variants: variants('exp-link', [100]) }, 400, 'invalid_field', /2 to 5/],
      [{ slug: 'no-such-link', variants: variants('x') }, 404, 'link_not_found', /Link/],
      [{ slug: 'lonely', variants: variants('x') }, 400, 'invalid_field', /campaign/],
      [{ slug: 'exp-link', variants: variants('exp-link'), colour: 'red' }, 400, 'invalid_field', /colour/],
    ];
    for (const [body, status, code, message] of bad) {
      const r = await put('exp-bad', body);
      assert.deepEqual([r.status, r.body.error.code], [status, code], r.text);
      assert.match(r.body.error.message, message);
    }
    const badId = await put('X', { slug: 'exp-link', variants: variants('exp-link') });
    assert.deepEqual([badId.status, badId.body.error.code], [400, 'invalid_field']);
    const viewer = await app.api('PUT', `${H}/experiments/exp-c`, { token: app.token({ demo: 'VIEWER' }), body: { slug: 'exp-link', variants: variants('exp-link') } });
    assert.equal(viewer.status, 403);
  });

  test('1,000 cookie-less visitors split within 5 SD of 50/50; returning visitors keep their variant; counts and conversions per variant are exact', async () => {
    const N = 1000;
    const seen = { v0: 0, v1: 0 };
    const ids = { v0: [], v1: [] };
    let pinned;
    for (let i = 0; i < N; i++) {
      const r = await app.click('/demo/exp-link?utm_source=email', { ua: UA.mac });
      assert.equal(r.status, 302);
      const v = variantOf(r.location);
      seen[v]++;
      ids[v].push(new URL(r.location).searchParams.get('ctx'));
      const cookie = cookieOf(r);
      assert.equal(cookie, `ef_exp_exp-a=${v}`, 'the visitor is pinned to what they got');
      assert.match(r.headers.get('set-cookie'), /; Path=\/; Max-Age=2592000; SameSite=Lax; HttpOnly$/, 'no Secure over http');
      if (i === 0) pinned = { cookie, v };
    }
    const sd = Math.sqrt(N * 0.25);
    assert.ok(Math.abs(seen.v0 - N / 2) <= 5 * sd, `split ${JSON.stringify(seen)}`);
    // The returning visitor: 20 more visits with the cookie, always the same variant, no new cookie.
    for (let i = 0; i < 20; i++) {
      const r = await app.click('/demo/exp-link', { ua: UA.mac, headers: { cookie: `other=1; ${pinned.cookie}` } });
      assert.equal(variantOf(r.location), pinned.v);
      assert.equal(r.headers.get('set-cookie'), null);
      seen[pinned.v]++;
    }
    // A rule that fires wins over the experiment: no cookie, the rule's destination.
    const rule = await app.api('PUT', `${H}/rules/exp-mobile`, {
      body: { enabled: true, priority: 10, when: { slugIn: ['exp-link'], deviceIn: ['MOBILE'] }, variant: { id: 'm', destinationUrl: 'https://m.shop.example.com/' } },
    });
    assert.ok(rule.status < 300, rule.text);
    const mobile = await app.click('/demo/exp-link', { ua: UA.iphone });
    assert.match(mobile.location, /^https:\/\/m\.shop\.example\.com\//);
    assert.equal(mobile.headers.get('set-cookie'), null);
    assert.equal((await app.api('DELETE', `${H}/rules/exp-mobile`)).status, 204);
    // Conversions through click ids count for the variant that visitor saw.
    for (const clickId of ids.v0.slice(0, 3)) assert.equal((await app.api('POST', `${H}/conversions`, { body: { clickId, eventType: 'purchase', value: 10 } })).status, 201);
    for (const clickId of ids.v1.slice(0, 7)) {
      const c = await app.api('POST', `${H}/conversions`, { body: { clickId, eventType: 'purchase', value: 20 } });
      assert.equal(c.status, 201, c.text);
      assert.deepEqual([c.body.conversion.attribution.experimentId, c.body.conversion.attribution.variantId], ['exp-a', 'v1']);
    }
    const total = N + 20;
    const res = await app.eventually(async () => {
      const b = await results('exp-a');
      return b.variants.reduce((a, v) => a + v.clicks, 0) === total ? b : null;
    }, { timeout: 20_000, interval: 250 });
    assert.ok(res, 'every assigned click is counted');
    assert.deepEqual(res.variants.map((v) => [v.id, v.weight, v.clicks, v.qualifiedClicks, v.conversions, v.revenue]), [
      ['v0', 50, seen.v0, seen.v0, 3, 30],
      ['v1', 50, seen.v1, seen.v1, 7, 140],
    ]);
    // The sample-ratio check on these counts, computed here: chi-square of the
    // observed split against 50/50 (the 20 returning clicks all went one way, so
    // a mismatch at p < 0.001 happens by chance ~1 % of runs — then it must say so).
    const T = seen.v0 + seen.v1;
    const chi = ((seen.v0 - T / 2) ** 2 + (seen.v1 - T / 2) ** 2) / (T / 2);
    assert.ok(Math.abs(res.srm.chiSquare - chi) < 1e-3, `${JSON.stringify(res.srm)} vs ${chi}`);
    assert.equal(res.srm.mismatch, res.srm.pValue < 0.001, JSON.stringify(res.srm));
    assert.equal(res.srm.mismatch, chi > 10.828, 'p < 0.001 ⇔ chi-square (1 df) > 10.828');
    assert.equal(res.winner, null);
    assert.match(res.decision, res.srm.mismatch ? /^No winner: the split is broken/ : /intervals overlap/);
    assert.deepEqual([res.sampled, res.pendingEvents], [false, 0]);
    for (const v of res.variants) assert.ok(v.interval.lo <= v.conversionRate && v.conversionRate <= v.interval.hi, JSON.stringify(v));
    // groupBy=variant shows the same rows.
    const g = await app.api('GET', `${H}/analytics?groupBy=variant&campaignId=exp-cmp`);
    assert.deepEqual(g.body.variants.map((r) => [r.variant, r.clicks, r.conversions]).sort(), [['exp-a:v0', seen.v0, 3], ['exp-a:v1', seen.v1, 7]]);
    // A rebuild from the ledger reproduces the per-variant counters.
    assert.equal((await app.api('POST', `${H}/campaigns/exp-cmp/rollup/rebuild`)).status, 200);
    const again = await results('exp-a');
    assert.deepEqual(again.variants, res.variants);
  });

  test('visitors all pinned to one variant by cookie raise the sample-ratio mismatch; no winner is declared', async () => {
    assert.equal((await put('srm', { slug: 'srm-link', status: 'RUNNING', variants: variants('srm-link'), minQualifiedClicksPerVariant: 1 })).status, 201);
    for (let i = 0; i < 60; i++) {
      const r = await app.click('/demo/srm-link', { ua: UA.windows, headers: { cookie: 'ef_exp_srm=v1' } });
      assert.equal(variantOf(r.location), 'v1');
    }
    const res = await app.eventually(async () => {
      const b = await results('srm');
      return b.variants[1].clicks === 60 ? b : null;
    }, { timeout: 20_000, interval: 250 });
    assert.ok(res);
    assert.equal(res.srm.mismatch, true);
    assert.ok(res.srm.pValue < 0.001 && res.srm.chiSquare === 60, JSON.stringify(res.srm));
    assert.equal(res.winner, null);
    assert.match(res.decision, /^No winner: the split is broken/);
  });

  test('autoPromote: a clear winner concludes the experiment once, sends all traffic to it, and emits one experiment.concluded', async () => {
    const hook = await app.api('POST', `${H}/webhooks`, { body: { url: `http://127.0.0.1:${receiver.address().port}/concluded`, events: ['experiment.concluded'] } });
    assert.equal(hook.status, 201, hook.text);
    assert.equal((await put('auto', { slug: 'auto-link', status: 'RUNNING', variants: variants('auto-link'), minQualifiedClicksPerVariant: 20, autoPromote: true })).status, 201);
    // v1 converts every click, v0 none: a clear winner once both have 20 qualified clicks.
    const byVariant = { v0: [], v1: [] };
    for (let i = 0; byVariant.v0.length < 25 || byVariant.v1.length < 25; i++) {
      assert.ok(i < 400, 'the draw reaches both variants');
      const r = await app.click('/demo/auto-link', { ua: UA.mac });
      byVariant[variantOf(r.location)].push(new URL(r.location).searchParams.get('ctx'));
    }
    await sleep(500);
    for (const clickId of byVariant.v1) assert.equal((await app.api('POST', `${H}/conversions`, { body: { clickId, eventType: 'purchase', value: 1 } })).status, 201);
    // Two reads at once, and the scheduled job: exactly one of them concludes.
    const [a, b] = await Promise.all([results('auto'), results('auto'), fetch(`${app.base}/__scheduled?cron=*+*+*+*+*`)]);
    for (const r of [a, b]) {
      assert.equal(r.status, "CONCLUDED", JSON.stringify(r));
      assert.equal(r.winner, 'v1');
      assert.match(r.decision, /^Concluded: 'v1' won/);
    }
    const after = await app.click('/demo/auto-link', { ua: UA.mac, headers: { cookie: 'ef_exp_auto=v0' } });
    assert.match(after.location, /\/auto-link\/v1\?/, 'all traffic to the winner, cookie or not');
    assert.equal(after.headers.get('set-cookie'), null);
    await app.eventually(async () => got.filter((g) => g.path === '/concluded').length >= 1, { timeout: 15_000 });
    await sleep(1500);
    const events = got.filter((g) => g.path === '/concluded').map((g) => JSON.parse(g.body));
    assert.equal(events.length, 1, 'experiment.concluded exactly once');
    assert.equal(events[0].type, 'experiment.concluded');
    assert.deepEqual([events[0].data.experimentId, events[0].data.winner], ['auto', 'v1']);
  });
});
