// CSV export of a campaign's ledger: GET …/campaigns/{id}/clicks.csv and
// …/conversions.csv. Every file is parsed back with a standard CSV parser
// (csv-parse) and compared, column by column, with what the API itself
// returned: click ids from the redirect's `ctx` parameter, conversions from
// the POST responses. Also: from/to, the response headers, the error cases
// (400/403/404/405), AGGREGATE_ONLY links (no click rows), formula
// neutralization, and a 2,500-click export that spans three pages.
import { before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { parse } from 'csv-parse/sync';
import { spawnApp, UA } from '../harness/app.mjs';
import { sleep } from '../harness/env.mjs';
import { funnelKit, mintPat, H, ISO_MS } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

const { test, funnel, settleClicks, createCampaign, putLink, clickId } = funnelKit(() => app);

const CLICK_COLUMNS = ['clickId', 'time', 'slug', 'ruleId', 'variantId', 'country', 'device', 'source', 'referrerHost', 'segment', 'bot', 'botReason'];
const CONVERSION_COLUMNS = ['conversionId', 'occurredAt', 'createdAt', 'clickId', 'slug', 'ruleId', 'country', 'device', 'source', 'segment',
  'eventType', 'value', 'currency', 'orderId', 'test', 'metadata'];

/** GET an export; returns { status, text, headers, body (the JSON error, if any) }. */
function exportOf(cmp, kind, query = '', opts = {}) {
  return app.api('GET', `${H}/campaigns/${cmp}/${kind}.csv${query}`, opts);
}

/** Parse a CSV export: checks the RFC 4180 framing and the header, returns rows as objects. */
function rowsOf(text, columns) {
  assert.ok(text.endsWith('\r\n'), 'the last line ends with CRLF');
  const records = parse(text, { record_delimiter: '\r\n', relax_quotes: false, relax_column_count: false, bom: false });
  assert.deepEqual(records[0], columns, 'header row');
  return records.slice(1).map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
}

/** What the export does to a text field that a spreadsheet would read as a formula. */
const neutral = (s) => (s == null ? '' : /^[=+\-@\t\r']/.test(s) ? `'${s}` : s);

const DEVICE = new Map([
  [UA.iphone, 'MOBILE'], [UA.android, 'MOBILE'], [UA.mac, 'DESKTOP'], [UA.windows, 'DESKTOP'], [UA.ipad, 'TABLET'],
  [UA.facebookPreview, 'DESKTOP'],
]);

/** The expected CSV row of a click the test made. */
function clickRow(id, v) {
  const device = DEVICE.get(v.ua);
  return {
    clickId: id, slug: v.slug, ruleId: '', variantId: '', country: v.country, device, source: v.source,
    referrerHost: v.referrerHost ?? '', segment: `${device.toLowerCase()}:${v.source}`,
    bot: String(v.ua === UA.facebookPreview), botReason: v.ua === UA.facebookPreview ? 'user_agent' : '',
  };
}

/** The expected CSV row of a conversion, from its POST response. */
function conversionRow(c) {
  const a = c.attribution ?? {};
  return {
    conversionId: c.conversionId, occurredAt: c.occurredAt, createdAt: c.createdAt, clickId: c.clickId ?? '',
    slug: a.slug ?? '', ruleId: a.ruleId ?? '', country: a.country ?? '', device: a.device ?? '', source: a.source ?? '',
    segment: a.segment ?? '', eventType: neutral(c.eventType), value: c.value == null ? '' : c.value.toFixed(2),
    currency: c.currency, orderId: neutral(c.orderId), test: String(c.test), metadata: JSON.stringify(c.metadata),
  };
}

const byKey = (time, id) => (a, b) => (a[time] < b[time] ? -1 : a[time] > b[time] ? 1 : a[id] < b[id] ? -1 : a[id] > b[id] ? 1 : 0);

describe('CSV export', () => {
  // Filled by the first test, read by the later ones.
  const made = { burst1: [], burst2: [], mid: null, conversions: [] };

  test('clicks.csv: every DIRECT click, column by column; AGGREGATE_ONLY clicks count in the funnel but have no rows; from/to', async () => {
    await createCampaign('csv-cmp');
    await putLink('csv-direct', 'csv-cmp');
    await putLink('csv-agg', 'csv-cmp', { mode: 'AGGREGATE_ONLY' });

    // Burst 1 (DIRECT): a referrer with a comma and quotes (only its host is kept),
    // a utm_source with a comma (reduced to [a-z0-9._-]), a link-preview bot.
    const visits1 = [
      { ua: UA.iphone, country: 'US', q: '?utm_source=email', source: 'email' },
      { ua: UA.mac, country: 'GB', q: '', referer: 'https://news.example.org/a,b?q="x",y', source: 'referral', referrerHost: 'news.example.org' },
      { ua: UA.android, country: 'DE', q: '?utm_source=a,b%22c', source: 'a_b_c' },
      { ua: UA.facebookPreview, country: 'US', q: '', source: 'direct' },
    ];
    for (const v of visits1) {
      const id = await clickId(`/demo/csv-direct${v.q}`, { ua: v.ua, country: v.country, referer: v.referer });
      made.burst1.push([id, { ...v, slug: 'csv-direct' }]);
    }
    // AGGREGATE_ONLY: counted, never a row.
    for (const ua of [UA.iphone, UA.mac, UA.windows]) {
      assert.equal((await app.click('/demo/csv-agg?utm_source=email', { ua, country: 'US' })).status, 302);
    }
    await settleClicks('csv-cmp', 7);

    // The boundary between the bursts, on the server's clock (recorded click times are the worker's).
    await sleep(50);
    made.mid = new Date().toISOString();
    await sleep(50);

    const visits2 = [
      { ua: UA.windows, country: 'US', q: '?utm_source=social', source: 'social' },
      { ua: UA.ipad, country: 'FR', q: '', referer: 'https://www.google.com/search?q=a,b', source: 'search', referrerHost: 'google.com' },
    ];
    for (const v of visits2) {
      const id = await clickId(`/demo/csv-direct${v.q}`, { ua: v.ua, country: v.country, referer: v.referer });
      made.burst2.push([id, { ...v, slug: 'csv-direct' }]);
    }
    const f = await settleClicks('csv-cmp', 9);
    assert.equal(f.clicks, 9, '6 DIRECT + 3 AGGREGATE_ONLY clicks in the funnel');

    const r = await exportOf('csv-cmp', 'clicks');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename="csv-cmp-clicks.csv"');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const rows = rowsOf(r.text, CLICK_COLUMNS);
    assert.equal(rows.length, 6, 'one row per DIRECT click; none for the AGGREGATE_ONLY link');
    assert.ok(rows.every((x) => x.slug === 'csv-direct'));
    for (const x of rows) assert.match(x.time, ISO_MS);
    const sorted = [...rows].sort(byKey('time', 'clickId'));
    assert.deepEqual(rows, sorted, 'rows in (time, clickId) order');
    const all = [...made.burst1, ...made.burst2];
    const want = new Map(all.map(([id, v]) => [id, clickRow(id, v)]));
    for (const x of rows) {
      const { time, ...rest } = x;
      assert.deepEqual(rest, want.get(x.clickId), `row of ${x.clickId}`);
    }
    assert.deepEqual(new Set(rows.map((x) => x.clickId)), new Set(want.keys()));
    // Times: burst 1 before the boundary, burst 2 after it.
    const time = new Map(rows.map((x) => [x.clickId, x.time]));
    for (const [id] of made.burst1) assert.ok(time.get(id) < made.mid, `${id} ${time.get(id)} < ${made.mid}`);
    for (const [id] of made.burst2) assert.ok(time.get(id) >= made.mid, `${id} ${time.get(id)} >= ${made.mid}`);

    // from (inclusive) / to (exclusive).
    const ids = async (q) => {
      const e = await exportOf('csv-cmp', 'clicks', q);
      assert.equal(e.status, 200, e.text);
      return rowsOf(e.text, CLICK_COLUMNS).map((x) => x.clickId).sort();
    };
    const enc = encodeURIComponent;
    assert.deepEqual(await ids(`?from=${enc(made.mid)}`), made.burst2.map(([id]) => id).sort());
    assert.deepEqual(await ids(`?to=${enc(made.mid)}`), made.burst1.map(([id]) => id).sort());
    const first = rows[0];
    assert.deepEqual(await ids(`?from=${enc(first.time)}&to=${enc(made.mid)}`), made.burst1.map(([id]) => id).sort(), 'from is inclusive');
    assert.ok(!(await ids(`?to=${enc(first.time)}`)).includes(first.clickId), 'to is exclusive');
    // The same instant with an offset.
    const shifted = new Date(Date.parse(made.mid)).toISOString().replace('Z', '+00:00');
    assert.deepEqual(await ids(`?from=${enc(shifted)}`), made.burst2.map(([id]) => id).sort());
    // A range with nothing in it: the header only.
    const empty = await exportOf('csv-cmp', 'clicks', '?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z');
    assert.equal(empty.status, 200);
    assert.equal(empty.text, `${CLICK_COLUMNS.join(',')}\r\n`);
  });

  test('conversions.csv: live, unattributed, test and formula-like conversions, column by column; quoting; from/to', async () => {
    const [first] = made.burst1[0];
    const post = async (path, body) => {
      const r = await app.api('POST', path, { body });
      assert.equal(r.status, 201, r.text);
      return r.body.conversion;
    };
    // An attributed live conversion whose orderId has a comma and quotes, metadata with both too.
    made.conversions.push(await post(`${H}/conversions`, {
      clickId: first, eventType: 'purchase', value: 120.5, currency: 'USD', orderId: 'ord,1 "gift"',
      metadata: { note: 'a,b "c"\r\nline 2', items: [1, 2], 'ünï': '日本 😀', nested: { ok: true } },
    }));
    // Unattributed, without a value.
    made.conversions.push(await post(`${H}/conversions`, { campaignId: 'csv-cmp', eventType: 'purchase', orderId: 'no-value' }));
    // A test conversion (metadata.test = true).
    made.conversions.push(await post(`${H}/campaigns/csv-cmp/test-conversion`, { eventType: 'purchase', value: 1, metadata: { orderId: '12345' } }));
    // Text a spreadsheet would evaluate: neutralized with a leading '.
    made.conversions.push(await post(`${H}/conversions`, {
      campaignId: 'csv-cmp', eventType: 'purchase', value: 0.1, currency: 'EUR', orderId: '=HYPERLINK("https://evil.example","x")',
    }));
    made.conversions.push(await post(`${H}/conversions`, { clickId: made.burst2[1][0], eventType: 'purchase', value: 7, orderId: "'-42" }));

    const r = await exportOf('csv-cmp', 'conversions');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename="csv-cmp-conversions.csv"');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const rows = rowsOf(r.text, CONVERSION_COLUMNS);
    const want = made.conversions.map(conversionRow).sort(byKey('createdAt', 'conversionId'));
    assert.deepEqual(rows, want);
    // Spot checks of the exact text.
    assert.ok(r.text.includes(',"ord,1 ""gift""",'), 'a field with a comma and quotes is quoted, quotes doubled');
    assert.ok(r.text.includes(`,"'=HYPERLINK(""https://evil.example"",""x"")",`), 'formula text gets a leading quote');
    assert.ok(r.text.includes(",''-42,"), 'a leading quote is itself prefixed (the rule stays reversible)');
    const byId = new Map(rows.map((x) => [x.conversionId, x]));
    assert.equal(byId.get(made.conversions[0].conversionId).value, '120.50');
    assert.equal(byId.get(made.conversions[1].conversionId).value, '');
    assert.equal(byId.get(made.conversions[2].conversionId).test, 'true');
    assert.equal(byId.get(made.conversions[3].conversionId).value, '0.10');
    assert.deepEqual(JSON.parse(byId.get(made.conversions[0].conversionId).metadata), made.conversions[0].metadata);

    // from/to filter on createdAt: from inclusive, to exclusive.
    const created = made.conversions.map((c) => c.createdAt);
    const lo = created[1];
    const hi = created[3];
    const e = await exportOf('csv-cmp', 'conversions', `?from=${encodeURIComponent(lo)}&to=${encodeURIComponent(hi)}`);
    assert.equal(e.status, 200, e.text);
    assert.deepEqual(rowsOf(e.text, CONVERSION_COLUMNS), want.filter((x) => x.createdAt >= lo && x.createdAt < hi));
    assert.ok(rowsOf(e.text, CONVERSION_COLUMNS).some((x) => x.conversionId === made.conversions[1].conversionId));

    // Another campaign's export is empty (the header only).
    await createCampaign('csv-empty');
    const none = await exportOf('csv-empty', 'conversions');
    assert.equal(none.status, 200);
    assert.equal(none.text, `${CONVERSION_COLUMNS.join(',')}\r\n`);
  });

  test('errors: unknown campaign 404, bad id / from / to / unknown parameter 400, wrong method 405, VIEWER and a PAT without analytics.read 403', async () => {
    const err = (r, status, code, field) => {
      assert.equal(r.status, status, r.text);
      assert.equal(r.body?.error?.code, code, r.text);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      if (field) assert.ok(r.body.error.message.includes(field), r.body.error.message);
    };
    for (const kind of ['clicks', 'conversions']) {
      err(await exportOf('no-such-cmp', kind), 404, 'campaign_not_found');
      err(await exportOf('X', kind), 400, 'invalid_campaign_id');
      err(await exportOf('csv-cmp', kind, '?from=yesterday'), 400, 'invalid_field', 'from');
      err(await exportOf('csv-cmp', kind, '?to=2026-02-30T00:00:00Z'), 400, 'invalid_field', 'to');
      err(await exportOf('csv-cmp', kind, '?from=2026-01-01'), 400, 'invalid_field', 'from');
      err(await exportOf('csv-cmp', kind, '?from='), 400, 'invalid_field', 'from');
      err(await exportOf('csv-cmp', kind, '?bogus=1'), 400, 'invalid_field', 'bogus');
      err(await exportOf('csv-cmp', kind, '?limit=10'), 400, 'invalid_field', 'limit');
      err(await exportOf('csv-cmp', kind, '?from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z'), 400, 'invalid_field', 'from');
      err(await exportOf('csv-cmp', kind, '?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'), 400, 'invalid_field', 'from');
      for (const method of ['POST', 'HEAD', 'DELETE']) {
        const r = await app.api(method, `${H}/campaigns/csv-cmp/${kind}.csv`);
        assert.equal(r.status, 405, `${method} ${kind}`);
        assert.equal(r.headers.get('allow'), 'GET');
      }
      // Credentials.
      err(await exportOf('csv-cmp', kind, '', { token: null }), 401, 'unauthorized');
      err(await exportOf('csv-cmp', kind, '', { token: app.token({ demo: 'VIEWER' }) }), 403, 'forbidden');
      err(await exportOf('csv-cmp', kind, '', { token: app.token({ other: 'OWNER' }) }), 403, 'forbidden');
      assert.equal((await exportOf('csv-cmp', kind, '', { token: app.token({ demo: 'CREATOR' }) })).status, 200);
    }
    const noAnalytics = await mintPat(app, ['campaigns.read', 'links.read', 'conversions.write']);
    const analytics = await mintPat(app, ['analytics.read']);
    for (const kind of ['clicks', 'conversions']) {
      err(await exportOf('csv-cmp', kind, '', { token: noAnalytics.secret }), 403, 'forbidden');
      const ok = await exportOf('csv-cmp', kind, '', { token: analytics.secret });
      assert.equal(ok.status, 200, ok.text);
      assert.match(ok.headers.get('content-type'), /^text\/csv/);
    }
  });

  test('a 2,500-click export spans three pages of 1,000: every click exactly once, in order, streamed', async (t) => {
    const N = 2500;
    await createCampaign('csv-big');
    await putLink('csv-big', 'csv-big');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const { port } = new URL(app.base);
    const uas = [UA.iphone, UA.android, UA.mac, UA.windows, UA.ipad];
    const one = (i) => new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: `/demo/csv-big?utm_source=s${i % 7}`, agent, headers: { 'user-agent': uas[i % 5] } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 302) return reject(new Error(`click ${i}: ${res.statusCode}`));
            resolve(new URL(res.headers.location).searchParams.get('ctx'));
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    const t0 = Date.now();
    const ids = [];
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < N) {
        const i = next++;
        ids[i] = await one(i);
      }
    }));
    agent.destroy();
    const clicked = Date.now() - t0;
    assert.equal(new Set(ids).size, N, 'one fresh click id per redirect');
    await settleClicks('csv-big', N, { timeout: 60_000 });
    assert.equal((await funnel('csv-big')).clicks, N);

    // Read the body as the client receives it: chunk by chunk.
    const t1 = Date.now();
    const res = await fetch(`${app.base}${H}/campaigns/csv-big/clicks.csv`, { headers: { authorization: `Bearer ${app.ownerToken}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), null, 'a streamed body has no content length');
    let chunks = 0;
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      chunks++;
      text += decoder.decode(chunk, { stream: true });
    }
    text += decoder.decode();
    const exported = Date.now() - t1;
    const rows = rowsOf(text, CLICK_COLUMNS);
    assert.equal(rows.length, N);
    assert.deepEqual(rows.map((x) => x.clickId).sort(), [...ids].sort(), 'every click exactly once');
    assert.deepEqual(rows, [...rows].sort(byKey('time', 'clickId')), 'in (time, clickId) order across page boundaries');
    for (const [i, id] of ids.entries()) {
      if (i % 250) continue;
      const row = rows.find((x) => x.clickId === id);
      assert.equal(row.source, `s${i % 7}`);
      assert.equal(row.device, DEVICE.get(uas[i % 5]));
    }
    assert.ok(chunks >= 3, `${chunks} chunks: the body arrives page by page`);
    t.diagnostic(`${N} clicks in ${clicked} ms; export ${text.length} bytes in ${exported} ms, ${chunks} chunks`);
  });
});
