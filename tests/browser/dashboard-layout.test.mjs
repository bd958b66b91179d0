// Browser test of the dashboard findings of issue 17, at 1280 px and 390 px:
// KPI figures fit their tiles, conversions get their own axis, unattributed
// conversions are explained, the SHADOWED badge does not cover the rule name,
// long breakdowns show a top 10, words do not break inside, several currencies
// are a compact list, links that do not track say so, and a campaign without
// a structure logs no console error. Starts its own `wrangler dev` and Chromium.
//
//   PATH=$PWD/node_modules/.bin:$PATH node --test tests/browser/dashboard-layout.test.mjs
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { spawnApp, guideSetup, UA, ROOT } from '../harness/app.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CAMPAIGN = 'spring-launch';
const WIDTHS = [[1280, 900], [390, 844]];

let app;
let context;
let page;
let userDataDir;
const consoleErrors = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  app = await spawnApp();
  await guideSetup(app);
  // Three tracked clicks; one large conversion through a click, one posted with campaignId only.
  const ctx = [];
  for (const ua of [UA.iphone, UA.mac, UA.ipad]) ctx.push(/[?&]ctx=(clk_[a-z2-7]+)/.exec((await app.click('/demo/spring-promo', { ua })).location)[1]);
  const post = (body) => app.api('POST', '/v2/handles/demo/conversions', { body: { eventType: 'purchase', ...body } });
  assert.equal((await post({ clickId: ctx[0], value: 1032415.8, orderId: 'big-1' })).status, 201);
  assert.equal((await post({ campaignId: CAMPAIGN, value: 10, orderId: 'no-click-1' })).status, 201);
  // A paused campaign with a link; a link with tracking OFF.
  await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'autumn-sale', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } });
  assert.equal((await app.api('PATCH', '/v2/handles/demo/campaigns/autumn-sale', { body: { status: 'PAUSED' } })).status, 200);
  await app.api('PUT', '/v2/handles/demo/links/autumn-promo', { body: { destinationUrl: 'https://shop.example.com/autumn', campaignId: 'autumn-sale', trackingPolicy: { mode: 'DIRECT', appendContextParam: true } } });
  await app.api('PUT', '/v2/handles/demo/links/untracked', { body: { destinationUrl: 'https://shop.example.com/plain', trackingPolicy: { mode: 'OFF' } } });
  // Two rules that both match everything: the second is shadowed.
  for (const [ruleId, priority] of [['everyone-first', 10], ['everyone-shadowed-by-priority', 5]]) {
    const r = await app.api('PUT', `/v2/handles/demo/rules/${ruleId}`, { body: { enabled: true, priority, when: {}, variant: { id: `v-${priority}`, destinationUrl: 'https://shop.example.com/v' } } });
    assert.ok(r.status < 300, r.text);
  }
  userDataDir = mkdtempSync(join(tmpdir(), 'edge-funnel-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`console.error: ${m.text()} (${m.location()?.url ?? ''})`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
});

after(async () => {
  await context?.close().catch(() => {});
  app?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function shot(name) {
  await page.locator('#toast.show').waitFor({ state: 'detached', timeout: 8_000 }).catch(() => {});
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

async function resize([width, height]) {
  await page.setViewportSize({ width, height });
  await page.waitForTimeout(300); // charts redraw at the new width
}

/** Elements matching `sel` whose content is wider than their box. */
const overflowing = (sel) => page.locator(sel).evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => `${e.className}: "${e.textContent}" ${e.scrollWidth}>${e.clientWidth}`));

/** Words (in headings, labels, badges, table cells) laid out on more than one line. */
const brokenWords = () =>
  page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('h1, h2, h3, th, td, label, .badge, .kpi-label, .legend')) {
      if (!el.getClientRects().length) continue;
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n; (n = walker.nextNode()); ) {
        if (n.parentElement.closest('.mono, code, .break, svg, caption, .th-long, .visually-hidden')) continue;
        for (const m of n.data.matchAll(/[^\s\-–—/]+/g)) {
          const r = document.createRange();
          r.setStart(n, m.index);
          r.setEnd(n, m.index + m[0].length);
          const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
          if (tops.size > 1) bad.push(`${el.tagName.toLowerCase()}: ${m[0]}`);
        }
      }
    }
    return bad;
  });

const pageOverflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

describe('dashboard layout findings (issue 17)', () => {
  test('signs in and opens the campaign', async () => {
    await page.goto(`${app.base}/app/`);
    await page.getByRole('button', { name: 'Dev sign-in (demo)' }).click();
    await page.getByRole('heading', { name: 'Campaigns', level: 1 }).waitFor();
    await page.goto(`${app.base}/app/#/campaigns/${CAMPAIGN}`);
    await page.locator('#funnel-chart svg[aria-label*="2 conversions"]').waitFor({ timeout: 20_000 });
  });

  test('revenue KPI: two decimals, and every figure fits its tile at 1280 and 390 px', async () => {
    assert.equal(await page.locator('#funnel-kpis [data-kpi="revenue"] .kpi-value').textContent(), '$1,032,425.80');
    for (const w of [...WIDTHS, [1024, 768]]) {
      await resize(w);
      assert.deepEqual(await overflowing('#funnel-kpis .kpi, #funnel-kpis .kpi-value'), [], `tiles overflow at ${w[0]} px`);
    }
    // The campaign list: its KPI tiles and the campaign's card.
    await page.goto(`${app.base}/app/#/campaigns`);
    await page.locator('.kpis [data-kpi="revenue"]', { hasText: '$1,032,425.80' }).waitFor();
    await page.locator(`li[data-campaign-id="${CAMPAIGN}"] dd`, { hasText: '$1,032,425.80' }).waitFor();
    for (const w of [...WIDTHS, [1024, 768]]) {
      await resize(w);
      assert.deepEqual(await overflowing('.kpis .kpi, .kpis .kpi-value, .cc-stats div'), [], `tiles overflow at ${w[0]} px`);
    }
    await resize(WIDTHS[0]);
    await page.goto(`${app.base}/app/#/campaigns/${CAMPAIGN}`);
    await page.locator('#funnel-chart svg[aria-label*="2 conversions"]').waitFor();
  });

  test('time series: conversions on their own right-hand axis, with a legend and a description', async () => {
    // 8,066 clicks beside 26 conversions (answers rewritten on the way).
    const SERIES = /\/v2\/handles\/demo\/analytics\?.*interval=/;
    await page.route(SERIES, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      const last = body.timeseries.at(-1);
      Object.assign(body.timeseries.at(-2), { clicks: 5000, qualifiedClicks: 4900, conversions: 11 });
      Object.assign(last, { clicks: 8066, qualifiedClicks: 7900, conversions: 26 });
      await route.fulfill({ response: res, json: body });
    });
    try {
      await page.locator('#refresh-btn').click();
      await page.locator('#series-chart svg .tick-right', { hasText: /^40$/ }).waitFor();
      for (const w of WIDTHS) {
        await resize(w);
        const geo = await page.locator('#series-chart svg').evaluate((s) => {
          const axisY = s.querySelector('.grid line.axis').getBBox().y;
          const top = Math.min(...[...s.querySelectorAll('.grid line')].map((l) => l.getBBox().y));
          const conv = s.querySelector('path[data-series="conversions"]');
          return {
            axis: conv.dataset.axis,
            rise: (axisY - conv.getBBox().y) / (axisY - top),
            right: [...s.querySelectorAll('[data-axis="right"] .tick-right')].map((t) => t.textContent),
            desc: s.querySelector('desc')?.textContent ?? '',
          };
        });
        assert.equal(geo.axis, 'right');
        assert.ok(geo.rise > 0.5, `26 conversions reach above half the plot height (${geo.rise.toFixed(2)})`);
        assert.deepEqual(geo.right, ['0', '20', '40'], 'the right axis has its own ticks');
        assert.match(geo.desc, /conversions \(dashed line\) on the right axis/);
        assert.match(await page.locator('#series-legend [data-axis="right"]').textContent(), /Conversions.*right axis/);
        assert.deepEqual(await brokenWords(), [], `no word breaks inside at ${w[0]} px`);
      }
      await resize(WIDTHS[0]);
    } finally {
      await page.unroute(SERIES);
    }
  });

  test('conversions missing from the breakdowns are explained in one line', async () => {
    const note = page.locator('#bd-attribution');
    await note.waitFor();
    assert.match(await note.textContent(), /^1 of 2 conversions are not attributed to a segment: conversions on AGGREGATE_ONLY links \(no per-click record\) and conversions posted with campaignId only/);
  });

  test('a long segment breakdown shows the top 10 with a "Show all N" toggle', async () => {
    const SEG = /\/v2\/handles\/demo\/analytics\?.*groupBy=segment/;
    await page.route(SEG, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.segments = Array.from({ length: 32 }, (_, i) => ({ segment: `mobile:source-${i}`, clicks: i + 1, qualifiedClicks: i + 1, conversions: 0, revenue: 0 }));
      await route.fulfill({ response: res, json: body });
    });
    try {
      await page.locator('#refresh-btn').click();
      const toggle = page.locator('button[data-toggle="segment"]');
      await toggle.waitFor();
      const rows = page.locator('#bd-segment-table tbody tr');
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
      assert.equal(await toggle.textContent(), 'Show all 32');
      assert.equal(await rows.count(), 10);
      assert.match(await rows.first().textContent(), /^mobile:source-3132/, 'the top row has the most qualified clicks');
      assert.equal(await page.locator('#bd-segment svg .bar-row').count(), 10);
      await shot('dashboard-1280.png');
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
      assert.equal(await rows.count(), 32);
      assert.equal(await toggle.textContent(), 'Show top 10');
      await toggle.click();
      assert.equal(await rows.count(), 10);
      await resize(WIDTHS[1]);
      assert.ok((await pageOverflow()) <= 0, 'no horizontal overflow on a phone');
      assert.deepEqual(await brokenWords(), [], 'no word breaks inside at 390 px');
      await shot('dashboard-390.png');
      await resize(WIDTHS[0]);
    } finally {
      await page.unroute(SEG);
    }
  });

  test('the structure editor of a campaign without one says "No structure yet" (no 404 in the console)', async () => {
    await page.getByRole('button', { name: 'Open editor' }).click();
    await page.locator('#structure-card [data-structure="none"]', { hasText: 'No structure yet' }).waitFor();
    assert.match(await page.locator('#structure-card textarea').inputValue(), /"slug": "spring-promo-details"/);
    assert.deepEqual(consoleErrors, []);
  });

  test('rules explain: the SHADOWED badge sits beside the rule name, never on it', async () => {
    await page.goto(`${app.base}/app/#/rules`);
    const ex = page.locator('#explain-card');
    await ex.getByLabel('Slug', { exact: true }).fill('spring-promo');
    await ex.getByRole('button', { name: 'Explain' }).click();
    const li = ex.locator('.checks li', { hasText: 'everyone-shadowed-by-priority' });
    await li.waitFor();
    assert.equal((await li.locator('.badge').textContent()).trim(), 'SHADOWED');
    for (const w of WIDTHS) {
      await resize(w);
      const [b, n] = await Promise.all([li.locator('.badge').boundingBox(), li.locator('strong').boundingBox()]);
      const apart = b.x + b.width <= n.x + 0.5 || n.y >= b.y + b.height - 0.5;
      assert.ok(apart, `badge ${JSON.stringify(b)} overlaps the name ${JSON.stringify(n)} at ${w[0]} px`);
      assert.deepEqual(await brokenWords(), [], `no word breaks inside at ${w[0]} px`);
      await ex.screenshot({ path: join(ARTIFACTS, `dashboard-rules-explain-${w[0]}.png`) });
    }
    await resize(WIDTHS[0]);
  });

  test('links of a paused campaign and links with tracking OFF say NOT TRACKING, with the reason', async () => {
    await page.goto(`${app.base}/app/#/links`);
    const paused = page.locator('#all-links-card li[data-slug="autumn-promo"]');
    await paused.locator('.badge', { hasText: 'NOT TRACKING' }).waitFor();
    assert.equal(await paused.locator('.badge', { hasText: 'NOT TRACKING' }).getAttribute('title'), 'Campaign PAUSED: clicks are not recorded and no click id is added.');
    assert.equal((await paused.locator('[data-not-tracking]').textContent()).trim(), 'Campaign PAUSED: clicks are not recorded and no click id is added.');
    const off = page.locator('#all-links-card li[data-slug="untracked"]');
    assert.match(await off.locator('[data-not-tracking]').textContent(), /^Tracking mode OFF: clicks are not recorded/);
    const active = page.locator('#all-links-card li[data-slug="spring-promo"]');
    assert.equal(await active.locator('.badge', { hasText: 'NOT TRACKING' }).count(), 0, 'an ACTIVE campaign tracks');
    await resize(WIDTHS[1]);
    assert.ok((await pageOverflow()) <= 0);
    await paused.screenshot({ path: join(ARTIFACTS, 'dashboard-links-not-tracking-390.png') });
    await resize(WIDTHS[0]);
    // On the paused campaign's own page too.
    await page.goto(`${app.base}/app/#/campaigns/autumn-sale`);
    await page.locator('#links-card li[data-slug="autumn-promo"] .badge', { hasText: 'NOT TRACKING' }).waitFor();
  });

  test('revenue in several currencies is a compact list, one short line per currency', async () => {
    const ALL = /\/v2\/handles\/demo\/analytics\?(?!.*campaignId=)/;
    await page.route(ALL, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      if (body.aggregate) {
        body.aggregate.currency = null;
        body.aggregate.revenueByCurrency = { USD: 32415.8, EUR: 1200.5, JPY: 320000, GBP: 99.99 };
      }
      await route.fulfill({ response: res, json: body });
    });
    try {
      await page.goto(`${app.base}/app/#/campaigns`);
      const tile = page.locator('.kpis .kpi[data-kpi="revenue"]');
      await tile.locator('.currency-list').waitFor();
      assert.deepEqual(await tile.locator('.currency-list li').allTextContents(), ['$32,415.80', '€1,200.50', '¥320,000', '£99.99']);
      for (const w of WIDTHS) {
        await resize(w);
        const box = await tile.boundingBox();
        assert.ok(box.height <= 130, `the revenue tile is ${box.height}px tall at ${w[0]} px`);
        assert.deepEqual(await overflowing('.kpis .kpi, .kpis .kpi-value, .currency-list li'), [], `tiles overflow at ${w[0]} px`);
        assert.deepEqual(await brokenWords(), [], `no word breaks inside at ${w[0]} px`);
        await shot(`dashboard-campaigns-currencies-${w[0]}.png`);
      }
      await resize(WIDTHS[0]);
    } finally {
      await page.unroute(ALL);
    }
  });

  test('no console errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
