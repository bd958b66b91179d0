// Hardening: a GENERATED bad-input matrix over every route of
// src/core/route.rs. For each body route: no body, invalid JSON, non-object
// JSON, a wrong JSON type for EACH field (nested ones included), nulls, bad
// values, unicode (emoji, RTL, NUL, lone surrogates as raw bytes and as
// escapes), huge strings and arrays, duplicate keys, unknown fields, wrong
// content types and oversize bodies; for every path: every method it does not
// allow; plus path oddities, bad query parameters and bad credentials.
//
// Every answer must be the expected 4xx with the {error:{code,message}}
// envelope (or the documented 2xx when the input is in fact valid), never a
// 5xx. A known state is seeded first; after the matrix the handle's
// campaigns / links / rules / tokens / webhooks / structures / funnels must be
// exactly the seed plus the writes of the cases that were answered 2xx.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp } from '../../harness/app.mjs';
import { mint } from '../../../scripts/token.mjs';
import { Runner, rawRequest, wrongTypes, setPath, withRaw, duplicateKey } from './hardening-lib.mjs';

const H = 'hard-a';
const P = `/v2/handles/${H}`;
const PUB = `/v2/public/handles/${H}`;
/** The seeded experiment: RUNNING on seed-link (nothing in the matrix clicks seed-link). */
const EXP_VARIANTS = [{ id: 'a', destinationUrl: 'https://seed.example/a', weight: 50 }, { id: 'b', destinationUrl: 'https://seed.example/b', weight: 50 }];
const SEED_EXP = { slug: 'seed-link', status: 'RUNNING', variants: EXP_VARIANTS, minQualifiedClicksPerVariant: 100, autoPromote: false };
const FUTURE = new Date(Date.now() + 30 * 86400e3).toISOString();

let app;
let runner;
let jwt; // OWNER of hard-a
let pat; // PAT of hard-a with *
let patRead; // PAT of hard-a with campaigns.read
let revokedPat;
let seedSnapshot;
let seedWebhookId;
let seq = 0;
const next = () => ++seq;
let ipSeq = 0;
/** A distinct client address per bad-credential case, so the per-client auth-failure limiter is not what answers. */
const freshIp = () => `198.51.100.${(ipSeq++ % 250) + 1}`;

/** Writes made by cases that were (validly) answered 2xx. */
const W = {
  campaigns: new Set(),
  links: new Set(),
  rules: new Set(),
  tokens: new Set(),
  webhooks: new Set(),
  experiments: new Set(),
  pages: { 'seed-pages-0': new Set(), 'seed-pages-1': new Set(), 'seed-pages-2': new Set(), 'seed-pages-3': new Set() }, // structure versions written by valid cases
  live: { n: 0, revenue: 0 }, // live conversions on seed-writes (USD)
  test: { n: 0 }, // test conversions on seed-writes
};
const track = {
  campaign: (r) => W.campaigns.add(r.json.campaign.campaignId),
  link: (r) => W.links.add(r.json.link.slug),
  rule: (r) => W.rules.add(r.json.rule.ruleId),
  token: (r) => W.tokens.add(r.json.token.id),
  webhook: (r) => W.webhooks.add(r.json.webhook.id),
  experiment: (r) => W.experiments.add(r.json.experiment.experimentId),
  structure: (r) => {
    const m = r.json.key.match(new RegExp(`^site-structure/${H}/campaigns/(seed-pages-\\d)/v(\\d+)\\.json$`));
    assert.ok(m && Number(m[2]) === r.json.version, r.text);
    W.pages[m[1]].add(r.json.version);
  },
  live: (r) => {
    if (r.status !== 201) return; // 200 = idempotent replay, not a new conversion
    const c = r.json.conversion;
    assert.equal(c.campaignId, 'seed-writes', r.text);
    W.live.n++;
    if (c.currency === 'USD' && c.value != null) W.live.revenue = Math.round((W.live.revenue + c.value) * 100) / 100;
  },
  test: (r) => {
    if (r.status !== 201) return;
    assert.equal(r.json.conversion.campaignId, 'seed-writes', r.text);
    W.test.n++;
  },
};

// ---------------------------------------------------------------- plumbing

function authHeader(auth) {
  if (auth === 'jwt') return { authorization: `Bearer ${jwt}` };
  if (auth === 'pat') return { authorization: `Bearer ${pat}` };
  if (auth === 'none' || auth == null) return {};
  return { authorization: auth };
}

/** A case. `body`: string | Buffer | function (stream) | undefined; `ct`: content type (null = none). */
function C(name, method, path, { auth = 'jwt', body, ct = 'application/json', headers = {} } = {}, expect) {
  const h = { ...authHeader(auth), ...headers };
  if (body !== undefined && ct) h['content-type'] = ct;
  return { name, method, path, headers: h, body, expect };
}

const E = (status, code, extra = {}) => ({ status, ...(code ? { code } : {}), ...extra });
const badField = (field, extra = {}) => ({ status: 400, code: 'invalid_field', field, ...extra });
const INVALID_JSON = E(400, 'invalid_json');

async function api(method, path, { body, auth = 'jwt', headers = {} } = {}) {
  const h = { ...authHeader(auth), ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await rawRequest(app.base, { method, path, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(r.status < 500, `${method} ${path} → ${r.status} ${r.text}`);
  return r;
}

async function listAll(path, key, auth = 'jwt') {
  const out = [];
  let cursor = '';
  for (let i = 0; i < 50; i++) {
    const r = await api('GET', `${path}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth });
    assert.equal(r.status, 200, r.text);
    out.push(...r.json[key]);
    if (!r.json.nextCursor) return out;
    cursor = r.json.nextCursor;
  }
  throw new Error(`pagination of ${path} did not end`);
}

async function snapshot() {
  const structure = async (id) => {
    const r = await api('GET', `${P}/site-structure/campaigns/${id}`);
    if (r.status === 404) return null;
    assert.equal(r.status, 200, r.text);
    return { version: r.json.version, latestVersion: r.json.latestVersion, key: r.json.key, published: r.json.published, page: r.json.page, schema: r.json.schema };
  };
  const funnel = async (id) => {
    const r = await api('GET', `${P}/analytics?funnel=true&campaignId=${id}`);
    assert.equal(r.status, 200, r.text);
    return r.json.funnel[0];
  };
  return {
    campaigns: await listAll(`${P}/campaigns`, 'campaigns'),
    links: await listAll(`${P}/links`, 'links'),
    rules: await listAll(`${P}/rules`, 'rules'),
    tokens: (await listAll(`${P}/tokens`, 'tokens')).map(({ lastUsedAt, ...t }) => t),
    webhooks: await listAll(`${P}/webhooks`, 'webhooks'),
    experiments: await listAll(`${P}/experiments`, 'experiments'),
    structures: Object.fromEntries(await Promise.all(['seed-cmp', ...Object.keys(W.pages)].map(async (id) => [id, await structure(id)]))),
    funnels: { 'seed-cmp': await funnel('seed-cmp'), 'seed-writes': await funnel('seed-writes'), 'seed-draft': await funnel('seed-draft') },
  };
}

// ---------------------------------------------------------------- seed

before(async () => {
  app = await spawnApp();
  runner = new Runner(app.base, { concurrency: 8 });
  jwt = app.token({ [H]: 'OWNER' }, { sub: 'matrix-owner' });
  const ok = async (method, path, body, status, auth = 'jwt') => {
    const r = await api(method, path, { body, auth });
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    return r.json;
  };
  await ok('POST', `${P}/campaigns`, { campaignId: 'seed-cmp', name: 'Seed', goalType: 'PRODUCT_SALE', status: 'ACTIVE', primarySlug: 'seed-link' }, 201);
  await ok('POST', `${P}/campaigns`, { campaignId: 'seed-draft', goalType: 'LEAD_CAPTURE' }, 201);
  // Valid structure writes are spread over four campaigns: see the concurrency test at the end for why.
  for (const id of Object.keys(W.pages)) await ok('POST', `${P}/campaigns`, { campaignId: id, goalType: 'NEWSLETTER' }, 201);
  await ok('POST', `${P}/campaigns`, { campaignId: 'seed-writes', goalType: 'PRODUCT_SALE', status: 'ACTIVE' }, 201);
  await ok('PUT', `${P}/links/seed-link`, { destinationUrl: 'https://seed.example/landing', campaignId: 'seed-cmp', trackingPolicy: { mode: 'DIRECT', appendContextParam: true } }, 201);
  await ok('PUT', `${P}/links/seed-draft-link`, { destinationUrl: 'https://seed.example/draft', campaignId: 'seed-draft' }, 201);
  await ok('PUT', `${P}/experiments/seed-exp`, SEED_EXP, 201);
  await ok('PUT', `${P}/rules/seed-rule`, { priority: 5, when: { countryIn: ['AQ'] }, variant: { id: 'v1', destinationUrl: 'https://variant.example/' } }, 201);
  pat = (await ok('POST', `${P}/tokens`, { name: 'matrix-star', scopes: ['*'] }, 201)).secret;
  patRead = (await ok('POST', `${P}/tokens`, { name: 'matrix-read', scopes: ['campaigns.read'] }, 201)).secret;
  const rev = await ok('POST', `${P}/tokens`, { name: 'matrix-revoked', scopes: ['*'] }, 201);
  revokedPat = rev.secret;
  assert.equal((await api('DELETE', `${P}/tokens/${rev.token.id}`)).status, 204);
  seedWebhookId = (await ok('POST', `${P}/webhooks`, { url: 'http://127.0.0.1:9/seed', events: ['campaign.paused'] }, 201)).webhook.id;
  await ok('PUT', `${P}/site-structure/campaigns/seed-cmp`, { page: { slug: 'seed-page', title: 'Seed page' }, schema: { type: 'object' } }, 201);
  await ok('POST', `${P}/site-structure/campaigns/seed-cmp/publish`, undefined, 200);
  await ok('POST', `${P}/campaigns/seed-cmp/test-conversion`, { value: 1 }, 201);
  await ok('POST', `${P}/conversions`, { campaignId: 'seed-cmp', eventType: 'purchase', value: 10, orderId: 'seed-order-1' }, 201);
  // Clicks are recorded after the response: let the seed settle before the snapshot.
  await new Promise((r) => setTimeout(r, 1500));
  seedSnapshot = await snapshot();
  assert.equal(seedSnapshot.funnels['seed-cmp'].conversions, 1);
  assert.equal(seedSnapshot.funnels['seed-cmp'].testConversions, 1);
});

after(() => app?.stop());

// ---------------------------------------------------------------- body routes

/** Unicode probes for a free-text field. */
const UNICODE = [
  ['emoji', '🚀🔥✨ launch'],
  ['rtl override', '\u202Eevil\u202C'],
  ['arabic', 'حملة الربيع'],
  ['hebrew', 'מבצע אביב'],
  ['combining', 'e\u0301te\u0301'],
  ['zwj family', '👨‍👩‍👧'],
  ['bom + zero width', '\uFEFFzero\u200Bwidth'],
  ['cjk ext-b', '𠜎𠜱𠝹'],
];

/** Raw-byte bodies that are not valid JSON text (invalid UTF-8 / bad escapes / raw control chars). */
const RAW_STRINGS = [
  ['lone high surrogate as raw CESU-8 bytes', Buffer.from([0xed, 0xa0, 0x80])],
  ['lone low surrogate as raw CESU-8 bytes', Buffer.from([0xed, 0xb0, 0x80])],
  ['overlong utf-8 slash', Buffer.from([0xc0, 0xaf])],
  ['0xff byte', Buffer.from([0xff, 0xfe])],
  ['raw NUL byte in a string', Buffer.from([0x61, 0x00, 0x62])],
  ['raw newline in a string', Buffer.from([0x61, 0x0a, 0x62])],
];
const BAD_ESCAPES = [
  ['escaped lone high surrogate', '"\\ud800"'],
  ['escaped lone low surrogate', '"\\udfff"'],
  ['escaped high surrogate + letter', '"\\ud800\\u0041"'],
  ['bad escape', '"\\x41"'],
];

/** Generic malformed bodies for every body route. */
function genericBodies(blankOk) {
  const blank = blankOk ?? INVALID_JSON;
  const deepArrays = '['.repeat(5000) + ']'.repeat(5000);
  const deepObj = '{"a":'.repeat(3000) + '1' + '}'.repeat(3000);
  return [
    ['no body, no content type', undefined, blank, null],
    ['empty body', '', blank],
    ['whitespace body', ' \n\t ', blank],
    ['truncated {', '{', INVALID_JSON],
    ['truncated value', '{"a":', INVALID_JSON],
    ['trailing garbage', '{}x', INVALID_JSON],
    ['single quotes', "{'a':1}", INVALID_JSON],
    ['bare key', '{a:1}', INVALID_JSON],
    ['trailing comma', '{"a":1,}', INVALID_JSON],
    ['comment', '/* c */{}', INVALID_JSON],
    ['NaN', '{"a":NaN}', INVALID_JSON],
    ['Infinity', '{"a":Infinity}', INVALID_JSON],
    ['number overflow 1e400', '{"a":1e400}', INVALID_JSON],
    ['BOM before object', '\uFEFF{}', INVALID_JSON],
    ['array', '[]', INVALID_JSON],
    ['array of object', '[{}]', INVALID_JSON],
    ['string', '"x"', INVALID_JSON],
    ['number', '42', INVALID_JSON],
    ['true', 'true', INVALID_JSON],
    ['null', 'null', INVALID_JSON],
    ['10,000-element top-level array', `[${Array(10000).fill(1).join(',')}]`, INVALID_JSON],
    ['5,000-deep nested arrays', deepArrays, INVALID_JSON],
    ['3,000-deep nested objects', deepObj, INVALID_JSON],
    ['invalid utf-8 key', Buffer.concat([Buffer.from('{"'), Buffer.from([0xff]), Buffer.from('":1}')]), INVALID_JSON],
    ['two objects', '{}{}', INVALID_JSON],
  ];
}

/**
 * Body route specs. `path`: the seed target (a wrong body must leave it as
 * is); `fresh(body, k)`: where a VALID variant goes (a new resource, or a
 * missing one) and `freshExpect` what it answers; `fields`: every field with
 * its JSON type (`required`, `code` override, `nullExpect` override).
 */
function bodyRoutes() {
  const lnk = { mode: 'DIRECT', appendContextParam: true, contextParamName: 'ctx', forwardQuery: true };
  const conv = { eventType: 'purchase', value: 5, currency: 'USD', orderId: 'mx-base', occurredAt: '2026-01-01T00:00:00.000Z', metadata: { k: 'v' } };
  const structure = (path, auth, name) => ({
    id: name, method: 'PUT', path: `${path}/site-structure/campaigns/seed-cmp`, auth,
    base: { page: { slug: 'seed-page', title: 'Seed page' }, schema: { type: 'object' } },
    fields: { page: { t: 'object', required: true }, schema: { t: 'object', required: true }, 'page.slug': { t: 'string', required: true }, 'page.title': { t: 'string', required: true } },
    fresh: (b, k) => ({ path: `${path}/site-structure/campaigns/seed-pages-${k % 4}`, body: b }),
    freshExpect: E(201, null, { ok: track.structure }),
    bad: [
      ['page.slug', 'Bad Slug'], ['page.slug', ''], ['page.slug', 'a'.repeat(65)], ['page.title', ''], ['page.title', 'x'.repeat(201)],
      ['bogus', 1], ['page.slug', '../../other/campaigns/x'],
    ],
    good: [['page.title', 'x'.repeat(200)], ['page.extra', { any: [1, 'two', null, true, { deep: 1 }] }], ['schema.list', Array(10000).fill(7)], ['schema.blob', 'y'.repeat(100 * 1024)],
      ['schema.deep', JSON.parse('{"a":'.repeat(100) + '1' + '}'.repeat(100))]],
    text: { field: 'page.title', unicode: 'ok', nul: 'ok' },
    limit: 256 * 1024,
    huge: { field: 'page.title', expect: badField('page.title') },
    limitFields: ['page.title', 'page.slug'],
    extra: [
      C(`${name} missing campaign → 404`, 'PUT', `${path}/site-structure/campaigns/no-such-cmp`, { auth, body: JSON.stringify({ page: { slug: 's', title: 't' }, schema: {} }) }, E(404, 'campaign_not_found')),
      C(`${name} bad campaign id in path`, 'PUT', `${path}/site-structure/campaigns/BAD`, { auth, body: JSON.stringify({ page: { slug: 's', title: 't' }, schema: {} }) }, E(400, 'invalid_campaign_id')),
    ],
  });
  return [
    {
      id: 'campaign.create', method: 'POST', path: `${P}/campaigns`, auth: 'jwt',
      base: { campaignId: 'seed-cmp', name: 'Seed', goalType: 'PRODUCT_SALE', status: 'DRAFT', trackingPreset: 'ga4_purchase', conversionEventType: 'purchase', currency: 'USD', primarySlug: 'seed-link' },
      fields: {
        campaignId: { t: 'string', code: 'invalid_campaign_id' }, name: { t: 'string' }, goalType: { t: 'string', required: true }, status: { t: 'string' },
        trackingPreset: { t: 'string' }, conversionEventType: { t: 'string' }, currency: { t: 'string' }, primarySlug: { t: 'string' },
      },
      fresh: (b, k) => ({ path: `${P}/campaigns`, body: b.campaignId === null ? b : { ...b, campaignId: `mx-c-${k}` } }),
      freshExpect: E(201, null, { ok: track.campaign }),
      bad: [
        ...['X', 'ab', '-abc', 'abc def', 'ABC', 'a'.repeat(65), '😀abc', 'ѕeed-cmp', 'seed-cmp\u0000', '', 'seed/cmp', '../x'].map((v) => ['campaignId', v, E(400, 'invalid_campaign_id')]),
        ['goalType', 'product_sale'], ['goalType', 'BOGUS'], ['goalType', ''],
        ['status', 'PAUSED'], ['status', 'active'], ['status', 'ARCHIVED'], ['status', ''],
        ['trackingPreset', ''], ['trackingPreset', 'a b'], ['trackingPreset', 'x'.repeat(65)], ['trackingPreset', 'ga4/purchase'],
        ['conversionEventType', ''], ['conversionEventType', 'a b'], ['conversionEventType', 'x'.repeat(65)],
        ['currency', 'usd'], ['currency', 'US'], ['currency', 'USDX'], ['currency', ''], ['currency', '€€€'], ['currency', 'U1D'],
        ['primarySlug', 'Bad Slug'], ['primarySlug', ''], ['primarySlug', '-x'], ['primarySlug', 'a'.repeat(65)],
        ['name', 'x'.repeat(121)], ['name', 'a\u0000b'], ['name', 'tab\there'], ['name', 'line\nbreak'], ['name', '\u0007bell'],
        ['bogus', 1], ['goal_type', 'PRODUCT_SALE'], ['detailsPageSlug', 'x'], ['createdAt', '2026-01-01T00:00:00Z'],
      ],
      good: [['name', 'x'.repeat(120)], ['name', 'e\u0301'.repeat(60)], ['name', ''], ['status', 'ACTIVE'], ['currency', 'EUR'], ['goalType', 'APP_INSTALL'],
        ['goalType', 'AFFILIATE_CLICKOUT'], ['trackingPreset', 'custom.preset-1_x'], ['primarySlug', 'no-such-link-yet']],
      text: { field: 'name', unicode: 'ok', nul: 'bad' },
      limitFields: ['name', 'campaignId', 'goalType', 'currency', 'primarySlug'],
    },
    {
      id: 'campaign.patch', method: 'PATCH', path: `${P}/campaigns/seed-cmp`, auth: 'jwt',
      base: { name: 'Seed', status: 'ACTIVE', primarySlug: 'seed-link', currency: 'USD' },
      fields: { name: { t: 'string' }, status: { t: 'string', nullExpect: E([400, 404]) }, primarySlug: { t: 'string' }, currency: { t: 'string', nullExpect: E([400, 404]) } },
      fresh: (b) => ({ path: `${P}/campaigns/mx-nope-patch`, body: b }),
      freshExpect: E(404, 'campaign_not_found'),
      bad: [
        ['status', 'BOGUS'], ['status', 'draft'], ['status', ''], ['status', 'DRAFT', E(409, 'invalid_transition')],
        ['currency', 'usd'], ['currency', ''], ['primarySlug', 'Bad Slug'], ['primarySlug', ''], ['name', 'x'.repeat(121)], ['name', 'a\u0000b'],
        ['goalType', 'NEWSLETTER'], ['campaignId', 'other'], ['detailsPageSlug', 'x'], ['bogus', 1],
      ],
      good: [['name', 'renamed'], ['primarySlug', 'other-link'], ['currency', 'EUR']],
      text: { field: 'name', unicode: 'ok', nul: 'bad' },
      limitFields: ['name', 'currency', 'status', 'primarySlug'],
      extra: [
        C('campaign.patch empty object', 'PATCH', `${P}/campaigns/seed-cmp`, { body: '{}' }, badField('body')),
        C('campaign.patch only nulls', 'PATCH', `${P}/campaigns/seed-cmp`, { body: '{"status":null}' }, E(400, 'invalid_field')),
        C('campaign.patch bad id in path', 'PATCH', `${P}/campaigns/BAD`, { body: '{"name":"x"}' }, E(400, 'invalid_campaign_id')),
      ],
    },
    {
      id: 'campaign.test-conversion', method: 'POST', path: `${P}/campaigns/seed-cmp/test-conversion`, auth: 'jwt',
      base: conv,
      fields: { eventType: { t: 'string' }, value: { t: 'number' }, currency: { t: 'string' }, orderId: { t: 'string' }, occurredAt: { t: 'string' }, metadata: { t: 'object' } },
      fresh: (b, k) => ({ path: `${P}/campaigns/seed-writes/test-conversion`, body: b.orderId === null ? b : { ...b, orderId: `mx-t-${k}` } }),
      freshExpect: E([201, 429], null, { ok: track.test }),
      bad: [
        ['eventType', ''], ['eventType', 'x'.repeat(65)], ['eventType', 'lead', E([422, 429], ['event_type_mismatch', 'rate_limited'])],
        ['value', -1], ['value', 1.234], ['value', 1e308], ['value', 1e14], ['value', -0.01],
        ['currency', 'usd'], ['currency', 'US'], ['orderId', ''], ['orderId', 'x'.repeat(129)],
        ['occurredAt', 'yesterday'], ['occurredAt', '2026-13-01T00:00:00Z'], ['occurredAt', '2026-01-01'], ['occurredAt', '1700000000'], ['occurredAt', ''],
        ['metadata', { blob: 'x'.repeat(17000) }], ['metadata', { list: Array(10000).fill(1) }],
        ['clickId', 'clk_aaaaaaaaaaaaaaaaaaaaaaaa'], ['campaignId', 'seed-cmp'], ['bogus', 1],
      ],
      good: [['value', 0], ['value', 0.01], ['value', 1e13], ['metadata', { nested: { deep: [1, 2, { x: null }] }, 'ключ': 'значение' }]],
      maybe: [['occurredAt', '9999-12-31T23:59:59Z'], ['occurredAt', '1970-01-01T00:00:00Z'], ['occurredAt', '2026-01-01T00:00:00+14:00']],
      text: { field: 'orderId', unicode: 'ok', nul: 'maybe' },
      limitFields: ['eventType', 'orderId', 'currency', 'occurredAt'],
      emptyObjectFresh: true,
      extra: [
        C('campaign.test-conversion unknown campaign', 'POST', `${P}/campaigns/no-such-cmp/test-conversion`, { body: '{}' }, E([404, 429], ['campaign_not_found', 'rate_limited'])),
        C('campaign.test-conversion bad id in path', 'POST', `${P}/campaigns/X/test-conversion`, { body: '{}' }, E(400, 'invalid_campaign_id')),
      ],
    },
    {
      id: 'conversions', method: 'POST', path: `${P}/conversions`, auth: 'jwt',
      base: { campaignId: 'seed-cmp', ...conv },
      fields: {
        clickId: { t: 'string' }, campaignId: { t: 'string', required: true }, eventType: { t: 'string', required: true }, value: { t: 'number' },
        currency: { t: 'string' }, orderId: { t: 'string' }, occurredAt: { t: 'string' }, metadata: { t: 'object' },
      },
      fresh: (b, k) => ({ path: `${P}/conversions`, body: { ...b, ...(b.campaignId !== null ? { campaignId: 'seed-writes' } : {}), ...(b.orderId !== null ? { orderId: `mx-o-${k}` } : {}) } }),
      freshExpect: E(201, null, { ok: track.live }),
      bad: [
        ['clickId', 'clk_short'], ['clickId', 'CLK_AAAAAAAAAAAAAAAAAAAAAAAA'], ['clickId', 'x'], ['clickId', ''],
        ['clickId', 'clk_aaaaaaaaaaaaaaaaaaaaaaaa', E(404, 'not_found')],
        ['campaignId', 'BAD', E(400, 'invalid_campaign_id')], ['campaignId', 'no-such-cmp', E(404, 'campaign_not_found')],
        ['eventType', 'lead', E(422, 'event_type_mismatch')], ['eventType', ''], ['eventType', 'x'.repeat(65)],
        ['value', -1], ['value', 0.001], ['value', 1e14], ['value', 1e308],
        ['currency', 'usd'], ['orderId', ''], ['orderId', 'x'.repeat(129)], ['occurredAt', 'yesterday'], ['occurredAt', '2026-02-30T00:00:00Z'],
        ['metadata', { blob: 'x'.repeat(17000) }], ['bogus', 1], ['test', true],
      ],
      good: [['value', 0], ['value', 12.34], ['currency', 'EUR'], ['metadata', { 'ключ': ['значение', 1, null] }]],
      maybe: [['occurredAt', '9999-12-31T23:59:59Z'], ['occurredAt', '1970-01-01T00:00:00Z']],
      text: { field: 'orderId', unicode: 'ok', nul: 'maybe' },
      limitFields: ['eventType', 'orderId', 'currency', 'occurredAt', 'campaignId', 'clickId'],
      extra: [
        C('conversions draft campaign → 409', 'POST', `${P}/conversions`, { body: JSON.stringify({ campaignId: 'seed-draft', eventType: 'lead', orderId: 'mx-draft-1' }) }, E(409, 'campaign_not_tracking')),
        C('conversions empty Idempotency-Key', 'POST', `${P}/conversions`, { body: JSON.stringify({ campaignId: 'no-such-cmp', eventType: 'purchase' }), headers: { 'idempotency-key': '' } }, E([400, 404])),
        C('conversions 300-char Idempotency-Key', 'POST', `${P}/conversions`, { body: JSON.stringify({ campaignId: 'seed-cmp', eventType: 'purchase' }), headers: { 'idempotency-key': 'k'.repeat(300) } }, badField('Idempotency-Key')),
        C('conversions Idempotency-Key with a space', 'POST', `${P}/conversions`, { body: JSON.stringify({ campaignId: 'seed-cmp', eventType: 'purchase' }), headers: { 'idempotency-key': 'a b' } }, badField('Idempotency-Key')),
        C('conversions Idempotency-Key latin-1', 'POST', `${P}/conversions`, { body: JSON.stringify({ campaignId: 'seed-cmp', eventType: 'purchase' }), headers: { 'idempotency-key': 'caf\u00e9' } }, badField('Idempotency-Key')),
        C('conversions clickId and campaignId disagree', 'POST', `${P}/conversions`, { body: JSON.stringify({ clickId: 'clk_bbbbbbbbbbbbbbbbbbbbbbbb', campaignId: 'seed-cmp', eventType: 'purchase' }) }, E(404, 'not_found')),
      ],
    },
    {
      id: 'link.put', method: 'PUT', path: `${P}/links/seed-link`, auth: 'jwt',
      base: { destinationUrl: 'https://seed.example/landing', campaignId: 'seed-cmp', trackingPolicy: lnk },
      fields: {
        destinationUrl: { t: 'string', required: true }, campaignId: { t: 'string' }, trackingPolicy: { t: 'object' }, 'trackingPolicy.mode': { t: 'string' },
        'trackingPolicy.appendContextParam': { t: 'bool' }, 'trackingPolicy.contextParamName': { t: 'string' }, 'trackingPolicy.forwardQuery': { t: 'bool' },
      },
      fresh: (b, k) => ({ path: `${P}/links/mx-l-${k}`, body: b }),
      freshExpect: E(201, null, { ok: track.link }),
      bad: [
        ...['ftp://x.example/', 'javascript:alert(1)', 'data:text/html,hi', '/relative', 'https://', 'seed.example', 'http://127.0.0.1/', 'http://10.1.2.3/', 'http://192.168.0.1/',
          'http://[::1]/', 'http://169.254.169.254/latest/meta-data', 'https://user:pw@x.example/', `https://x.example/${'a'.repeat(2100)}`, '', 'http://[fe80::1]/',
          'http://0x7f000001/', 'http://2130706433/', 'https://seed.example:99999/'].map((v) => ['destinationUrl', v]),
        ['campaignId', 'BAD', E(400, 'invalid_campaign_id')], ['campaignId', 'no-such-cmp', E(404, 'campaign_not_found')],
        ['trackingPolicy.mode', 'direct'], ['trackingPolicy.mode', 'AGGREGATE'], ['trackingPolicy.mode', ''],
        ['trackingPolicy.contextParamName', '1x'], ['trackingPolicy.contextParamName', 'a-b'], ['trackingPolicy.contextParamName', 'a'.repeat(33)], ['trackingPolicy.contextParamName', ''],
        ['trackingPolicy', { mode: 'AGGREGATE_ONLY', appendContextParam: true }], ['trackingPolicy.bogus', 1], ['bogus', 1], ['slug', 'seed-link'],
      ],
      good: [['destinationUrl', 'https://bücher.example/straße?q=ü'], ['destinationUrl', `https://seed.example/${'a'.repeat(1900)}`], ['trackingPolicy', { mode: 'OFF' }],
        ['trackingPolicy', { mode: 'AGGREGATE_ONLY', appendContextParam: false }], ['trackingPolicy.contextParamName', '_A1'], ['destinationUrl', 'http://plain.example/']],
      text: { field: 'destinationUrl', unicode: 'ok', nul: 'maybe', wrap: (v) => `https://seed.example/p/${v.replace(/ /g, '-')}` },
      limitFields: ['destinationUrl', 'campaignId', 'trackingPolicy.contextParamName', 'trackingPolicy.mode'],
      extra: [
        C('link.put bad slug in path', 'PUT', `${P}/links/Bad-Slug`, { body: JSON.stringify({ destinationUrl: 'https://x.example/' }) }, badField('slug')),
        C('link.put nested duplicate key', 'PUT', `${P}/links/seed-link`, { body: '{"destinationUrl":"https://seed.example/landing","trackingPolicy":{"mode":"DIRECT","mode":5}}' }, badField('trackingPolicy.mode')),
      ],
    },
    {
      id: 'rule.put', method: 'PUT', path: `${P}/rules/seed-rule`, auth: 'jwt',
      base: { ruleId: 'seed-rule', enabled: true, priority: 5, when: { campaignIn: ['seed-cmp'], deviceIn: ['MOBILE'], countryIn: ['AQ'], sourceIn: ['email'], slugIn: ['seed-link'] }, variant: { id: 'v1', destinationUrl: 'https://variant.example/' } },
      fields: {
        ruleId: { t: 'string' }, enabled: { t: 'bool' }, priority: { t: 'int' }, when: { t: 'object' },
        'when.campaignIn': { t: 'strArray' }, 'when.deviceIn': { t: 'strArray' }, 'when.countryIn': { t: 'strArray' }, 'when.sourceIn': { t: 'strArray' }, 'when.slugIn': { t: 'strArray' },
        variant: { t: 'object', required: true }, 'variant.id': { t: 'string', required: true }, 'variant.destinationUrl': { t: 'string', required: true },
      },
      fresh: (b, k) => ({ path: `${P}/rules/mx-r-${k}`, body: b.ruleId === null ? b : { ...b, ruleId: `mx-r-${k}` } }),
      freshExpect: E(201, null, { ok: track.rule }),
      bad: [
        ['ruleId', 'other-rule'], ['ruleId', ''], ['priority', 1000001], ['priority', -1000001], ['priority', { raw: '9007199254740993' }], ['priority', { raw: '1e3' }], ['priority', { raw: '5.0' }],
        ['when.deviceIn', ['PHONE']], ['when.deviceIn', ['mobile']], ['when.countryIn', ['usa']], ['when.countryIn', ['us']], ['when.countryIn', ['']],
        ['when.campaignIn', ['BAD ID']], ['when.campaignIn', ['no-such-cmp'], E(404, 'campaign_not_found')], ['when.slugIn', ['Bad Slug']],
        ...['campaignIn', 'deviceIn', 'countryIn', 'sourceIn', 'slugIn'].map((k) => [`when.${k}`, []]),
        ...['campaignIn', 'deviceIn', 'countryIn', 'sourceIn', 'slugIn'].map((k) => [`when.${k}`, Array(101).fill('x')]),
        ['when.bogus', ['x']], ['variant.bogus', 1], ['variant.id', 'bad id'], ['variant.id', ''], ['variant.id', 'x'.repeat(65)],
        ['variant.destinationUrl', 'ftp://x.example/'], ['variant.destinationUrl', 'http://127.0.0.1/'], ['variant.destinationUrl', 'https://u:p@x.example/'], ['bogus', 1],
      ],
      good: [['priority', 1000000], ['priority', -1000000], ['enabled', false], ['when', {}], ['variant.id', 'x'.repeat(64)]],
      text: { field: 'variant.id', unicode: 'bad', nul: 'bad' },
      limitFields: ['variant.id', 'variant.destinationUrl', 'ruleId'],
      arrayFields: ['when.campaignIn', 'when.deviceIn', 'when.countryIn', 'when.sourceIn', 'when.slugIn'],
      extra: [
        C('rule.put bad id in path', 'PUT', `${P}/rules/X`, { body: '{"variant":{"id":"v","destinationUrl":"https://x.example/"}}' }, badField('ruleId')),
        C('rule.put id "explain" is not a rule', 'PUT', `${P}/rules/explain`, { body: '{"variant":{"id":"v","destinationUrl":"https://x.example/"}}' }, E(405, 'method_not_allowed', { allow: 'POST' })),
      ],
    },
    {
      id: 'rule.explain', method: 'POST', path: `${P}/rules/explain`, auth: 'jwt',
      base: { slug: 'seed-link', country: 'US', device: 'MOBILE', source: 'email', userAgent: 'Mozilla/5.0', query: 'a=1' },
      fields: { slug: { t: 'string', required: true }, country: { t: 'string' }, device: { t: 'string' }, source: { t: 'string' }, userAgent: { t: 'string' }, query: { t: 'stringOrObject' } },
      fresh: (b) => ({ path: `${P}/rules/explain`, body: b }),
      freshExpect: E(200),
      bad: [['slug', 'Bad Slug'], ['slug', 'no-such', E(404, 'link_not_found')], ['slug', ''], ['country', 'usa'], ['country', 'us'], ['country', ''], ['device', 'PHONE'], ['device', 'mobile'], ['bogus', 1], ['userAgent', 'u'.repeat(4097)], ['query', { a: 1 }]],
      good: [['userAgent', 'u'.repeat(4096)], ['query', '%ZZ&&==&a=%F0%9F%98%80'], ['source', 'UPPER'], ['query', 'a='.repeat(1000)], ['query', {}], ['query', { a: '1', b: null }]],
      text: { field: 'userAgent', unicode: 'ok', nul: 'ok' },
      limitFields: ['slug', 'country', 'device'],
    },
    {
      id: 'tokens.create', method: 'POST', path: `${P}/tokens`, auth: 'jwt',
      base: { name: 'mx-token', scopes: ['campaigns.read'], expiresAt: FUTURE },
      fields: { name: { t: 'string', required: true }, scopes: { t: 'strArray', required: true }, expiresAt: { t: 'string' } },
      fresh: (b) => ({ path: `${P}/tokens`, body: b }),
      freshExpect: E(201, null, { ok: track.token }),
      bad: [
        ['name', ''], ['name', 'x'.repeat(65)], ['name', 'a\u0000b'], ['name', 'tab\t'],
        ['scopes', []], ['scopes', ['nope.read']], ['scopes', ['*.*']], ['scopes', ['campaigns.*.read']], ['scopes', ['']], ['scopes', ['CAMPAIGNS.READ']], ['scopes', [' *']],
        ['scopes', Array(21).fill('campaigns.read')], ['expiresAt', 'tomorrow'], ['expiresAt', '2001-01-01T00:00:00Z'], ['expiresAt', ''], ['bogus', 1], ['secret', 'pat_x'],
      ],
      good: [['scopes', ['*', '*']], ['scopes', ['campaigns.*', 'links.*', 'analytics.*', 'conversions.*', 'pages.*', 'webhooks.*']], ['name', 'x'.repeat(64)]],
      text: { field: 'name', unicode: 'ok', nul: 'bad' },
      limitFields: ['name', 'expiresAt'],
      arrayFields: ['scopes'],
    },
    {
      id: 'webhooks.create', method: 'POST', path: `${P}/webhooks`, auth: 'jwt',
      base: { url: 'http://127.0.0.1:9/mx', events: ['conversion.tested'] },
      fields: { url: { t: 'string', required: true }, events: { t: 'strArray', required: true } },
      fresh: (b) => ({ path: `${P}/webhooks`, body: b }),
      freshExpect: E(201, null, { ok: track.webhook }),
      bad: [
        ...['http://hooks.example/x', 'ftp://hooks.example/', 'https://10.0.0.1/', 'https://user:pw@hooks.example/', '', 'not a url', `https://hooks.example/${'a'.repeat(2100)}`,
          'javascript:alert(1)', 'http://user:pw@127.0.0.1:9/x', 'https://[::1]/', 'https://169.254.169.254/'].map((v) => ['url', v]),
        ['events', []], ['events', ['bogus']], ['events', ['CONVERSION.TESTED']], ['events', Array(11).fill('conversion.tested')], ['events', ['']], ['bogus', 1], ['secret', 'whsec_x'],
      ],
      good: [['events', ['conversion.tested', 'conversion.created', 'campaign.activated', 'campaign.paused']], ['events', ['campaign.paused', 'campaign.paused']]],
      text: { field: 'url', unicode: 'ok', nul: 'maybe', wrap: (v) => `http://127.0.0.1:9/${v.replace(/ /g, '-')}` },
      limitFields: ['url'],
      arrayFields: ['events'],
    },
    {
      id: 'experiment.put', method: 'PUT', path: `${P}/experiments/seed-exp`, auth: 'jwt',
      base: SEED_EXP,
      fields: {
        slug: { t: 'string', required: true }, status: { t: 'string' }, variants: { t: 'strArray', required: true },
        minQualifiedClicksPerVariant: { t: 'int' }, autoPromote: { t: 'bool' },
      },
      // valid writes are DRAFT experiments (any number per link) under fresh ids
      fresh: (b, k) => ({ path: `${P}/experiments/mx-e-${k}`, body: b.status === null ? b : { ...b, status: 'DRAFT' } }),
      freshExpect: E(201, null, { ok: track.experiment }),
      bad: [
        ['slug', 'Bad Slug'], ['slug', ''], ['slug', 'a'.repeat(65)], ['slug', 'no-such-link', E(404, 'link_not_found')],
        ['status', 'CONCLUDED'], ['status', 'running'], ['status', ''], ['status', 'ACTIVE'],
        ['variants', [EXP_VARIANTS[0]]], ['variants', Array.from({ length: 6 }, (_, i) => ({ id: `v${i}`, destinationUrl: 'https://seed.example/', weight: i ? 16 : 20 }))],
        ['variants', [EXP_VARIANTS[0], { ...EXP_VARIANTS[1], weight: 60 }]], ['variants', [EXP_VARIANTS[0], { ...EXP_VARIANTS[1], id: 'a' }]],
        ['variants', [EXP_VARIANTS[0], { ...EXP_VARIANTS[1], id: 'Bad Id' }]], ['variants', [EXP_VARIANTS[0], { ...EXP_VARIANTS[1], id: 'x'.repeat(33) }]],
        ['variants', [EXP_VARIANTS[0], { ...EXP_VARIANTS[1], destinationUrl: 'ftp://x.example/' }]], ['variants', [EXP_VARIANTS[0], { ...EXP_VARIANTS[1], destinationUrl: 'http://127.0.0.1/' }]],
        ['variants', [{ ...EXP_VARIANTS[0], weight: 0 }, { ...EXP_VARIANTS[1], weight: 100 }]], ['variants', [{ ...EXP_VARIANTS[0], weight: 49.5 }, { ...EXP_VARIANTS[1], weight: 50.5 }]],
        ['variants', [{ ...EXP_VARIANTS[0], weight: '50' }, EXP_VARIANTS[1]]], ['variants', [{ ...EXP_VARIANTS[0], colour: 'red' }, EXP_VARIANTS[1]]],
        ['variants', [EXP_VARIANTS[0], { id: 'b', weight: 50 }]], ['variants', [EXP_VARIANTS[0], null]], ['variants', [EXP_VARIANTS[0], 'b']],
        ['minQualifiedClicksPerVariant', 0], ['minQualifiedClicksPerVariant', 10000001], ['minQualifiedClicksPerVariant', -5], ['minQualifiedClicksPerVariant', 1.5],
        ['bogus', 1], ['experimentId', 'seed-exp'], ['winner', 'a'], ['campaignId', 'seed-cmp'],
      ],
      good: [['status', 'STOPPED'], ['minQualifiedClicksPerVariant', 1], ['minQualifiedClicksPerVariant', 10000000], ['autoPromote', true], ['slug', 'seed-draft-link'],
        ['variants', Array.from({ length: 5 }, (_, i) => ({ id: `v${i}`, destinationUrl: `https://seed.example/${i}`, weight: 20 }))],
        ['variants', [{ ...EXP_VARIANTS[0], weight: 1 }, { ...EXP_VARIANTS[1], weight: 99, id: 'x'.repeat(32) }]]],
      text: { field: 'slug', unicode: 'bad', nul: 'bad' },
      limitFields: ['slug', 'status'],
      arrayFields: ['variants'],
      extra: [
        C('experiment.put bad id in path', 'PUT', `${P}/experiments/X`, { body: JSON.stringify(SEED_EXP) }, badField('experimentId')),
        C('experiment.put a second RUNNING experiment on the link → 409', 'PUT', `${P}/experiments/mx-conflict`, { body: JSON.stringify(SEED_EXP) }, E(409, 'experiment_conflict')),
        C('experiment.put nested duplicate key', 'PUT', `${P}/experiments/seed-exp`, {
          body: '{"slug":"seed-link","variants":[{"id":"a","destinationUrl":"https://seed.example/a","weight":50,"weight":"x"},{"id":"b","destinationUrl":"https://seed.example/b","weight":50}]}',
        }, badField('variants')),
      ],
    },
    structure(P, 'jwt', 'structure.put'),
    structure(PUB, 'pat', 'public.structure.put'),
    {
      id: 'dev.token', method: 'POST', path: '/v2/dev/token', auth: 'none',
      base: { handle: H, role: 'VIEWER' },
      fields: { handle: { t: 'string' }, role: { t: 'string' } },
      fresh: (b) => ({ path: '/v2/dev/token', body: b }),
      freshExpect: E(200, null, { check: (r) => (typeof r.json?.token === 'string' ? null : 'no token in the answer') }),
      blankOk: E(200),
      bad: [['handle', 'HARD-A'], ['handle', 'v2'], ['handle', 'a'], ['handle', '-x'], ['handle', ''], ['role', 'GOD'], ['role', 'owner'], ['role', ''], ['bogus', 1], ['sub', 'root']],
      good: [['role', 'OWNER'], ['handle', 'some-other-handle']],
      text: { field: 'handle', unicode: 'bad', nul: 'bad' },
      limitFields: ['handle', 'role'],
      emptyObject: E(200),
    },
  ];
}

/** All generated cases of one body route. */
function bodyCases(r) {
  const out = [];
  const limit = r.limit ?? 64 * 1024;
  const name = (s) => `${r.id} ${s}`;
  const seedCase = (label, body, expect, extra = {}) => out.push(C(name(label), r.method, r.path, { auth: r.auth, body, ...extra }, expect));
  const freshCase = (label, obj, expect = r.freshExpect, rawFn) => {
    const f = r.fresh(obj, next());
    out.push(C(name(label), r.method, f.path, { auth: r.auth, body: rawFn ? rawFn(f.body) : JSON.stringify(f.body) }, expect));
  };

  // 1. generic malformed bodies
  for (const [label, body, expect, ct] of genericBodies(r.blankOk)) {
    out.push(C(name(label), r.method, r.path, { auth: r.auth, body, ct: ct === null ? null : 'application/json' }, expect));
  }
  if (r.emptyObjectFresh) freshCase('empty object {} (all fields optional)', {});
  else seedCase('empty object {}', '{}', r.emptyObject ?? E(400, ['invalid_field', 'invalid_campaign_id']));

  // 2. every field × every wrong JSON type, and null
  for (const [field, spec] of Object.entries(r.fields)) {
    for (const w of wrongTypes(spec.t)) {
      const expect = spec.code ? E(400, spec.code) : badField(field);
      seedCase(`${field} as ${w.label} ${w.json.slice(0, 20)}`, withRaw(r.base, field, w.json), expect);
    }
    if (spec.required) seedCase(`${field}: null (required)`, withRaw(r.base, field, 'null'), spec.code ? E(400, spec.code) : badField(field));
    else freshCase(`${field}: null reads as absent`, setPath(r.base, field, null), spec.nullExpect ?? r.freshExpect);
    // a missing required field
    if (spec.required && !field.includes('.')) {
      const { [field]: _, ...rest } = r.base;
      seedCase(`${field} missing`, JSON.stringify(rest), badField(field));
    }
  }

  // 3. bad values (right type, wrong value) → the seed target, 400 unless noted
  for (const [field, value, expect] of r.bad ?? []) {
    const body = value && typeof value === 'object' && 'raw' in value ? withRaw(r.base, field, value.raw) : JSON.stringify(setPath(r.base, field, value));
    seedCase(`bad ${field}=${JSON.stringify(value).slice(0, 40)}`, body, expect ?? badField(field));
  }
  // 4. valid edge values → a fresh target, the documented 2xx
  for (const [field, value] of r.good ?? []) freshCase(`valid ${field}=${JSON.stringify(value).slice(0, 40)}`, setPath(r.base, field, value));
  for (const [field, value] of r.maybe ?? []) {
    freshCase(`edge ${field}=${JSON.stringify(value).slice(0, 40)}`, setPath(r.base, field, value), { ...r.freshExpect, status: [...[r.freshExpect.status].flat(), 400] });
  }

  // 5. unicode in the free-text field
  const t = r.text;
  const wrap = t.wrap ?? ((v) => v);
  for (const [label, v] of UNICODE) {
    if (t.unicode === 'ok') freshCase(`unicode ${label} in ${t.field}`, setPath(r.base, t.field, wrap(v)));
    else seedCase(`unicode ${label} in ${t.field}`, JSON.stringify(setPath(r.base, t.field, wrap(v))), E(400, ['invalid_field', 'invalid_campaign_id']));
  }
  freshCase(`escaped surrogate pair (valid emoji) in ${t.field}`, setPath(r.base, t.field, 'PAIR'), t.unicode === 'ok' ? r.freshExpect : E(400), (b) =>
    JSON.stringify(b).replace('"PAIR"', JSON.stringify(wrap('PAIR')).replace('PAIR', '\\ud83d\\ude80')));
  const nulBody = setPath(r.base, t.field, wrap('a\u0000b'));
  if (t.nul === 'bad') seedCase(`escaped NUL \\u0000 in ${t.field}`, JSON.stringify(nulBody), E(400, ['invalid_field', 'invalid_campaign_id']));
  else if (t.nul === 'ok') freshCase(`escaped NUL \\u0000 in ${t.field}`, nulBody);
  else freshCase(`escaped NUL \\u0000 in ${t.field}`, nulBody, { ...r.freshExpect, status: [...[r.freshExpect.status].flat(), 400] });
  for (const [label, bytes] of RAW_STRINGS) {
    const [pre, post] = withRaw(r.base, t.field, '"@@RAW@@"').split('@@RAW@@');
    seedCase(`${label} in ${t.field}`, Buffer.concat([Buffer.from(pre), bytes, Buffer.from(post)]), INVALID_JSON);
  }
  for (const [label, raw] of BAD_ESCAPES) seedCase(`${label} in ${t.field}`, withRaw(r.base, t.field, raw), INVALID_JSON);

  // 6. huge strings and arrays
  const big = 'z'.repeat(100 * 1024);
  if (limit > 100 * 1024) seedCase(`100 KB string in ${r.huge.field}`, JSON.stringify(setPath(r.base, r.huge.field, big)), r.huge.expect);
  else seedCase(`100 KB string in ${t.field}`, JSON.stringify(setPath(r.base, t.field, big)), E(413, 'payload_too_large'));
  for (const f of r.limitFields ?? []) {
    seedCase(`50 KB string in ${f}`, JSON.stringify(setPath(r.base, f, 'q'.repeat(50 * 1024))), E(400, ['invalid_field', 'invalid_campaign_id']));
  }
  const arr = Array(10000).fill('x');
  for (const f of r.arrayFields ?? []) seedCase(`10,000-item array in ${f}`, JSON.stringify(setPath(r.base, f, arr)), badField(f));
  seedCase(`10,000-item array in ${t.field}`, JSON.stringify(setPath(r.base, t.field, arr)), E(400, ['invalid_field', 'invalid_campaign_id']));

  // 7. duplicate keys (raw JSON with the same key twice)
  for (const field of Object.keys(r.base)) {
    const spec = r.fields[field];
    if (!spec) continue;
    const wrong = wrongTypes(spec.t)[0].json;
    const good = JSON.stringify(r.base[field]);
    // valid value last: last-wins parsers accept (the documented 2xx of a valid body), strict ones refuse (400)
    const f = r.fresh(structuredClone(r.base), next());
    const freshStatuses = [r.freshExpect.status].flat();
    out.push(C(name(`duplicate ${field} (wrong, then valid)`), r.method, f.path,
      { auth: r.auth, body: duplicateKey(f.body, field, wrong, JSON.stringify(f.body[field])) }, { ...r.freshExpect, status: [...freshStatuses, 400], code: undefined }));
    seedCase(`duplicate ${field} (valid, then wrong)`, duplicateKey(r.base, field, good, wrong), E(400, ['invalid_field', 'invalid_campaign_id']));
  }

  // 8. unknown / hostile field names
  const withKey = (k) => `{${JSON.stringify(k)}:1,${JSON.stringify(r.base).slice(1)}`;
  seedCase('unknown field __proto__', `{"__proto__":{"polluted":1},${JSON.stringify(r.base).slice(1)}`, badField('__proto__'));
  seedCase('unknown field constructor', withKey('constructor'), badField('constructor'));
  seedCase('unknown field emoji', withKey('😀'), badField('😀'));
  seedCase('unknown 5,000-char field name', withKey('k'.repeat(5000)), E(400, 'invalid_field', {
    check: (res) => (res.json?.error?.message?.length < 1000 ? null : `message is ${res.json?.error?.message?.length} chars: the field name is echoed unbounded`),
  }));

  // 9. wrong content types
  for (const ct of ['application/xml', 'multipart/form-data; boundary=----x', 'text/html', 'application/octet-stream', 'image/png']) {
    out.push(C(name(`content-type ${ct}`), r.method, r.path, { auth: r.auth, body: JSON.stringify(r.base), ct }, E(415, 'unsupported_media_type')));
  }

  // 10. oversize bodies
  const over = JSON.stringify(setPath(r.base, t.field, 'o'.repeat(limit + 10)));
  seedCase(`body over ${limit / 1024} KiB`, over, E(413, 'payload_too_large'));
  out.push(C(name(`streamed body over ${limit / 1024} KiB (chunked, no content-length)`), r.method, r.path, {
    auth: r.auth,
    body: async function* () {
      yield Buffer.from('{"x":"');
      for (let i = 0; i < Math.ceil(limit / 8192) + 4; i++) yield Buffer.alloc(8192, 0x61);
      yield Buffer.from('"}');
    },
  }, E(413, 'payload_too_large')));

  for (const c of r.extra ?? []) out.push(c);
  return out;
}

// ---------------------------------------------------------------- MCP

function rpcCase(label, body, expect, auth = 'pat') {
  return C(`mcp ${label}`, 'POST', '/mcp', { auth, body }, { envelope: 'none', ...expect });
}
const rpcMsg = (id, method, params) => JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
const isRpcError = (code) => (r) => {
  const items = Array.isArray(r.json) ? r.json : [r.json];
  if (!items.length || !items.every((j) => j && j.jsonrpc === '2.0' && j.error && (code === undefined || j.error.code === code))) return `expected JSON-RPC error${code !== undefined ? ` ${code}` : ''}`;
  return null;
};
const isToolError = (codes) => (r) => {
  const res = r.json?.result;
  if (!res) return r.json?.error ? null : 'no JSON-RPC result';
  if (res.isError !== true) return `tool call succeeded (isError=${res.isError}) on a wrong input`;
  const code = res.structuredContent?.error?.code;
  if (typeof code !== 'string') return 'isError result without the API error envelope';
  if (codes && !codes.includes(code)) return `tool error code ${code}, expected ${codes.join('|')}`;
  return null;
};
const isToolOk = (onOk) => (r) => {
  const res = r.json?.result;
  if (!res || res.isError !== false) return `expected a successful tool result, got ${r.text.slice(0, 160)}`;
  onOk?.(res.structuredContent);
  return null;
};

function mcpCases() {
  const out = [];
  const opt = []; // wrong types of the arguments a tool turns into query parameters
  const call = (name, args) => rpcMsg(next(), 'tools/call', { name, arguments: args });
  const tools = {
    campaign_list: { base: { status: 'ACTIVE', limit: 10 }, fields: { handle: 'string', status: 'string', limit: 'int', cursor: 'string' }, query: ['status', 'limit', 'cursor'] },
    campaign_create: {
      base: { campaignId: 'seed-cmp', goalType: 'PRODUCT_SALE', name: 'x' },
      fields: { handle: 'string', campaignId: 'string', name: 'string', goalType: 'string', status: 'string', trackingPreset: 'string', conversionEventType: 'string', currency: 'string', primarySlug: 'string' },
      fresh: (a, k) => (a.campaignId === null ? a : { ...a, campaignId: `mx-m-${k}` }),
      track: (sc) => W.campaigns.add(sc.campaign.campaignId),
    },
    campaign_health: { base: { campaignId: 'seed-cmp' }, fields: { handle: 'string', campaignId: 'string' } },
    funnel_get: { base: { campaignId: 'seed-cmp' }, fields: { handle: 'string', campaignId: 'string' }, query: ['campaignId'] },
    link_upsert: {
      base: { slug: 'seed-link', destinationUrl: 'https://seed.example/landing', campaignId: 'seed-cmp', trackingPolicy: { mode: 'DIRECT', appendContextParam: true } },
      fields: { handle: 'string', slug: 'string', destinationUrl: 'string', campaignId: 'string', trackingPolicy: 'object' },
      fresh: (a, k) => ({ ...a, slug: `mx-ml-${k}` }),
      track: (sc) => W.links.add(sc.link.slug),
    },
    campaign_structure_get: { base: { campaignId: 'seed-cmp', version: 1 }, fields: { handle: 'string', campaignId: 'string', version: 'int' }, query: ['version'] },
    campaign_structure_upsert: {
      base: { campaignId: 'seed-cmp', page: { slug: 'seed-page', title: 'Seed page' }, schema: { type: 'object' } },
      fields: { handle: 'string', campaignId: 'string', page: 'object', schema: 'object' },
    },
    campaign_structure_publish: { base: { campaignId: 'no-such-cmp' }, fields: { handle: 'string', campaignId: 'string' } },
    experiment_upsert: {
      base: { experimentId: 'seed-exp', ...SEED_EXP },
      fields: { handle: 'string', experimentId: 'string', slug: 'string', status: 'string', variants: 'strArray', minQualifiedClicksPerVariant: 'int', autoPromote: 'bool' },
      fresh: (a, k) => ({ ...a, experimentId: `mx-me-${k}`, status: a.status === null ? null : 'DRAFT' }),
      track: (sc) => W.experiments.add(sc.experiment.experimentId),
    },
    experiment_results: { base: { experimentId: 'seed-exp' }, fields: { handle: 'string', experimentId: 'string' } },
  };
  for (const [tool, spec] of Object.entries(tools)) {
    for (const [field, type] of Object.entries(spec.fields)) {
      for (const w of wrongTypes(type)) {
        // A numeric string for an integer argument is the same query parameter: tolerated.
        const lenient = type === 'int' && w.label === 'string';
        (spec.query?.includes(field) ? opt : out).push(rpcCase(`${tool} ${field} as ${w.label} ${w.json.slice(0, 16)}`, JSON.stringify({ jsonrpc: '2.0', id: next(), method: 'tools/call', params: { name: tool, arguments: 'ARGS' } })
          .replace('"ARGS"', withRaw(spec.base, field, w.json)), { status: 200, check: lenient ? null : isToolError() }));
      }
    }
    // handle oddities: never another tenant, never a 5xx
    for (const h of ['other-x', 'HARD-A', 'hard-a/../other-x', '../other-x', 'hard-a%2Fcampaigns', '', ' hard-a', 'v2', 'a'.repeat(5000)]) {
      out.push(rpcCase(`${tool} handle=${JSON.stringify(h).slice(0, 30)}`, call(tool, { ...spec.base, handle: h }), { status: 200, check: isToolError(['forbidden', 'not_found', 'invalid_field']) }));
    }
    // arguments of the wrong shape
    for (const a of ['"x"', '5', 'true', '[]', '[{"campaignId":"seed-cmp"}]']) {
      out.push(rpcCase(`${tool} arguments=${a}`, JSON.stringify({ jsonrpc: '2.0', id: next(), method: 'tools/call', params: { name: tool, arguments: 'ARGS' } }).replace('"ARGS"', a), { status: 200, check: isToolError() }));
    }
    if (spec.fresh) {
      out.push(rpcCase(`${tool} valid call`, call(tool, spec.fresh(spec.base, next())), { status: 200, check: isToolOk(spec.track) }));
      for (const field of Object.keys(spec.fields)) {
        if (field === 'handle' || field === 'slug' || field === 'destinationUrl' || field === 'goalType' || field === 'variants' || field === 'experimentId') continue;
        out.push(rpcCase(`${tool} ${field}: null reads as absent`, call(tool, spec.fresh({ ...spec.base, [field]: null }, next())), { status: 200, check: isToolOk(spec.track) }));
      }
    }
  }
  // An argument a tool does not know is refused, by the handler (a body tool) or by the endpoint (a bodiless one).
  out.push(rpcCase('experiment_upsert unknown argument', call('experiment_upsert', { experimentId: 'seed-exp', ...SEED_EXP, bogus: 1 }), { status: 200, check: isToolError(['invalid_field']) }));
  out.push(rpcCase('experiment_results unknown argument', call('experiment_results', { experimentId: 'seed-exp', from: '2026-01-01T00:00:00Z' }), { status: 200, check: isToolError(['invalid_field']) }));
  out.push(rpcCase('experiment_results valid call', call('experiment_results', { experimentId: 'seed-exp' }), { status: 200, check: isToolOk((sc) => assert.equal(sc.experimentId, 'seed-exp')) }));
  out.push(rpcCase('experiment_results missing experiment', call('experiment_results', { experimentId: 'no-such-exp' }), { status: 200, check: isToolError(['not_found']) }));
  out.push(C('mcp with a read-only PAT asking for experiment results (analytics.read)', 'POST', '/mcp', { auth: `Bearer ${patRead}`, body: call('experiment_results', { experimentId: 'seed-exp' }) }, { status: 200, envelope: 'none', check: isToolError(['forbidden']) }));
  // JSON-RPC envelope
  const malformed = [
    ['no body', undefined, E(400), isRpcError(-32700)],
    ['empty', '', E(400), isRpcError(-32700)],
    ['truncated', '{"jsonrpc":', E(400), isRpcError(-32700)],
    ['lone surrogate bytes', Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), E(400), isRpcError(-32700)],
    ['escaped lone surrogate', '{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}', E(400), isRpcError(-32700)],
    ['5,000-deep arrays', '['.repeat(5000) + ']'.repeat(5000), E(400), isRpcError(-32700)],
    ['null', 'null', E(200), isRpcError(-32600)],
    ['string', '"x"', E(200), isRpcError(-32600)],
    ['number', '42', E(200), isRpcError(-32600)],
    ['empty array', '[]', E(200), isRpcError(-32600)],
    ['array of junk', '[1,"x",null]', E(200), isRpcError(-32600)],
    ['empty object', '{}', E(200), isRpcError(-32600)],
    ['jsonrpc 1.0', '{"jsonrpc":"1.0","id":1,"method":"ping"}', E(200), isRpcError(-32600)],
    ['unknown method', rpcMsg(1, 'resources/list'), E(200), isRpcError(-32601)],
    ['unknown tool', rpcMsg(1, 'tools/call', { name: 'no_such_tool', arguments: {} }), E(200), isRpcError(-32602)],
    ['tool name 5,000 chars', rpcMsg(1, 'tools/call', { name: 'n'.repeat(5000), arguments: {} }), E(200), isRpcError(-32602)],
    ['duplicate method key', '{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping"}', E(200), null],
  ];
  for (const [label, body, e, check] of malformed) out.push(rpcCase(label, body, { ...e, check }));
  for (const w of wrongTypes('string')) {
    out.push(rpcCase(`jsonrpc as ${w.label}`, `{"jsonrpc":${w.json},"id":1,"method":"ping"}`, { status: 200, check: isRpcError(-32600) }));
    // A request with an id must be answered: a non-string method is an Invalid Request (-32600), not a notification.
    out.push(rpcCase(`method as ${w.label}`, `{"jsonrpc":"2.0","id":1,"method":${w.json}}`, { status: 200, check: isRpcError(-32600) }));
    out.push(rpcCase(`tools/call name as ${w.label}`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":${w.json},"arguments":{}}}`, { status: 200, check: isRpcError() }));
  }
  out.push(rpcCase('method null with an id', '{"jsonrpc":"2.0","id":1,"method":null}', { status: 200, check: isRpcError(-32600) }));
  for (const w of wrongTypes('object')) {
    out.push(rpcCase(`tools/call params as ${w.label}`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":${w.json}}`, { status: 200, check: isRpcError() }));
    out.push(rpcCase(`initialize params as ${w.label}`, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":${w.json}}`, { status: 200, check: (r) => (r.json?.result || r.json?.error ? null : 'no JSON-RPC answer') }));
  }
  for (const id of ['{}', '[]', 'true', '1.5', '"x"', `"${'i'.repeat(5000)}"`]) {
    out.push(rpcCase(`id ${id.slice(0, 12)}`, `{"jsonrpc":"2.0","id":${id},"method":"ping"}`, { status: 200, check: (r) => (r.json?.result || r.json?.error ? null : 'no JSON-RPC answer') }));
  }
  out.push(rpcCase('notification only', '{"jsonrpc":"2.0","method":"notifications/initialized"}', { status: 202 }));
  out.push(rpcCase('batch of 1,000 pings', JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }))), {
    status: 200, check: (r) => (Array.isArray(r.json) && r.json.length === 1000 ? null : 'batch answer is not 1,000 replies'),
  }));
  out.push(rpcCase('batch over 64 KiB', JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }))), { ...E(413, 'payload_too_large'), envelope: 'api' }));
  for (const ct of ['application/xml', 'multipart/form-data; boundary=x', 'text/html']) {
    out.push(C(`mcp content-type ${ct}`, 'POST', '/mcp', { auth: 'pat', body: rpcMsg(1, 'ping'), ct }, E(415, 'unsupported_media_type')));
  }
  out.push(C('mcp without credential', 'POST', '/mcp', { auth: 'none', body: rpcMsg(1, 'ping') }, E(401, 'unauthorized')));
  out.push(C('mcp with a JWT', 'POST', '/mcp', { auth: 'jwt', body: rpcMsg(1, 'ping') }, E(403, 'forbidden')));
  out.push(C('mcp with a read-only PAT calling a write tool', 'POST', '/mcp', { auth: `Bearer ${patRead}`, body: call('campaign_create', { goalType: 'NEWSLETTER' }) }, { status: 200, envelope: 'none', check: isToolError(['forbidden']) }));
  return { main: out, opt };
}

// ---------------------------------------------------------------- methods, paths, queries, auth

/** Every path shape of route.rs with the methods it allows. */
const PATHS = () => [
  ['/healthz', 'GET, HEAD'],
  ['/v2/dev/token', 'POST'],
  ['/mcp', 'POST'],
  [`${P}/campaigns`, 'GET, POST'],
  [`${P}/campaigns/seed-cmp`, 'GET, PATCH'],
  [`${P}/campaigns/seed-cmp/health`, 'GET'],
  [`${P}/campaigns/seed-cmp/test-conversion`, 'POST'],
  [`${P}/campaigns/seed-cmp/rollup/rebuild`, 'POST'],
  [`${P}/campaigns/seed-cmp/clicks.csv`, 'GET'],
  [`${P}/campaigns/seed-cmp/conversions.csv`, 'GET'],
  [`${P}/links`, 'GET'],
  [`${P}/links/seed-link`, 'GET, PUT, DELETE'],
  [`${P}/links/seed-link/qr`, 'GET'],
  [`${P}/hosts`, 'GET'],
  [`${P}/hosts/seed.brand.example`, 'PUT, DELETE'],
  [`${P}/rules`, 'GET'],
  [`${P}/rules/explain`, 'POST'],
  [`${P}/rules/seed-rule`, 'GET, PUT, DELETE'],
  [`${P}/experiments`, 'GET'],
  [`${P}/experiments/seed-exp`, 'GET, PUT, DELETE'],
  [`${P}/experiments/seed-exp/results`, 'GET'],
  [`${P}/conversions`, 'POST'],
  [`${P}/analytics`, 'GET'],
  [`${P}/tokens`, 'GET, POST'],
  [`${P}/tokens/tok_0000000000000000`, 'DELETE'],
  [`${P}/webhooks`, 'GET, POST'],
  [`${P}/webhooks/${'WH'}`, 'GET, DELETE'],
  [`${P}/webhooks/${'WH'}/deliveries`, 'GET'],
  [`${P}/site-structure/campaigns/seed-cmp`, 'GET, PUT'],
  [`${P}/site-structure/campaigns/seed-cmp/publish`, 'POST'],
  [`${PUB}/site-structure/campaigns/seed-cmp`, 'GET, PUT'],
  [`${PUB}/site-structure/campaigns/seed-cmp/publish`, 'POST'],
  [`/${H}/p/seed-page`, 'GET, HEAD'],
  // POST is a password form's try; on a link without a password it is 405 too (below).
  [`/${H}/seed-draft-link`, 'GET, HEAD, POST'],
];
const STD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function methodCases(methods) {
  const out = [];
  for (const [p0, allow] of PATHS()) {
    const path = p0.replace('WH', seedWebhookId);
    const allowed = allow.split(', ');
    for (const m of methods) {
      if (allowed.includes(m)) continue;
      const body = ['POST', 'PUT', 'PATCH'].includes(m) ? '{}' : undefined;
      out.push(C(`${m} ${p0.replace(P, '…')}`, m, path, { auth: 'jwt', body }, E(405, 'method_not_allowed', { allow })));
    }
  }
  return out;
}

function pathCases() {
  const j = { auth: 'jwt' };
  const long = (n) => 'a'.repeat(n);
  const g = (label, path, expect, opts = j, method = 'GET') => C(`path ${label}`, method, path, opts, expect);
  const NF = E(404, 'not_found');
  const anyOf = (...s) => ({ status: s });
  return [
    g('uppercase handle', `/v2/handles/HARD-A/campaigns`, NF),
    g('mixed-case handle', `/v2/handles/Hard-a/campaigns`, NF),
    g('uppercase handle redirect', `/HARD-A/seed-draft-link`, NF, { auth: 'none' }),
    g('uppercase handle detail page', `/HARD-A/p/seed-page`, NF, { auth: 'none' }),
    g('uppercase public handle', `/v2/public/handles/HARD-A/site-structure/campaigns/seed-cmp`, NF, { auth: 'pat' }),
    g('reserved handle v2', `/v2/handles/v2/campaigns`, NF),
    g('reserved handle mcp', `/v2/handles/mcp/campaigns`, NF),
    g('reserved handle healthz', `/v2/handles/healthz/campaigns`, NF),
    g('reserved handle in redirect', `/healthz/x`, NF, { auth: 'none' }),
    g('reserved handle robots.txt', `/robots.txt/x`, NF, { auth: 'none' }),
    g('one-char handle', `/v2/handles/a/campaigns`, NF),
    g('40-char handle', `/v2/handles/${long(40)}/campaigns`, NF),
    g('handle starting with -', `/v2/handles/-abc/campaigns`, NF),
    g('5,000-char handle', `/v2/handles/${long(5000)}/campaigns`, NF),
    g('handle with underscore', `/v2/handles/hard_a/campaigns`, NF),
    g('percent-encoded handle', `/v2/handles/hard%2Da/campaigns`, NF),
    g('encoded slash in handle', `/v2/handles/hard-a%2Fcampaigns`, NF),
    g('encoded slash in campaign id', `${P}/campaigns/seed%2Fcmp`, E(400, 'invalid_campaign_id')),
    g('encoded hyphen in campaign id', `${P}/campaigns/seed%2Dcmp`, E(400, 'invalid_campaign_id')),
    g('encoded NUL in campaign id', `${P}/campaigns/%00abc`, E(400, 'invalid_campaign_id')),
    g('encoded emoji campaign id', `${P}/campaigns/%F0%9F%98%80abc`, E(400, 'invalid_campaign_id')),
    g('encoded lone surrogate campaign id', `${P}/campaigns/%ED%A0%80abc`, E(400, 'invalid_campaign_id')),
    g('trailing encoded space', `${P}/campaigns/seed-cmp%20`, E(400, 'invalid_campaign_id')),
    g('5,000-char campaign id', `${P}/campaigns/${long(5000)}`, E(400, 'invalid_campaign_id', {
      check: (r) => (r.json?.error?.message?.length < 400 ? null : `message is ${r.json?.error?.message?.length} chars`),
    })),
    g('16,000-char campaign id', `${P}/campaigns/${long(16000)}`, E(400, 'invalid_campaign_id')),
    g('70,000-char path (the runtime may refuse it before the Worker)', `${P}/campaigns/${long(70000)}`, { status: [400, 414, 431], envelope: 'none' }),
    g('5,000-char campaign id health', `${P}/campaigns/${long(5000)}/health`, E(400, 'invalid_campaign_id')),
    g('bad campaign id health', `${P}/campaigns/X/health`, E(400, 'invalid_campaign_id')),
    g('missing campaign health', `${P}/campaigns/no-such-cmp/health`, E(404, 'campaign_not_found')),
    g('bad campaign id rebuild', `${P}/campaigns/X/rollup/rebuild`, E(400, 'invalid_campaign_id'), j, 'POST'),
    g('missing campaign rebuild', `${P}/campaigns/no-such-cmp/rollup/rebuild`, E(404, 'campaign_not_found'), j, 'POST'),
    g('missing campaign', `${P}/campaigns/no-such-cmp`, E(404, 'campaign_not_found')),
    g('encoded slash in link slug (GET)', `${P}/links/seed%2Flink`, E(404, 'link_not_found')),
    g('encoded slash in link slug (DELETE)', `${P}/links/seed%2Flink`, E(404, 'link_not_found'), j, 'DELETE'),
    g('encoded slash in link slug (PUT)', `${P}/links/seed%2Flink`, badField('slug'), { ...j, body: '{"destinationUrl":"https://x.example/"}' }, 'PUT'),
    g('uppercase slug (GET)', `${P}/links/SEED-LINK`, E(404, 'link_not_found')),
    g('5,000-char slug', `${P}/links/${long(5000)}`, E(404, 'link_not_found')),
    g('missing link', `${P}/links/no-such-link`, E(404, 'link_not_found')),
    g('missing link DELETE', `${P}/links/no-such-link`, E(404, 'link_not_found'), j, 'DELETE'),
    g('missing experiment', `${P}/experiments/no-such-exp`, NF),
    g('missing experiment DELETE', `${P}/experiments/no-such-exp`, NF, j, 'DELETE'),
    g('missing experiment results', `${P}/experiments/no-such-exp/results`, NF),
    g('bad experiment id', `${P}/experiments/X`, badField('experimentId')),
    g('bad experiment id results', `${P}/experiments/X/results`, badField('experimentId')),
    g('encoded slash in experiment id', `${P}/experiments/seed%2Fexp`, badField('experimentId')),
    g('5,000-char experiment id', `${P}/experiments/${long(5000)}/results`, badField('experimentId')),
    g('encoded slash in rule id', `${P}/rules/seed%2Frule`, E(404, 'not_found')),
    g('bad rule id DELETE', `${P}/rules/X`, E(404, 'not_found'), j, 'DELETE'),
    g('missing rule', `${P}/rules/no-such-rule`, E(404, 'not_found')),
    g('5,000-char rule id', `${P}/rules/${long(5000)}`, E(404, 'not_found')),
    g('bad token id', `${P}/tokens/bad!id`, E(404, 'not_found'), j, 'DELETE'),
    g('5,000-char token id', `${P}/tokens/${long(5000)}`, E(404, 'not_found'), j, 'DELETE'),
    g('missing token', `${P}/tokens/tok_0000000000000000`, E(404, 'not_found'), j, 'DELETE'),
    g('bad webhook id', `${P}/webhooks/bad!id`, E(404, 'not_found')),
    g('missing webhook', `${P}/webhooks/wh_0000000000000000`, E(404, 'not_found')),
    g('missing webhook DELETE', `${P}/webhooks/wh_0000000000000000`, E(404, 'not_found'), j, 'DELETE'),
    g('missing webhook deliveries', `${P}/webhooks/wh_0000000000000000/deliveries`, E(404, 'not_found')),
    g('5,000-char webhook id deliveries', `${P}/webhooks/${long(5000)}/deliveries`, E(404, 'not_found')),
    g('structure bad campaign id', `${P}/site-structure/campaigns/X`, E(400, 'invalid_campaign_id')),
    g('structure missing campaign', `${P}/site-structure/campaigns/no-such-cmp`, E(404, 'campaign_not_found')),
    g('structure of a campaign without one', `${P}/site-structure/campaigns/seed-draft`, NF),
    g('publish missing campaign', `${P}/site-structure/campaigns/no-such-cmp/publish`, E(404, 'campaign_not_found'), j, 'POST'),
    g('publish without a structure', `${P}/site-structure/campaigns/seed-draft/publish`, NF, j, 'POST'),
    g('public structure bad id', `${PUB}/site-structure/campaigns/X`, E(400, 'invalid_campaign_id'), { auth: 'pat' }),
    g('public structure missing', `${PUB}/site-structure/campaigns/no-such-cmp`, E(404, 'campaign_not_found'), { auth: 'pat' }),
    g('public publish missing', `${PUB}/site-structure/campaigns/no-such-cmp/publish`, E(404, 'campaign_not_found'), { auth: 'pat' }, 'POST'),
    g('public unknown tail', `${PUB}/site-structure/campaigns/seed-cmp/x`, NF, { auth: 'pat' }),
    g('public without site-structure', `${PUB}/campaigns`, NF, { auth: 'pat' }),
    g('unknown resource', `${P}/nope`, NF),
    g('handle only', `${P}`, NF),
    g('v2 only', `/v2`, NF),
    g('root', `/`, NF, { auth: 'none' }),
    g('trailing slash on list', `${P}/links/`, E(404, 'link_not_found')),
    g('trailing slash on campaigns', `${P}/campaigns/`, E(400, 'invalid_campaign_id')),
    g('trailing slash on healthz', `/healthz/`, NF, { auth: 'none' }),
    g('trailing slash on mcp', `/mcp/`, NF, { auth: 'pat' }, 'POST'),
    g('trailing slash on redirect', `/${H}/seed-draft-link/`, NF, { auth: 'none' }),
    g('extra segment on redirect', `/${H}/seed-draft-link/x/y`, NF, { auth: 'none' }),
    g('encoded slash in redirect slug', `/${H}/seed%2Fdraft`, NF, { auth: 'none' }),
    g('encoded slash between handle and slug', `/${H}%2Fseed-draft-link`, NF, { auth: 'none' }),
    g('5,000-char redirect slug', `/${H}/${long(5000)}`, NF, { auth: 'none' }),
    g('semicolon path parameter', `${P}/campaigns;x=1`, NF),
    g('double slash inside', `/v2//handles/${H}/campaigns`, NF),
    g('leading double slash', `//v2/handles/${H}/campaigns`, anyOf(200, 404)),
    g('dot segment', `${P}/campaigns/./seed-cmp`, anyOf(200)),
    g('dot-dot segment back to the handle', `/v2/handles/other-x/../${H}/campaigns`, anyOf(200)),
    g('dot-dot segment out of the handle', `${P}/../other-x/campaigns`, E(403, 'forbidden')),
    g('encoded dot-dot out of the handle', `${P}/campaigns/%2e%2e/%2e%2e/other-x/campaigns`, E(403, 'forbidden')),
    g('encoded dot-dot at the end', `${P}/campaigns/%2e%2e`, NF),
    g('backslash', `/v2/handles/${H}\\campaigns`, anyOf(200, 404)),
    g('detail page unknown', `/${H}/p/no-such-page`, NF, { auth: 'jwt' }),
    g('detail page bad slug', `/${H}/p/Bad`, NF, { auth: 'jwt' }),
    g('detail page empty slug', `/${H}/p/`, NF, { auth: 'jwt' }),
    g('detail page extra segment', `/${H}/p/seed-page/x`, NF, { auth: 'jwt' }),
  ];
}

function redirectAndPageCases() {
  const out = [];
  const redir = (label, path, headers = {}, status = 302, method = 'GET') =>
    out.push(C(`redirect ${label}`, method, path, { auth: 'none', headers }, {
      status, envelope: 'none',
      check: (r) => (status === 302 && !r.headers.location ? '302 without Location' : status === 404 && r.headers.location ? '404 with a Location' : null),
    }));
  redir('valid (draft campaign: not recorded)', `/${H}/seed-draft-link`);
  redir('HEAD', `/${H}/seed-draft-link`, {}, 302, 'HEAD');
  redir('malformed percent query', `/${H}/seed-draft-link?%ZZ=1&a=%`);
  redir('emoji utm_source', `/${H}/seed-draft-link?utm_source=%F0%9F%98%80`);
  redir('lone surrogate bytes in query', `/${H}/seed-draft-link?utm_source=%ED%A0%80`);
  redir('NUL in query', `/${H}/seed-draft-link?x=%00`);
  redir('8 KB query', `/${H}/seed-draft-link?q=${'a'.repeat(8000)}`);
  redir('1,000 query params', `/${H}/seed-draft-link?${Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&')}`);
  redir('repeated utm_source', `/${H}/seed-draft-link?utm_source=a&utm_source=b&src=c`);
  redir('10 KB user agent', `/${H}/seed-draft-link`, { 'user-agent': 'Mozilla/5.0 '.repeat(900) });
  redir('garbage referer', `/${H}/seed-draft-link`, { referer: 'not a url \u00ff' });
  redir('huge referer', `/${H}/seed-draft-link`, { referer: `https://${'r'.repeat(5000)}.example/` });
  redir('unknown slug → 404 page, not a redirect', `/${H}/no-such-slug`, {}, 404);
  redir('HEAD unknown slug', `/${H}/no-such-slug`, {}, 404, 'HEAD');
  redir('unknown handle', `/nobody-here/seed-draft-link`, {}, 404);
  redir('slug of another handle', `/other-x/seed-draft-link`, {}, 404);
  const page = (label, headers, status, code) => out.push(C(`detail page ${label}`, 'GET', `/${H}/p/seed-page`, { auth: 'none', headers }, {
    status, ...(code ? { code } : {}),
    check: (r) => (status !== 200 && r.text.includes('Seed page') ? 'the page content leaked to a visitor who is not signed in' : null),
  }));
  page('anonymous', {}, 401, 'unauthorized');
  page('garbage bearer', { authorization: 'Bearer garbage' }, 401, 'unauthorized');
  page('garbage cookie', { cookie: 'ef_session=abc.def.ghi' }, 401, 'unauthorized');
  page('empty cookie', { cookie: 'ef_session=' }, 401, 'unauthorized');
  page('10 KB cookie', { cookie: `x=${'c'.repeat(10000)}; ef_session=${'d'.repeat(100)}` }, 401, 'unauthorized');
  page('expired JWT', { authorization: `Bearer ${mint(app.secret, { handles: {}, ttl: -3600 })}` }, 401, 'unauthorized');
  page('JWT alg none', { authorization: `Bearer ${mint(app.secret, { handles: {}, header: { alg: 'none', typ: 'JWT' } })}` }, 401, 'unauthorized');
  page('PAT as bearer', { authorization: `Bearer ${pat}` }, 401, 'unauthorized');
  page('signed-in visitor', { authorization: `Bearer ${mint(app.secret, { handles: {}, sub: 'visitor' })}` }, 200);
  page('signed-in via cookie', { cookie: `a=b; ef_session=${mint(app.secret, { handles: {}, sub: 'visitor' })}` }, 200);
  out.push(C('detail page HEAD anonymous', 'HEAD', `/${H}/p/seed-page`, { auth: 'none' }, E(401)));
  return out;
}

function queryCases() {
  const out = [];
  const q = (label, path, expect, auth = 'jwt') => out.push(C(`query ${label}`, 'GET', path, { auth }, expect));
  const A = `${P}/analytics`;
  const C1 = 'campaignId=seed-cmp';
  q('analytics funnel=maybe', `${A}?funnel=maybe&${C1}`, badField('funnel'));
  q('analytics funnel=TRUE', `${A}?funnel=TRUE&${C1}`, badField('funnel'));
  q('analytics funnel empty', `${A}?funnel=&${C1}`, badField('funnel'));
  q('analytics groupBy=bogus', `${A}?groupBy=bogus&${C1}`, badField('groupBy'));
  q('analytics groupBy=SEGMENT', `${A}?groupBy=SEGMENT&${C1}`, badField('groupBy'));
  q('analytics groupBy without campaignId', `${A}?groupBy=segment`, badField('campaignId'));
  q('analytics groupBy bad campaignId', `${A}?groupBy=segment&campaignId=BAD`, E(400, 'invalid_campaign_id'));
  q('analytics groupBy unknown campaign', `${A}?groupBy=segment&campaignId=no-such-cmp`, E(404, 'campaign_not_found'));
  q('analytics bad campaignId', `${A}?funnel=true&campaignId=BAD`, E(400, 'invalid_campaign_id'));
  q('analytics NUL campaignId', `${A}?funnel=true&campaignId=%00`, E(400, 'invalid_campaign_id'));
  q('analytics emoji campaignId', `${A}?funnel=true&campaignId=%F0%9F%98%80`, E(400, 'invalid_campaign_id'));
  q('analytics lone surrogate campaignId', `${A}?funnel=true&campaignId=%ED%A0%80`, E(400, 'invalid_campaign_id'));
  q('analytics malformed percent campaignId', `${A}?funnel=true&campaignId=%ZZ`, E(400, 'invalid_campaign_id'));
  q('analytics 5,000-char campaignId', `${A}?funnel=true&campaignId=${'a'.repeat(5000)}`, E(400, 'invalid_campaign_id'));
  q('analytics unknown campaign', `${A}?funnel=true&campaignId=no-such-cmp`, E(404, 'campaign_not_found'));
  q('analytics from garbage', `${A}?${C1}&from=garbage`, badField('from'));
  q('analytics to garbage', `${A}?${C1}&to=yesterday`, badField('to'));
  q('analytics from after to', `${A}?${C1}&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, badField('from'));
  q('analytics from == to', `${A}?${C1}&from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, badField('from'));
  q('analytics range > 400 days', `${A}?${C1}&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, badField('from'));
  q('analytics range 10,000 years', `${A}?${C1}&from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z`, badField('from'));
  q('analytics interval=week', `${A}?${C1}&interval=week`, badField('interval'));
  q('analytics interval empty', `${A}?${C1}&interval=`, badField('interval'));
  q('analytics hour over 40 days', `${A}?${C1}&from=2026-01-01T00:00:00Z&to=2026-02-10T00:00:00Z&interval=hour`, badField('interval'));
  q('analytics Feb 30', `${A}?${C1}&from=2026-02-30T00:00:00Z`, badField('from'));
  q('analytics date only', `${A}?${C1}&from=2026-01-01`, badField('from'));
  q('analytics unix seconds', `${A}?${C1}&from=1700000000`, badField('from'));
  q('analytics series without campaign', `${A}?interval=day`, badField('campaignId'));
  q('analytics series at the epoch', `${A}?${C1}&from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z`, E(200));
  q('analytics series far future', `${A}?${C1}&from=9999-12-01T00:00:00Z&to=9999-12-31T00:00:00Z&interval=day`, E([200, 400]));
  q('analytics valid funnel', `${A}?funnel=true&${C1}`, E(200));
  q('analytics valid aggregate', `${A}`, E(200));
  for (const dim of ['segment', 'source', 'country', 'device', 'link', 'rule']) q(`analytics valid groupBy=${dim}`, `${A}?groupBy=${dim}&${C1}`, E(200));
  q('analytics repeated groupBy', `${A}?groupBy=bogus&groupBy=segment&${C1}`, E([200, 400]));
  q('analytics unknown parameter', `${A}?bogus=1&${C1}`, badField('bogus'));
  q('analytics misspelled campaignid', `${A}?funnel=true&campaignid=seed-cmp`, badField('campaignid'));
  q('analytics 8 KB unknown parameter', `${A}?x=${'a'.repeat(8000)}&${C1}`, badField('x'));
  for (const kind of ['clicks', 'conversions']) {
    const X = `${P}/campaigns/seed-cmp/${kind}.csv`;
    const csv = { check: (r) => (String(r.headers['content-type']).startsWith('text/csv') ? null : `content-type ${r.headers['content-type']}`) };
    q(`${kind}.csv valid`, X, E(200, null, csv));
    q(`${kind}.csv valid range`, `${X}?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B01:00`, E(200, null, csv));
    q(`${kind}.csv range at the epoch`, `${X}?from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z`, E(200, null, csv));
    q(`${kind}.csv range 10,000 years`, `${X}?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z`, E(200, null, csv));
    q(`${kind}.csv from garbage`, `${X}?from=garbage`, badField('from'));
    q(`${kind}.csv to garbage`, `${X}?to=yesterday`, badField('to'));
    q(`${kind}.csv from empty`, `${X}?from=`, badField('from'));
    q(`${kind}.csv from NUL`, `${X}?from=%00`, badField('from'));
    q(`${kind}.csv from malformed percent`, `${X}?from=%ZZ`, badField('from'));
    q(`${kind}.csv from 5,000 chars`, `${X}?from=${'9'.repeat(5000)}`, badField('from'));
    q(`${kind}.csv date only`, `${X}?from=2026-01-01`, badField('from'));
    q(`${kind}.csv from after to`, `${X}?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, badField('from'));
    q(`${kind}.csv from == to`, `${X}?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, badField('from'));
    q(`${kind}.csv repeated from`, `${X}?from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z`, badField('from'));
    q(`${kind}.csv unknown parameter`, `${X}?bogus=1`, badField('bogus'));
    q(`${kind}.csv 8 KB unknown parameter`, `${X}?x${'a'.repeat(8000)}=1`, badField('xaaa'));
    q(`${kind}.csv unknown campaign`, `${P}/campaigns/no-such-cmp/${kind}.csv`, E(404, 'campaign_not_found'));
    q(`${kind}.csv bad campaign id`, `${P}/campaigns/BAD/${kind}.csv`, E(400, 'invalid_campaign_id'));
  }
  const lists = [
    ['campaigns', `${P}/campaigns`], ['links', `${P}/links`], ['rules', `${P}/rules`], ['tokens', `${P}/tokens`], ['webhooks', `${P}/webhooks`], ['experiments', `${P}/experiments`],
    ['deliveries', `${P}/webhooks/WH/deliveries`],
  ];
  const kCursor = (s) => Buffer.from(s).toString('base64url');
  for (const [name, p0] of lists) {
    const p = p0.replace('WH', seedWebhookId);
    for (const l of ['0', '101', '-1', 'x', '1.5', '1e2', '99999999999999999999', '', '%00', '%205']) q(`${name} limit=${l}`, `${p}?limit=${l}`, badField('limit'));
    for (const c of ['garbage!', '%FF', kCursor('no-prefix'), Buffer.from([0xff, 0xfe, 0x00]).toString('base64url'), '====', 'a'.repeat(5000)]) {
      q(`${name} cursor=${c.slice(0, 16)}`, `${p}?cursor=${c}`, badField('cursor'));
    }
    q(`${name} SQL-ish cursor`, `${p}?cursor=${kCursor("k:' OR 1=1 --")}`, E(200));
    q(`${name} cursor past the end`, `${p}?cursor=${kCursor('k:~~~~')}`, E(200, null, { check: (r) => (Object.values(r.json ?? {}).some((v) => Array.isArray(v) && v.length === 0) ? null : 'a cursor past the end returned items') }));
    q(`${name} limit=1`, `${p}?limit=1`, E(200));
  }
  q('experiments unknown parameter', `${P}/experiments?bogus=1`, badField('bogus'));
  // Every API route refuses a query parameter it does not read (a typo is never ignored).
  for (const [name, p0] of [...lists, ['campaign', `${P}/campaigns/seed-cmp`], ['health', `${P}/campaigns/seed-cmp/health`], ['link', `${P}/links/seed-link`], ['qr', `${P}/links/seed-link/qr`], ['hosts', `${P}/hosts`]]) {
    q(`${name} unknown parameter`, `${p0.replace('WH', seedWebhookId)}${p0.includes('?') ? '&' : '?'}campaignid=seed-cmp`, badField('campaignid'));
  }
  q('meta with a cache-buster', '/v2/meta?t=1', E(200), 'none');
  q('experiments slug filter of no link', `${P}/experiments?slug=no-such-link`, E(200, null, { check: (r) => (r.json.experiments.length ? 'a filter of no link returned experiments' : null) }));
  q('experiment results with a parameter', `${P}/experiments/seed-exp/results?from=2026-01-01T00:00:00Z`, badField('from'));
  q('campaigns status=bogus', `${P}/campaigns?status=bogus`, badField('status'));
  q('campaigns status=active', `${P}/campaigns?status=active`, badField('status'));
  q('campaigns status empty', `${P}/campaigns?status=`, E(200));
  q('links campaignId=BAD', `${P}/links?campaignId=BAD`, E([200, 400]));
  q('links campaignId with quote', `${P}/links?campaignId=%27%20OR%201%3D1%20--`, E([200, 400], null, { check: (r) => (r.status === 200 && r.json.links.length ? 'an injected filter returned links' : null) }));
  const S = `${P}/site-structure/campaigns/seed-cmp`;
  for (const v of ['0', '-1', 'x', '1.5', '99999999999999999999', '', '%00']) q(`structure version=${v}`, `${S}?version=${v}`, badField('version'));
  q('structure version=999', `${S}?version=999`, E(404, 'not_found'));
  q('public structure version=x', `${PUB}/site-structure/campaigns/seed-cmp?version=x`, badField('version'), 'pat');
  q('healthz with junk query', '/healthz?%ZZ&a=%00', E(200), 'none');
  return out;
}

function authCases() {
  const out = [];
  const s = app.secret;
  const now = Math.floor(Date.now() / 1000);
  const bad = (label, authorization, path = `${P}/campaigns`, method = 'GET', body) =>
    out.push(C(`auth ${label}`, method, path, { auth: authorization, body, headers: { 'cf-connecting-ip': freshIp() } }, E([401, 429], ['unauthorized', 'rate_limited'])));
  const denied = (label, authorization, path = `${P}/campaigns`, method = 'GET', body) =>
    out.push(C(`auth ${label}`, method, path, { auth: authorization, body }, E(403, 'forbidden')));
  const fine = (label, authorization, path = `${P}/campaigns`) => out.push(C(`auth ${label}`, 'GET', path, { auth: authorization }, E(200)));
  const j = (claims, opts = {}) => `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, ...opts, extra: claims })}`;
  out.push(C('auth no credential', 'GET', `${P}/campaigns`, { auth: 'none' }, E(401, 'unauthorized')));
  out.push(C('auth Basic scheme', 'GET', `${P}/campaigns`, { auth: 'Basic dXNlcjpwYXNz' }, E(401, 'unauthorized')));
  out.push(C('auth Bearer without token', 'GET', `${P}/campaigns`, { auth: 'Bearer' }, E(401, 'unauthorized')));
  out.push(C('auth Token scheme', 'GET', `${P}/campaigns`, { auth: `Token ${jwt}` }, E(401, 'unauthorized')));
  out.push(C('auth JWT only in cookie', 'GET', `${P}/campaigns`, { auth: 'none', headers: { cookie: `ef_session=${jwt}` } }, E(401, 'unauthorized')));
  bad('garbage', 'Bearer garbage');
  bad('a.b.c', 'Bearer a.b.c');
  bad('four segments', `Bearer ${jwt}.x`);
  bad('alg none', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, header: { alg: 'none', typ: 'JWT' } })}`);
  bad('alg none without signature', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, header: { alg: 'none' } }).split('.').slice(0, 2).join('.')}.`);
  bad('alg HS512', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, header: { alg: 'HS512', typ: 'JWT' } })}`);
  bad('alg hs256 lower-case', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, header: { alg: 'hs256', typ: 'JWT' } })}`);
  bad('alg RS256', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, header: { alg: 'RS256', typ: 'JWT' } })}`);
  bad('header not an object', `Bearer ${Buffer.from('"HS256"').toString('base64url')}.${jwt.split('.')[1]}.${jwt.split('.')[2]}`);
  bad('wrong secret', `Bearer ${mint('not-the-secret', { handles: { [H]: 'OWNER' } })}`);
  bad('signature of another token', `Bearer ${jwt.split('.').slice(0, 2).join('.')}.${mint(s, { handles: {} }).split('.')[2]}`);
  bad('tampered payload', `Bearer ${jwt.split('.')[0]}.${Buffer.from(JSON.stringify({ sub: 'x', handles: { [H]: 'OWNER' }, exp: now + 999 })).toString('base64url')}.${jwt.split('.')[2]}`);
  bad('expired (beyond leeway)', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, ttl: -120 })}`);
  bad('no exp', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, extra: { exp: undefined } })}`);
  bad('exp as string', j({ exp: String(now + 3600) }));
  out.push(C('auth exp as a non-integer NumericDate', 'GET', `${P}/campaigns`, { auth: j({ exp: now + 3600.5 }), headers: { 'cf-connecting-ip': freshIp() } }, E([200, 401, 429])));
  bad('exp 1e20', j({ exp: 1e20 }));
  bad('nbf in an hour', j({ nbf: now + 3600 }));
  bad('nbf as string', j({ nbf: String(now) }));
  bad('no sub', j({ sub: undefined }));
  bad('empty sub', j({ sub: '' }));
  bad('payload not an object', `Bearer ${jwt.split('.')[0]}.${Buffer.from('[1]').toString('base64url')}.x`);
  bad('10 KB garbage', `Bearer ${'x'.repeat(10000)}`);
  bad('latin-1 token', 'Bearer caf\u00e9');
  bad('PAT of zeros', `Bearer pat_${'0'.repeat(48)}`);
  bad('PAT too short', 'Bearer pat_short');
  bad('PAT with bad chars', `Bearer pat_${'z'.repeat(48)}`);
  bad('revoked PAT', `Bearer ${revokedPat}`);
  bad('PAT with a suffix', `Bearer ${pat}x`);
  bad('garbage on a write route', 'Bearer garbage', `${P}/campaigns`, 'POST', '{"goalType":"NEWSLETTER"}');
  bad('garbage on a public route', 'Bearer garbage', `${PUB}/site-structure/campaigns/seed-cmp`);
  bad('garbage on /mcp', 'Bearer garbage', '/mcp', 'POST', '{"jsonrpc":"2.0","id":1,"method":"ping"}');
  out.push(C('auth two Authorization headers', 'GET', `${P}/campaigns`, { auth: 'none', headers: { authorization: [`Bearer ${jwt}`, 'Bearer x'], 'cf-connecting-ip': freshIp() } }, E([401, 429], ['unauthorized', 'rate_limited'])));
  fine('lower-case bearer scheme', `bearer ${jwt}`);
  fine('exp within the 60 s leeway', `Bearer ${mint(s, { handles: { [H]: 'OWNER' }, ttl: -30 })}`);
  fine('nbf within the 60 s leeway', j({ nbf: now + 30 }));
  fine('extra unknown claims', j({ admin: true, scope: '*', handles: { [H]: 'VIEWER', 'other-x': 'OWNER' } }));
  denied('handles as an array', j({ handles: [H] }));
  denied('handles missing', j({ handles: undefined }));
  denied('role in lower case', j({ handles: { [H]: 'owner' } }));
  denied('role as a number', j({ handles: { [H]: 4 } }));
  denied('role unknown', j({ handles: { [H]: 'SUPERUSER' } }));
  denied('role on an uppercase handle', j({ handles: { 'HARD-A': 'OWNER' } }));
  denied('VIEWER creating a campaign', `Bearer ${mint(s, { handles: { [H]: 'VIEWER' } })}`, `${P}/campaigns`, 'POST', '{"goalType":"NEWSLETTER","campaignId":"mx-viewer"}');
  denied('VIEWER putting a link', `Bearer ${mint(s, { handles: { [H]: 'VIEWER' } })}`, `${P}/links/mx-viewer`, 'PUT', '{"destinationUrl":"https://x.example/"}');
  denied('CREATOR rebuilding a rollup', `Bearer ${mint(s, { handles: { [H]: 'CREATOR' } })}`, `${P}/campaigns/seed-cmp/rollup/rebuild`, 'POST');
  denied('CREATOR listing webhooks', `Bearer ${mint(s, { handles: { [H]: 'CREATOR' } })}`, `${P}/webhooks`);
  denied('VIEWER reading analytics', `Bearer ${mint(s, { handles: { [H]: 'VIEWER' } })}`, `${P}/analytics`);
  denied('VIEWER exporting clicks', `Bearer ${mint(s, { handles: { [H]: 'VIEWER' } })}`, `${P}/campaigns/seed-cmp/clicks.csv`);
  denied('VIEWER exporting conversions', `Bearer ${mint(s, { handles: { [H]: 'VIEWER' } })}`, `${P}/campaigns/seed-cmp/conversions.csv`);
  denied('PAT minting a PAT', `Bearer ${pat}`, `${P}/tokens`, 'POST', '{"name":"x","scopes":["*"]}');
  denied('PAT listing PATs', `Bearer ${pat}`, `${P}/tokens`);
  denied('PAT revoking a PAT', `Bearer ${pat}`, `${P}/tokens/tok_0000000000000000`, 'DELETE');
  denied('PAT rebuilding a rollup', `Bearer ${pat}`, `${P}/campaigns/seed-cmp/rollup/rebuild`, 'POST');
  denied('PAT on JWT structure route', `Bearer ${pat}`, `${P}/site-structure/campaigns/seed-cmp`);
  denied('JWT on public structure GET', `Bearer ${jwt}`, `${PUB}/site-structure/campaigns/seed-cmp`);
  denied('JWT on public structure PUT', `Bearer ${jwt}`, `${PUB}/site-structure/campaigns/seed-cmp`, 'PUT', '{"page":{"slug":"s","title":"t"},"schema":{}}');
  denied('JWT on public publish', `Bearer ${jwt}`, `${PUB}/site-structure/campaigns/seed-cmp/publish`, 'POST');
  denied('read PAT creating a campaign', `Bearer ${patRead}`, `${P}/campaigns`, 'POST', '{"goalType":"NEWSLETTER"}');
  denied('read PAT posting a conversion', `Bearer ${patRead}`, `${P}/conversions`, 'POST', '{"campaignId":"seed-cmp","eventType":"purchase"}');
  denied('read PAT reading analytics', `Bearer ${patRead}`, `${P}/analytics`);
  denied('read PAT exporting clicks', `Bearer ${patRead}`, `${P}/campaigns/seed-cmp/clicks.csv`);
  denied('read PAT exporting conversions', `Bearer ${patRead}`, `${P}/campaigns/seed-cmp/conversions.csv`);
  denied('read PAT reading webhooks', `Bearer ${patRead}`, `${P}/webhooks`);
  denied('VIEWER putting an experiment', `Bearer ${mint(s, { handles: { [H]: 'VIEWER' } })}`, `${P}/experiments/mx-viewer`, 'PUT', JSON.stringify({ ...SEED_EXP, status: 'DRAFT' }));
  denied('VIEWER reading experiment results', `Bearer ${mint(s, { handles: { [H]: 'VIEWER' } })}`, `${P}/experiments/seed-exp/results`);
  denied('read PAT putting an experiment', `Bearer ${patRead}`, `${P}/experiments/mx-viewer`, 'PUT', JSON.stringify({ ...SEED_EXP, status: 'DRAFT' }));
  denied('read PAT reading experiment results', `Bearer ${patRead}`, `${P}/experiments/seed-exp/results`);
  denied('read PAT reading links', `Bearer ${patRead}`, `${P}/links`);
  denied('read PAT reading a public structure', `Bearer ${patRead}`, `${PUB}/site-structure/campaigns/seed-cmp`);
  denied('JWT of another handle', `Bearer ${mint(s, { handles: { 'other-x': 'OWNER' } })}`);
  denied('bad campaign id with another handle’s JWT (403 before 400)', `Bearer ${mint(s, { handles: { 'other-x': 'OWNER' } })}`, `${P}/campaigns/X`);
  return out;
}

// ---------------------------------------------------------------- the tests

function report(label, failures) {
  assert.deepEqual(failures, [], `${label}: ${failures.length} case(s) failed:\n${failures.slice(0, 60).join('\n')}${failures.length > 60 ? `\n… and ${failures.length - 60} more` : ''}`);
}

describe('bad-input matrix', () => {
  for (const name of ['campaign.create', 'campaign.patch', 'campaign.test-conversion', 'conversions', 'link.put', 'rule.put', 'rule.explain', 'tokens.create', 'webhooks.create', 'experiment.put', 'structure.put', 'public.structure.put', 'dev.token']) {
    test(`body route ${name}: malformed bodies, every field × every wrong type, nulls, bad values, unicode, huge, duplicates, content types, oversize`, async () => {
      const route = bodyRoutes().find((r) => r.id === name);
      const cases = bodyCases(route);
      report(name, await runner.run(cases));
    });
  }

  let mcp;
  test('MCP: tool arguments × wrong types, handle oddities, JSON-RPC envelope', async () => {
    mcp = mcpCases();
    report('mcp', await runner.run(mcp.main));
  });

  test('MCP: a wrong-typed argument that a tool turns into a query parameter is refused, not silently dropped', async () => {
    report('mcp query arguments', await runner.run(mcp.opt));
  });

  test('every path: every standard method it does not allow → 405 with the Allow header of route.rs', async () => {
    // A short link's URL takes POST (a password form's try); this link has no password, so its
    // POST is 405 as well, with the methods the link itself allows.
    const noPassword = C(`POST /${H}/seed-draft-link`, 'POST', `/${H}/seed-draft-link`, { auth: 'jwt', body: '{}' }, E(405, 'method_not_allowed', { allow: 'GET, HEAD' }));
    report('methods', await runner.run([...methodCases(STD_METHODS), noPassword]));
  });

  test('every path: non-standard methods (PROPFIND, PURGE) are not allowed either → 405', async () => {
    report('non-standard methods', await runner.run(methodCases(['PROPFIND', 'PURGE'])));
  });

  test('path oddities: case, encoding, dots, long segments, reserved handles, trailing slashes', async () => {
    report('paths', await runner.run(pathCases()));
  });

  test('redirect and detail page: bad queries and headers, unknown slugs, login gate', async () => {
    report('redirect/page', await runner.run(redirectAndPageCases()));
  });

  test('query parameters: analytics, pagination, filters, structure versions', async () => {
    report('queries', await runner.run(queryCases()));
  });

  test('credentials: malformed, forged, expired, wrong kind, too low a role', async () => {
    report('auth', await runner.run(authCases()));
  });

  test('totals: ≥ 1,000 cases, no 5xx, and the Worker still answers /healthz', async () => {
    const hist = [...runner.statusHist.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`matrix cases: ${runner.total}, 5xx: ${runner.fiveXX.length}`);
    console.log(`matrix statuses: ${hist}`);
    if (runner.transient.length) console.log(`matrix transient (retried, e.g. a rebuild reload):\n  ${runner.transient.join('\n  ')}`);
    assert.ok(runner.total >= 1000, `only ${runner.total} cases`);
    assert.deepEqual(runner.fiveXX, [], '5xx answers');
    const h = await rawRequest(app.base, { path: '/healthz' });
    assert.equal(h.status, 200);
    assert.deepEqual(JSON.parse(h.text), { ok: true });
  });

  test('nothing half-written: the state is the seed plus exactly the writes of the valid cases', async () => {
    // Rollup updates may land just after the response.
    let now;
    await app.eventually(async () => {
      now = await snapshot();
      const f = now.funnels['seed-writes'];
      return f.conversions >= W.live.n && f.testConversions >= W.test.n;
    }, { timeout: 10_000 });
    const ids = (list, key) => list.map((x) => x[key]).sort();
    const expectIds = (seedList, key, extra) => [...new Set([...seedList.map((x) => x[key]), ...extra])].sort();
    const compare = (kind, key, extra) => {
      assert.deepEqual(ids(now[kind], key), expectIds(seedSnapshot[kind], key, extra), `${kind}: the set is the seed plus the valid writes`);
      for (const s of seedSnapshot[kind]) {
        const cur = now[kind].find((x) => x[key] === s[key]);
        assert.deepEqual(cur, s, `${kind} ${s[key]} unchanged`);
      }
    };
    compare('campaigns', 'campaignId', W.campaigns);
    compare('links', 'slug', W.links);
    compare('rules', 'ruleId', W.rules);
    compare('tokens', 'id', W.tokens);
    compare('webhooks', 'id', W.webhooks);
    compare('experiments', 'experimentId', W.experiments);
    assert.deepEqual(now.structures['seed-cmp'], seedSnapshot.structures['seed-cmp'], 'seed structure: no new version, same publication');
    let n = 0;
    for (const [id, versions] of Object.entries(W.pages)) {
      n += versions.size;
      assert.equal(now.structures[id]?.latestVersion ?? 0, versions.size, `${id}: one version per valid structure write, none from refused ones`);
      assert.deepEqual([...versions].sort((a, b) => a - b), Array.from({ length: versions.size }, (_, i) => i + 1), `${id}: versions are 1..n without gaps`);
    }
    assert.deepEqual(now.funnels['seed-cmp'], seedSnapshot.funnels['seed-cmp'], 'seed-cmp funnel unchanged (no refused conversion counted)');
    assert.deepEqual(now.funnels['seed-draft'], seedSnapshot.funnels['seed-draft'], 'seed-draft funnel unchanged');
    const f = now.funnels['seed-writes'];
    assert.deepEqual([f.conversions, f.testConversions, f.revenue], [W.live.n, W.test.n, W.live.revenue], 'seed-writes counts exactly the accepted conversions (no lost or extra event)');
    console.log(`matrix valid writes: ${W.campaigns.size} campaigns, ${W.links.size} links, ${W.rules.size} rules, ${W.tokens.size} tokens, ${W.webhooks.size} webhooks, ${W.experiments.size} experiments, ${n} structure versions, ${W.live.n} conversions, ${W.test.n} test conversions`);
  });

  test('races: valid writes on one resource at once (16 in flight) are all applied or refused with a 4xx — never a 5xx, never a double count', async () => {
    const race = new Runner(app.base, { concurrency: 16 });
    const created = await api('POST', `${P}/campaigns`, { body: { campaignId: 'seed-race', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } });
    assert.equal(created.status, 201, created.text);
    const N = 16;
    const failures = [];
    // 1. structure upserts: each upsert is a new version 1, 2, …, never overwritten.
    const versions = [];
    failures.push(...(await race.run(Array.from({ length: N }, (_, i) => C(`race structure upsert #${i}`, 'PUT', `${P}/site-structure/campaigns/seed-race`, {
      body: JSON.stringify({ page: { slug: 'race-page', title: `t${i}` }, schema: { i } }),
    }, E(201, null, { ok: (r) => versions.push(r.json.version) }))))));
    const latest = (await api('GET', `${P}/site-structure/campaigns/seed-race`)).json;
    // 2. the same conversion (same orderId, same body) 16 times: one conversion, the others replay it.
    let firsts = 0;
    failures.push(...(await race.run(Array.from({ length: N }, (_, i) => C(`race same conversion #${i}`, 'POST', `${P}/conversions`, {
      body: JSON.stringify({ campaignId: 'seed-race', eventType: 'purchase', value: 3, orderId: 'race-order' }),
    }, E([200, 201], null, { ok: (r) => { if (r.status === 201) firsts++; } }))))));
    // 3. the same campaign id created 16 times: one 201, the others 409 campaign_conflict.
    let made = 0;
    failures.push(...(await race.run(Array.from({ length: N }, (_, i) => C(`race same campaign id #${i}`, 'POST', `${P}/campaigns`, {
      body: JSON.stringify({ campaignId: 'race-dup', goalType: 'LEAD_CAPTURE' }),
    }, E([201, 409], null, { ok: () => made++ }))))));
    const funnel = await app.eventually(async () => {
      const f = (await api('GET', `${P}/analytics?funnel=true&campaignId=seed-race`)).json.funnel[0];
      return f.conversions >= 1 ? f : null;
    }, { timeout: 10_000 });
    console.log(`race cases: ${race.total}, 5xx: ${race.fiveXX.length}; structure upserts → versions [${versions.sort((a, b) => a - b).join(',')}], latestVersion ${latest?.latestVersion}`);
    report('races', failures);
    assert.deepEqual(versions, Array.from({ length: N }, (_, i) => i + 1), 'every upsert got its own version, 1..16');
    assert.equal(latest.latestVersion, N);
    assert.equal(firsts, 1, 'exactly one of the identical conversions was new');
    assert.equal(funnel?.conversions, 1, 'and it was counted once');
    assert.equal(made, 1, 'exactly one campaign create succeeded');
  });
});
