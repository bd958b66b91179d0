// Helpers shared by several resource suites in this folder: minting a PAT,
// the small seed the PAT/structure suites start from, and the funnel helpers
// the analytics and conversions suites share. Each takes the running app (or a
// getter for it, since suites start their app in `before`).
import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../harness/env.mjs';

/** POST /tokens: a PAT with `scopes` for `handle`, minted with `jwt` (default: the OWNER token). */
export async function mintPat(app, scopes, { handle = 'demo', jwt = app.ownerToken, expiresAt } = {}) {
  const r = await app.api('POST', `/v2/handles/${handle}/tokens`, { token: jwt, body: { name: `t-${scopes.join('+')}`, scopes, expiresAt } });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.secret, /^pat_[0-9a-f]{48}$/);
  return r.body;
}

/** Campaign `auto-cmp` (ACTIVE), its link `auto-link` and a rule `auto-rule` on handle demo. */
export async function seedAutomation(app) {
  const r = await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'auto-cmp', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } });
  assert.equal(r.status, 201);
  await app.api('PUT', '/v2/handles/demo/links/auto-link', { body: { destinationUrl: 'https://e.example/', campaignId: 'auto-cmp' } });
  await app.api('PUT', '/v2/handles/demo/rules/auto-rule', { body: { when: { countryIn: ['AQ'] }, variant: { id: 'v', destinationUrl: 'https://v.example/' } } });
}

/** A minimal detail structure (page + schema). */
export const structure = { page: { slug: 'auto-page', title: 'Auto' }, schema: { type: 'object' } };

export const H = '/v2/handles/demo';
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The 95 % Wilson score interval of `conversions` out of `qualified`, unrounded. */
function wilson(conversions, qualified) {
  const n = qualified;
  const p = Math.min(1, Math.max(0, conversions) / n);
  const z = 1.959963984540054;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { p, lo: center - half, hi: center + half };
}

/** The funnel's confidence: round(100 × max(0, 1 − (hi − lo) / (2p))) with the 95 % Wilson interval. */
export function wilsonConfidence(conversions, qualified) {
  if (conversions <= 0 || qualified <= 0) return 0;
  const { p, lo, hi } = wilson(conversions, qualified);
  return Math.round(100 * Math.max(0, 1 - (hi - lo) / (2 * p)));
}

/** The funnel's `interval`: the Wilson interval to 4 decimals, {0, 0} without qualified clicks. */
export function wilsonInterval(conversions, qualified) {
  if (qualified <= 0) return { lo: 0, hi: 0 };
  const { lo, hi } = wilson(conversions, qualified);
  const r4 = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10_000) / 10_000;
  return { lo: r4(lo), hi: r4(hi) };
}
export const rate = (c, q) => (q > 0 ? Math.round((c / q) * 10_000) / 10_000 : 0);

/** The funnel without its timestamp: what a rebuild must reproduce number for number. */
export const numbers = ({ lastSeenAt, ...rest }) => rest;

/** The funnel helpers bound to the app `getApp()` returns (handle demo). */
export function funnelKit(getApp) {
  /** wrangler dev reloads the Worker when a file under build/ or static/ changes (e.g. another
   * engineer rebuilding); requests in flight then are cut or replayed. Say so when a test fails. */
  const reloads = () => (getApp().log().match(/Reloading local server/g) ?? []).length;
  function test(name, fn) {
    nodeTest(name, async (t) => {
      const r0 = reloads();
      try {
        await fn(t);
      } catch (e) {
        if (reloads() > r0) e.message += '\n[note: wrangler dev reloaded the Worker during this test; in-flight clicks may have been cut or replayed]';
        throw e;
      }
    });
  }

  async function funnel(id) {
    const r = await getApp().api('GET', `${H}/analytics?funnel=true&campaignId=${id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.funnel.length, 1);
    return r.body.funnel[0];
  }

  async function groupBy(id, dim) {
    const r = await getApp().api('GET', `${H}/analytics?groupBy=${dim}&campaignId=${id}`);
    assert.equal(r.status, 200, r.text);
    return r.body;
  }

  /** Wait until the funnel shows at least `n` clicks, give stragglers a moment, return the settled funnel. */
  async function settleClicks(id, n, { timeout = 20_000 } = {}) {
    await getApp().eventually(async () => (await funnel(id)).clicks >= n, { timeout });
    await sleep(300);
    return funnel(id);
  }

  async function createCampaign(campaignId, extra = {}) {
    const r = await getApp().api('POST', `${H}/campaigns`, { body: { campaignId, goalType: 'PRODUCT_SALE', status: 'ACTIVE', ...extra } });
    assert.equal(r.status, 201, r.text);
    return r.body.campaign;
  }

  async function putLink(slug, campaignId, trackingPolicy = { mode: 'DIRECT', appendContextParam: true }) {
    const r = await getApp().api('PUT', `${H}/links/${slug}`, {
      body: { destinationUrl: `https://shop.example.com/${slug}`, campaignId, trackingPolicy },
    });
    assert.equal(r.status, 201, r.text);
    return r.body.link;
  }

  /** Click and return the click id from the Location's `ctx` parameter. */
  async function clickId(path, opts) {
    const r = await getApp().click(path, opts);
    assert.equal(r.status, 302);
    const id = new URL(r.location).searchParams.get('ctx');
    assert.match(id, /^clk_[a-z2-7]{24}$/, r.location);
    return id;
  }

  function convert(body, headers = {}) {
    return getApp().api('POST', `${H}/conversions`, { body, headers });
  }

  return { test, funnel, groupBy, settleClicks, createCampaign, putLink, clickId, convert };
}
