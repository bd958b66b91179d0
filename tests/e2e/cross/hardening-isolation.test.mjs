// Hardening: tenant isolation. Two handles, tenant-a and tenant-b,
// each with a campaign, a link, a rule, a PAT, a webhook, a test conversion,
// a live conversion and a published detail structure — plus the SAME ids in
// both tenants (campaign shared-cmp, link shared-link, page shared-page) so a
// store keyed without the handle would show.
//
// For EVERY route of src/core/route.rs that takes a handle, and EVERY kind of
// credential a caller who is not b could hold (none; a's JWT with each role;
// a's PAT with *; an expired / forged / alg-none JWT naming b; a JWT listing
// both handles with a role on a only), calling b's resources (existing ids,
// missing ids, malformed ids) must answer 401 (no / invalid credential) or 403
// (valid credential without the right) — never 404, never 2xx, and never a
// body carrying b's ids or data. b's own credentials are the control (the
// resources exist). Then: analytics, redirects, detail pages, conversions,
// MCP's `handle` argument and webhook deliveries never cross tenants, and b's
// state is exactly as before the attack.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawnApp } from '../../harness/app.mjs';
import { mint } from '../../../scripts/token.mjs';
import { Runner, rawRequest, sleep } from './hardening-lib.mjs';

const A = 'tenant-a';
const B = 'tenant-b';
let app;
let runner;
let receiver;
const hooks = []; // every delivery the local receiver saw: { path, body }
const T = { [A]: {}, [B]: {} }; // per tenant: jwt, pat, patId, webhookId, clickId, secrets
let bBefore;
let ipSeq = 0;
const freshIp = () => `203.0.113.${(ipSeq++ % 250) + 1}`;

function startReceiver() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hooks.push({ path: req.url, body });
        res.writeHead(200).end('ok');
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function api(method, path, { body, token, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await rawRequest(app.base, { method, path, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(r.status < 500, `${method} ${path} → ${r.status} ${r.text}`);
  return r;
}
const must = async (status, ...args) => {
  const r = await api(...args);
  assert.equal(r.status, status, `${args[0]} ${args[1]}: ${r.text}`);
  return r.json;
};

/** Everything of tenant `h` that another tenant must never see. */
function secretsOf(h) {
  const t = T[h];
  const p = h === A ? 'a' : 'b';
  return [`${p}-secret`, `${p}-variant.example`, `${p}-shared.example`, `${p.toUpperCase()} shared page`, t.patId, t.pat, t.webhookId, t.clickId, t.conversionId, t.keyedConversionId].filter(Boolean);
}
const leaks = (text, h) => secretsOf(h).filter((s) => text.includes(s));

async function seedTenant(h) {
  const p = h === A ? 'a' : 'b';
  const t = T[h];
  t.jwt = app.token({ [h]: 'OWNER' }, { sub: `owner-${p}` });
  const tok = t.jwt;
  // the webhook first, so it sees every later event
  const wh = await must(201, 'POST', `/v2/handles/${h}/webhooks`, {
    token: tok, body: { url: `http://127.0.0.1:${receiver.address().port}/${h}`, events: ['conversion.tested', 'conversion.created', 'campaign.activated', 'campaign.paused'] },
  });
  t.webhookId = wh.webhook.id;
  const pat = await must(201, 'POST', `/v2/handles/${h}/tokens`, { token: tok, body: { name: `${p}-secret-pat`, scopes: ['*'] } });
  t.pat = pat.secret;
  t.patId = pat.token.id;
  for (const [id, extra] of [[`${p}-secret-cmp`, {}], ['shared-cmp', {}], [`${p}-paused-cmp`, {}]]) {
    await must(201, 'POST', `/v2/handles/${h}/campaigns`, { token: tok, body: { campaignId: id, name: `${p}-secret name`, goalType: 'PRODUCT_SALE', status: 'ACTIVE', ...extra } });
  }
  await must(200, 'PATCH', `/v2/handles/${h}/campaigns/${p}-paused-cmp`, { token: tok, body: { status: 'PAUSED' } });
  await must(201, 'PUT', `/v2/handles/${h}/links/${p}-secret-link`, {
    token: tok, body: { destinationUrl: `https://${p}-secret.example/private`, campaignId: `${p}-secret-cmp`, trackingPolicy: { mode: 'DIRECT', appendContextParam: true } },
  });
  // a link of the PAUSED campaign: redirects (rules apply) but records nothing, so it can be clicked without changing the funnels
  await must(201, 'PUT', `/v2/handles/${h}/links/${p}-paused-link`, { token: tok, body: { destinationUrl: `https://${p}-secret.example/paused`, campaignId: `${p}-paused-cmp` } });
  await must(201, 'PUT', `/v2/handles/${h}/links/shared-link`, {
    token: tok, body: { destinationUrl: `https://${p}-shared.example/landing`, campaignId: 'shared-cmp', trackingPolicy: { mode: 'DIRECT', appendContextParam: true } },
  });
  // a branded host: its links' shortUrls (and QR codes) name it
  await must(201, 'PUT', `/v2/handles/${h}/hosts/${p}-secret.brand.example`, { token: tok });
  // an experiment on the secret link (DRAFT: the redirects stay as they are)
  await must(201, 'PUT', `/v2/handles/${h}/experiments/${p}-secret-exp`, {
    token: tok, body: { slug: `${p}-secret-link`, status: 'DRAFT', variants: [{ id: 'a', destinationUrl: `https://${p}-secret.example/exp-a`, weight: 50 }, { id: 'b', destinationUrl: `https://${p}-secret.example/exp-b`, weight: 50 }] },
  });
  // b's rule matches EVERY visitor of b: if b's rules leaked into a's redirects, a's visitors would land on b's variant.
  const when = h === B ? {} : { countryIn: ['AQ'] };
  await must(201, 'PUT', `/v2/handles/${h}/rules/${p}-secret-rule`, { token: tok, body: { priority: 1000, when, variant: { id: `${p}-secret-variant`, destinationUrl: `https://${p}-variant.example/` } } });
  await must(201, 'POST', `/v2/handles/${h}/campaigns/${p}-secret-cmp/test-conversion`, { token: tok, body: { value: 1, metadata: { note: `${p}-secret test` } } });
  for (const [cmp, slug] of [[`${p}-secret-cmp`, `${p}-secret-page`], ['shared-cmp', 'shared-page']]) {
    await must(201, 'PUT', `/v2/handles/${h}/site-structure/campaigns/${cmp}`, {
      token: tok, body: { page: { slug, title: cmp === 'shared-cmp' ? `${p.toUpperCase()} shared page` : `${p}-secret page` }, schema: { owner: `${p}-secret schema` } },
    });
    await must(200, 'POST', `/v2/handles/${h}/site-structure/campaigns/${cmp}/publish`, { token: tok });
  }
}

async function clickOf(h, slug) {
  const r = await app.click(`/${h}/${slug}`);
  assert.equal(r.status, 302, `/${h}/${slug}`);
  return { location: r.location, clickId: new URL(r.location).searchParams.get('ctx') };
}

async function stateOf(h) {
  const t = T[h];
  const list = async (what) => {
    const r = await api('GET', `/v2/handles/${h}/${what}?limit=100`, { token: t.jwt });
    assert.equal(r.status, 200, r.text);
    return r.json[what];
  };
  const p = h === A ? 'a' : 'b';
  const funnel = async (id) => (await api('GET', `/v2/handles/${h}/analytics?funnel=true&campaignId=${id}`, { token: t.jwt })).json.funnel[0];
  const structure = async (id) => {
    const { createdAt, ...rest } = (await api('GET', `/v2/handles/${h}/site-structure/campaigns/${id}`, { token: t.jwt })).json;
    return rest;
  };
  return {
    campaigns: await list('campaigns'),
    links: await list('links'),
    rules: await list('rules'),
    tokens: (await list('tokens')).map(({ lastUsedAt, ...x }) => x),
    webhooks: await list('webhooks'),
    experiments: await list('experiments'),
    structures: [await structure(`${p}-secret-cmp`), await structure('shared-cmp')],
    funnels: [await funnel(`${p}-secret-cmp`), await funnel('shared-cmp')],
  };
}

before(async () => {
  receiver = await startReceiver();
  app = await spawnApp();
  runner = new Runner(app.base, { concurrency: 8 });
  await seedTenant(A);
  await seedTenant(B);
  // Traffic: b gets 3 clicks on shared-link, 1 on its secret link (→ a click id) and 2 live conversions; a gets 1 click on shared-link.
  for (let i = 0; i < 3; i++) await clickOf(B, 'shared-link');
  T[B].clickId = (await clickOf(B, 'b-secret-link')).clickId;
  T[A].clickId = (await clickOf(A, 'a-secret-link')).clickId;
  await clickOf(A, 'shared-link');
  assert.match(T[B].clickId ?? '', /^clk_/);
  // The click row is written after the redirect answered: retry until it is attributable.
  const conv = await app.eventually(async () => {
    const r = await api('POST', `/v2/handles/${B}/conversions`, { token: T[B].jwt, body: { clickId: T[B].clickId, eventType: 'purchase', value: 42, orderId: 'order-12345' } });
    return r.status === 201 || r.status === 200 ? r : null;
  }, { timeout: 15_000, interval: 300 });
  assert.ok(conv, 'b conversion attributed to its click');
  T[B].conversionId = conv.json.conversion.conversionId;
  await must(201, 'POST', `/v2/handles/${B}/conversions`, { token: T[B].jwt, body: { campaignId: 'shared-cmp', eventType: 'purchase', value: 7 } });
  T[B].keyedConversionId = (await must(201, 'POST', `/v2/handles/${B}/conversions`, { token: T[B].jwt, headers: { 'idempotency-key': 'shared-key-1' }, body: { campaignId: 'b-secret-cmp', eventType: 'purchase', value: 5 } })).conversion.conversionId;
  // Let rollups settle, then record b's state.
  await app.eventually(async () => {
    const f = (await api('GET', `/v2/handles/${B}/analytics?funnel=true&campaignId=shared-cmp`, { token: T[B].jwt })).json.funnel[0];
    return f.clicks === 3 && f.conversions === 1;
  }, { timeout: 15_000 });
  bBefore = await stateOf(B);
});

after(() => {
  app?.stop();
  receiver?.close();
});

// ---------------------------------------------------------------- credentials

/** Credentials of callers who are NOT b (`bad`: not a valid credential at all → 401). */
function attackers() {
  const s = app.secret;
  const a = T[A];
  return [
    { name: 'no credential', auth: null, expect: 401 },
    { name: 'JWT of a, VIEWER', auth: app.token({ [A]: 'VIEWER' }), expect: 403 },
    { name: 'JWT of a, CREATOR', auth: app.token({ [A]: 'CREATOR' }), expect: 403 },
    { name: 'JWT of a, ADMIN', auth: app.token({ [A]: 'ADMIN' }), expect: 403 },
    { name: 'JWT of a, OWNER', auth: a.jwt, expect: 403 },
    { name: 'PAT of a with *', auth: a.pat, expect: 403 },
    { name: 'JWT naming both handles, role on a only (b: null)', auth: app.token({ [A]: 'OWNER', [B]: null }), expect: 403 },
    { name: 'JWT naming both handles, role on a only (b: unknown role)', auth: app.token({ [A]: 'OWNER', [B]: 'SUPERUSER' }), expect: 403 },
    { name: 'JWT naming both handles, role on a only (b: "")', auth: app.token({ [A]: 'OWNER', [B]: '' }), expect: 403 },
    { name: 'JWT with b\'s handle in upper case', auth: app.token({ 'TENANT-B': 'OWNER' }), expect: 403 },
    { name: 'JWT with b\'s handle plus a trailing space', auth: app.token({ [`${B} `]: 'OWNER' }), expect: 403 },
    { name: 'JWT with b\'s handle plus a NUL', auth: app.token({ [`${B}\u0000`]: 'OWNER' }), expect: 403 },
    { name: 'JWT of a carrying b\'s owner as sub', auth: app.token({ [A]: 'OWNER' }, { sub: 'owner-b' }), expect: 403 },
    { name: 'expired JWT of b (OWNER)', auth: mint(s, { handles: { [B]: 'OWNER' }, ttl: -3600 }), expect: 401, bad: true },
    { name: 'forged JWT of b (wrong secret)', auth: mint('guessed-secret', { handles: { [B]: 'OWNER' } }), expect: 401, bad: true },
    { name: 'alg=none JWT of b', auth: mint(s, { handles: { [B]: 'OWNER' }, header: { alg: 'none', typ: 'JWT' } }), expect: 401, bad: true },
  ];
}

/**
 * Every route of route.rs that takes a handle, aimed at tenant `h`, with the
 * credential kind it accepts ('any' = JWT or PAT, 'jwt', 'pat') and whether
 * the id exists. Bodies are valid: if authorization failed open they would write.
 */
function templates(h) {
  const p = h === A ? 'a' : 'b';
  const t = T[h];
  const V = `/v2/handles/${h}`;
  const U = `/v2/public/handles/${h}`;
  const cmp = `${p}-secret-cmp`;
  const link = `${p}-secret-link`;
  const rule = `${p}-secret-rule`;
  const exp = `${p}-secret-exp`;
  const evil = 'https://evil.example/';
  const split = { slug: link, status: 'RUNNING', variants: [{ id: 'a', destinationUrl: evil, weight: 50 }, { id: 'b', destinationUrl: evil, weight: 50 }] };
  const structure = { page: { slug: 'hijacked', title: 'hijacked' }, schema: {} };
  return [
    ['POST', `${V}/campaigns`, { campaignId: 'injected-cmp', goalType: 'NEWSLETTER' }, 'any', false],
    ['GET', `${V}/campaigns`, null, 'any', true],
    ['GET', `${V}/campaigns?status=ACTIVE&limit=100`, null, 'any', true],
    ['GET', `${V}/campaigns/${cmp}`, null, 'any', true],
    ['GET', `${V}/campaigns/shared-cmp`, null, 'any', true],
    ['GET', `${V}/campaigns/nope-cmp`, null, 'any', false],
    ['GET', `${V}/campaigns/X`, null, 'any', false],
    ['PATCH', `${V}/campaigns/${cmp}`, { name: 'pwned', status: 'PAUSED' }, 'any', true],
    ['PATCH', `${V}/campaigns/nope-cmp`, { name: 'pwned' }, 'any', false],
    ['GET', `${V}/campaigns/${cmp}/health`, null, 'any', true],
    ['GET', `${V}/campaigns/nope-cmp/health`, null, 'any', false],
    ['POST', `${V}/campaigns/${cmp}/test-conversion`, { value: 1 }, 'any', true],
    ['POST', `${V}/campaigns/nope-cmp/test-conversion`, { value: 1 }, 'any', false],
    ['POST', `${V}/campaigns/${cmp}/rollup/rebuild`, undefined, 'jwt', true],
    ['POST', `${V}/campaigns/nope-cmp/rollup/rebuild`, undefined, 'jwt', false],
    ['GET', `${V}/links`, null, 'any', true],
    ['GET', `${V}/links?campaignId=${cmp}`, null, 'any', true],
    ['GET', `${V}/links/${link}`, null, 'any', true],
    ['GET', `${V}/links/shared-link`, null, 'any', true],
    ['GET', `${V}/links/nope-link`, null, 'any', false],
    ['GET', `${V}/links/Bad%20Slug`, null, 'any', false],
    ['PUT', `${V}/links/${link}`, { destinationUrl: evil }, 'any', true],
    ['PUT', `${V}/links/injected-link`, { destinationUrl: evil }, 'any', false],
    ['DELETE', `${V}/links/${link}`, undefined, 'any', true],
    ['DELETE', `${V}/links/nope-link`, undefined, 'any', false],
    ['GET', `${V}/links/${link}/qr`, null, 'any', true],
    ['GET', `${V}/links/nope-link/qr?size=64`, null, 'any', false],
    ['GET', `${V}/hosts`, null, 'any', true],
    ['PUT', `${V}/hosts/${p}.hijack.example`, undefined, 'jwt', false],
    ['DELETE', `${V}/hosts/${p}.hijack.example`, undefined, 'jwt', false],
    ['GET', `${V}/rules`, null, 'any', true],
    ['GET', `${V}/rules/${rule}`, null, 'any', true],
    ['GET', `${V}/rules/nope-rule`, null, 'any', false],
    ['GET', `${V}/rules/X`, null, 'any', false],
    ['PUT', `${V}/rules/${rule}`, { variant: { id: 'evil', destinationUrl: evil } }, 'any', true],
    ['PUT', `${V}/rules/injected-rule`, { variant: { id: 'evil', destinationUrl: evil } }, 'any', false],
    ['DELETE', `${V}/rules/${rule}`, undefined, 'any', true],
    ['DELETE', `${V}/rules/nope-rule`, undefined, 'any', false],
    ['POST', `${V}/rules/explain`, { slug: link }, 'any', true],
    ['GET', `${V}/experiments`, null, 'any', true],
    ['GET', `${V}/experiments?slug=${link}`, null, 'any', true],
    ['GET', `${V}/experiments/${exp}`, null, 'any', true],
    ['GET', `${V}/experiments/nope-exp`, null, 'any', false],
    ['GET', `${V}/experiments/X`, null, 'any', false],
    ['PUT', `${V}/experiments/${exp}`, split, 'any', true],
    ['PUT', `${V}/experiments/injected-exp`, split, 'any', false],
    ['DELETE', `${V}/experiments/${exp}`, undefined, 'any', true],
    ['DELETE', `${V}/experiments/nope-exp`, undefined, 'any', false],
    ['GET', `${V}/experiments/${exp}/results`, null, 'any', true],
    ['GET', `${V}/experiments/nope-exp/results`, null, 'any', false],
    ['POST', `${V}/conversions`, { campaignId: cmp, eventType: 'purchase', value: 1 }, 'any', true],
    ['POST', `${V}/conversions`, { clickId: t.clickId, eventType: 'purchase', value: 1 }, 'any', true],
    ['POST', `${V}/conversions`, { campaignId: 'nope-cmp', eventType: 'purchase' }, 'any', false],
    ['GET', `${V}/analytics`, null, 'any', true],
    ['GET', `${V}/analytics?funnel=true&campaignId=${cmp}`, null, 'any', true],
    ['GET', `${V}/analytics?funnel=true&campaignId=nope-cmp`, null, 'any', false],
    ['GET', `${V}/analytics?groupBy=segment&campaignId=shared-cmp`, null, 'any', true],
    ['GET', `${V}/analytics?groupBy=link&campaignId=${cmp}`, null, 'any', true],
    ['GET', `${V}/analytics?campaignId=${cmp}&interval=day`, null, 'any', true],
    ['GET', `${V}/campaigns/${cmp}/clicks.csv`, null, 'any', true],
    ['GET', `${V}/campaigns/${cmp}/conversions.csv?from=2020-01-01T00:00:00Z`, null, 'any', true],
    ['GET', `${V}/campaigns/shared-cmp/clicks.csv`, null, 'any', true],
    ['GET', `${V}/campaigns/nope-cmp/conversions.csv`, null, 'any', false],
    ['POST', `${V}/tokens`, { name: 'stolen', scopes: ['*'] }, 'jwt', false],
    ['GET', `${V}/tokens`, null, 'jwt', true],
    ['DELETE', `${V}/tokens/${t.patId}`, undefined, 'jwt', true],
    ['DELETE', `${V}/tokens/tok_0000000000000000`, undefined, 'jwt', false],
    ['POST', `${V}/webhooks`, { url: `http://127.0.0.1:${receiver.address().port}/stolen`, events: ['conversion.created'] }, 'any', false],
    ['GET', `${V}/webhooks`, null, 'any', true],
    ['GET', `${V}/webhooks/${t.webhookId}`, null, 'any', true],
    ['GET', `${V}/webhooks/wh_0000000000000000`, null, 'any', false],
    ['DELETE', `${V}/webhooks/${t.webhookId}`, undefined, 'any', true],
    ['DELETE', `${V}/webhooks/wh_0000000000000000`, undefined, 'any', false],
    ['GET', `${V}/webhooks/${t.webhookId}/deliveries`, null, 'any', true],
    ['GET', `${V}/webhooks/wh_0000000000000000/deliveries`, null, 'any', false],
    ['PUT', `${V}/site-structure/campaigns/${cmp}`, structure, 'jwt', true],
    ['PUT', `${V}/site-structure/campaigns/nope-cmp`, structure, 'jwt', false],
    ['GET', `${V}/site-structure/campaigns/${cmp}`, null, 'jwt', true],
    ['GET', `${V}/site-structure/campaigns/shared-cmp?version=1`, null, 'jwt', true],
    ['GET', `${V}/site-structure/campaigns/nope-cmp`, null, 'jwt', false],
    ['POST', `${V}/site-structure/campaigns/${cmp}/publish`, undefined, 'jwt', true],
    ['POST', `${V}/site-structure/campaigns/nope-cmp/publish`, undefined, 'jwt', false],
    ['PUT', `${U}/site-structure/campaigns/${cmp}`, structure, 'pat', true],
    ['PUT', `${U}/site-structure/campaigns/nope-cmp`, structure, 'pat', false],
    ['GET', `${U}/site-structure/campaigns/${cmp}`, null, 'pat', true],
    ['GET', `${U}/site-structure/campaigns/nope-cmp`, null, 'pat', false],
    ['GET', `${U}/site-structure/campaigns/X`, null, 'pat', false],
    ['POST', `${U}/site-structure/campaigns/${cmp}/publish`, undefined, 'pat', true],
    ['POST', `${U}/site-structure/campaigns/nope-cmp/publish`, undefined, 'pat', false],
  ].map(([method, path, body, kind, exists]) => ({ method, path, body, kind, exists }));
}

function caseFor(tpl, auth, { name, expect, bad }, victim) {
  const headers = {};
  if (auth) headers.authorization = `Bearer ${auth}`;
  if (bad) headers['cf-connecting-ip'] = freshIp(); // so the per-client auth-failure limiter is not what answers
  const body = tpl.body == null ? undefined : JSON.stringify(tpl.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const statuses = bad ? [401, 429] : [expect];
  const codes = expect === 401 ? ['unauthorized', 'rate_limited'] : ['forbidden'];
  return {
    name: `${name} → ${tpl.method} ${tpl.path}${tpl.exists ? '' : ' (missing/malformed id)'}`,
    method: tpl.method, path: tpl.path, headers, body,
    expect: {
      status: statuses, code: codes,
      check: (r) => {
        const found = leaks(r.text, victim);
        return found.length ? `the answer carries ${victim}'s data: ${found.join(', ')}` : null;
      },
    },
  };
}

/** b's own credential on its own routes: the resources exist (so 403 above is not "not found"). Read-only. */
function controlCase(tpl, kind, token, h) {
  const accepted = tpl.kind === 'any' || tpl.kind === kind;
  const status = !accepted ? 403 : tpl.exists ? 200 : /\/(campaigns|experiments)\/X$/.test(tpl.path) ? 400 : 404;
  return {
    name: `control: ${kind} of ${h} → ${tpl.method} ${tpl.path}`,
    method: tpl.method, path: tpl.path, headers: { authorization: `Bearer ${token}` },
    expect: {
      status, ...(status === 400 ? { code: ['invalid_campaign_id', 'invalid_field'] } : {}),
      // The leak detector must see b's data where b's own answer carries it (so "no leak" above means something).
      check: (r) => (status === 200 && !/groupBy=segment|deliveries/.test(tpl.path) && !leaks(r.text, h).length ? `b's own answer does not show b's data: the leak detector would be blind here` : null),
    },
  };
}

function report(label, failures) {
  assert.deepEqual(failures, [], `${label}: ${failures.length} case(s) failed:\n${failures.slice(0, 60).join('\n')}${failures.length > 60 ? `\n… and ${failures.length - 60} more` : ''}`);
}

const toolIsError = (victim, codes) => (r) => {
  const found = leaks(r.text, victim);
  if (found.length) return `the answer carries ${victim}'s data: ${found.join(', ')}`;
  const items = Array.isArray(r.json) ? r.json : [r.json];
  for (const j of items) {
    if (j?.error) continue; // a JSON-RPC error reveals nothing either
    if (j?.result?.isError !== true) return `tool call succeeded across tenants: ${JSON.stringify(j).slice(0, 200)}`;
    const code = j.result.structuredContent?.error?.code;
    if (codes && !codes.includes(code)) return `tool error ${code}, expected ${codes.join('|')}`;
  }
  return null;
};

// ---------------------------------------------------------------- tests

describe('tenant isolation', () => {
  test("every route × every non-b credential on b's resources → 401/403, never 404/2xx, never b's data", async () => {
    const tpls = templates(B);
    const cases = [];
    for (const att of attackers()) for (const tpl of tpls) cases.push(caseFor(tpl, att.auth, att, B));
    report('a → b', await runner.run(cases));
  });

  test("control: b's own JWT and PAT reach the same resources (200 / 404 / 403 for the wrong credential kind)", async () => {
    const reads = templates(B).filter((t) => t.method === 'GET');
    const cases = [...reads.map((t) => controlCase(t, 'jwt', T[B].jwt, B)), ...reads.map((t) => controlCase(t, 'pat', T[B].pat, B))];
    report('control', await runner.run(cases));
  });

  test("the other direction: b's OWNER JWT and b's PAT on a's resources → 403, never a's data", async () => {
    const cases = [];
    for (const att of [{ name: 'JWT of b, OWNER', auth: T[B].jwt, expect: 403 }, { name: 'PAT of b with *', auth: T[B].pat, expect: 403 }]) {
      for (const tpl of templates(A)) cases.push(caseFor(tpl, att.auth, att, A));
    }
    report('b → a', await runner.run(cases));
  });

  test("a's own views never include b: lists, aggregate analytics, same-id campaign funnels, breakdowns, delivery log", async () => {
    const a = T[A];
    const noB = (r) => {
      const found = leaks(r.text, B);
      return found.length ? `a's own answer carries b's data: ${found.join(', ')}` : null;
    };
    const own = (path, extra = {}) => ({ name: `a's own ${path}`, method: 'GET', path: `/v2/handles/${A}${path}`, headers: { authorization: `Bearer ${a.jwt}` }, expect: { status: 200, check: noB, ...extra } });
    const cases = ['/campaigns?limit=100', '/links?limit=100', '/rules?limit=100', '/tokens?limit=100', '/webhooks?limit=100', `/webhooks/${a.webhookId}/deliveries?limit=100`,
      '/analytics', '/analytics?funnel=true&campaignId=shared-cmp', '/analytics?groupBy=link&campaignId=shared-cmp', '/analytics?groupBy=rule&campaignId=shared-cmp',
      '/analytics?groupBy=segment&campaignId=shared-cmp', '/analytics?groupBy=source&campaignId=shared-cmp', '/analytics?campaignId=shared-cmp&interval=day',
      '/campaigns/shared-cmp', '/links/shared-link', '/site-structure/campaigns/shared-cmp', '/campaigns/shared-cmp/health'].map((p) => own(p));
    // a's PAT sees the same
    cases.push({ name: "a's PAT lists a's campaigns", method: 'GET', path: `/v2/handles/${A}/campaigns`, headers: { authorization: `Bearer ${a.pat}` }, expect: { status: 200, check: noB } });
    report("a's views", await runner.run(cases));

    const agg = (await api('GET', `/v2/handles/${A}/analytics`, { token: a.jwt })).json;
    const mine = ['a-secret-cmp', 'shared-cmp', 'a-paused-cmp'];
    assert.deepEqual(agg.funnel.map((f) => f.campaignId).sort(), [...mine].sort(), "a's aggregate lists exactly a's campaigns");
    const sum = (k) => agg.funnel.reduce((s, f) => s + f[k], 0);
    for (const k of ['clicks', 'conversions', 'testConversions']) assert.equal(agg.aggregate[k], sum(k), `aggregate ${k} is the sum of a's own funnels`);
    assert.equal(agg.aggregate.clicks, 2, "a's 2 clicks only (b's 4 are b's)");
    assert.equal(agg.aggregate.conversions, 0, 'a has no live conversion (b has 2)');
    assert.equal(agg.aggregate.testConversions, 1, "a's 1 test conversion only");
    const sharedA = (await api('GET', `/v2/handles/${A}/analytics?funnel=true&campaignId=shared-cmp`, { token: a.jwt })).json.funnel[0];
    const sharedB = (await api('GET', `/v2/handles/${B}/analytics?funnel=true&campaignId=shared-cmp`, { token: T[B].jwt })).json.funnel[0];
    assert.deepEqual([sharedA.clicks, sharedA.conversions, sharedA.revenue], [1, 0, 0], "same campaign id, a's counters");
    assert.deepEqual([sharedB.clicks, sharedB.conversions, sharedB.revenue], [3, 1, 7], "same campaign id, b's counters");
  });

  test("redirects and detail pages resolve inside the handle only", async () => {
    const a = T[A];
    const cases = [];
    const get = (name, path, headers, status, check, method = 'GET') => cases.push({ name, method, path, headers, expect: { status, envelope: 'none', check } });
    const noLocationOfB = (r) => (r.headers.location && leaks(r.headers.location, B).length ? `redirected to b's destination ${r.headers.location}` : leaks(r.text, B).length ? "b's data in the answer" : null);
    get("b's slug under a's handle → 404", `/${A}/b-secret-link`, {}, 404, noLocationOfB);
    get("b's slug under a's handle (HEAD) → 404", `/${A}/b-secret-link`, {}, 404, noLocationOfB, 'HEAD');
    get("b's slug under a's handle with a's JWT → 404", `/${A}/b-secret-link`, { authorization: `Bearer ${a.jwt}` }, 404, noLocationOfB);
    get("b's slug under a's handle with a query → 404", `/${A}/b-secret-link?utm_source=x&ctx=${T[B].clickId}`, {}, 404, noLocationOfB);
    get("b's slug with an upper-case b handle → 404", `/TENANT-B/b-secret-link`, {}, 404, noLocationOfB);
    get("b's slug with an encoded slash → 404", `/${A}%2F..%2F${B}/b-secret-link`, {}, 404, noLocationOfB);
    get("a's shared-link goes to a's destination, never b's variant (b's rules are b's)", `/${A}/shared-link`, {}, 302, (r) =>
      r.headers.location?.startsWith('https://a-shared.example/landing') ? noLocationOfB(r) : `location ${r.headers.location}`);
    get("control: b's redirect fires b's catch-all rule", `/${B}/b-paused-link`, {}, 302, (r) => (r.headers.location?.startsWith('https://b-variant.example/') ? null : `location ${r.headers.location}`));
    get("b's detail page under a's handle → 404", `/${A}/p/b-secret-page`, { authorization: `Bearer ${a.jwt}` }, 404, noLocationOfB);
    get("b's detail page, anonymous → 401 without content", `/${B}/p/b-secret-page`, {}, 401, (r) => (leaks(r.text, B).length ? 'content of b leaked' : null));
    get("b's detail page with a forged JWT → 401 without content", `/${B}/p/b-secret-page`, { authorization: `Bearer ${mint('guessed', { handles: { [B]: 'OWNER' } })}` }, 401, (r) => (leaks(r.text, B).length ? 'content of b leaked' : null));
    get("b's detail page with an expired JWT → 401 without content", `/${B}/p/b-secret-page`, { cookie: `ef_session=${mint(app.secret, { handles: { [B]: 'OWNER' }, ttl: -3600 })}` }, 401, (r) => (leaks(r.text, B).length ? 'content of b leaked' : null));
    get("same page slug in both handles: a's handle serves a's page", `/${A}/p/shared-page`, { authorization: `Bearer ${a.jwt}` }, 200, (r) =>
      r.json?.page?.title === 'A shared page' && !leaks(r.text, B).length ? null : `got ${r.text.slice(0, 200)}`);
    get("same page slug in both handles: b's handle serves b's page", `/${B}/p/shared-page`, { authorization: `Bearer ${T[B].jwt}` }, 200, (r) =>
      r.json?.page?.title === 'B shared page' ? null : `got ${r.text.slice(0, 200)}`);
    report('redirects/pages', await runner.run(cases));
  });

  test("a's own routes refuse b's ids as missing (404 in a's namespace) and never touch b", async () => {
    const a = T[A];
    const b = T[B];
    const V = `/v2/handles/${A}`;
    const c = (name, method, path, body, status, code) => ({
      name, method, path, headers: { authorization: `Bearer ${a.jwt}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      expect: { status, ...(code ? { code } : {}), check: (r) => (leaks(r.text, B).length ? `b's data in the answer: ${leaks(r.text, B).join(', ')}` : null) },
    });
    const cases = [
      c("a's conversion with b's click id", 'POST', `${V}/conversions`, { clickId: b.clickId, eventType: 'purchase', value: 1 }, 404, 'not_found'),
      c("a's conversion naming b's campaign", 'POST', `${V}/conversions`, { campaignId: 'b-secret-cmp', eventType: 'purchase', value: 1 }, 404, 'campaign_not_found'),
      c("a's conversion with b's order id (idempotency is per handle)", 'POST', `${V}/conversions`, { campaignId: 'shared-cmp', eventType: 'purchase', value: 3, orderId: 'order-12345' }, 201),
      { ...c("a's conversion with b's Idempotency-Key (keys are per handle: no replay of b's answer)", 'POST', `${V}/conversions`, { campaignId: 'shared-cmp', eventType: 'purchase', value: 4 }, 201), },
      c("a's test conversion of b's campaign", 'POST', `${V}/campaigns/b-secret-cmp/test-conversion`, { value: 1 }, [404, 429], ['campaign_not_found', 'rate_limited']),
      c("a's explain of b's slug", 'POST', `${V}/rules/explain`, { slug: 'b-secret-link' }, 404, 'link_not_found'),
      c("a's explain of the shared slug lists a's rules only", 'POST', `${V}/rules/explain`, { slug: 'shared-link', country: 'AQ' }, 200),
      c("a's link into b's campaign", 'PUT', `${V}/links/a-into-b`, { destinationUrl: 'https://x.example/', campaignId: 'b-secret-cmp' }, 404, 'campaign_not_found'),
      c("a's rule on b's campaign", 'PUT', `${V}/rules/a-into-b`, { when: { campaignIn: ['b-secret-cmp'] }, variant: { id: 'v', destinationUrl: 'https://x.example/' } }, 404, 'campaign_not_found'),
      c("a's structure for b's campaign", 'PUT', `${V}/site-structure/campaigns/b-secret-cmp`, { page: { slug: 's', title: 't' }, schema: {} }, 404, 'campaign_not_found'),
      c("a's publish of b's campaign", 'POST', `${V}/site-structure/campaigns/b-secret-cmp/publish`, null, 404, 'campaign_not_found'),
      c("a's health of b's campaign", 'GET', `${V}/campaigns/b-secret-cmp/health`, null, 404, 'campaign_not_found'),
      c("a's experiment on b's slug", 'PUT', `${V}/experiments/a-into-b`, { slug: 'b-secret-link', variants: [{ id: 'a', destinationUrl: 'https://x.example/a', weight: 50 }, { id: 'b', destinationUrl: 'https://x.example/b', weight: 50 }] }, 404, 'link_not_found'),
      c("a's read of b's experiment id", 'GET', `${V}/experiments/b-secret-exp`, null, 404, 'not_found'),
      c("a's results of b's experiment id", 'GET', `${V}/experiments/b-secret-exp/results`, null, 404, 'not_found'),
      c("a's list of experiments on b's slug", 'GET', `${V}/experiments?slug=b-secret-link`, null, 200),
      c("a's rebuild of b's campaign", 'POST', `${V}/campaigns/b-secret-cmp/rollup/rebuild`, null, 404, 'campaign_not_found'),
      c("a's funnel of b's campaign", 'GET', `${V}/analytics?funnel=true&campaignId=b-secret-cmp`, null, 404, 'campaign_not_found'),
      c("a revokes b's PAT id under a's handle", 'DELETE', `${V}/tokens/${b.patId}`, null, 404, 'not_found'),
      c("a deletes b's webhook id under a's handle", 'DELETE', `${V}/webhooks/${b.webhookId}`, null, 404, 'not_found'),
      c("a reads b's webhook id under a's handle", 'GET', `${V}/webhooks/${b.webhookId}`, null, 404, 'not_found'),
      c("a reads b's delivery log under a's handle", 'GET', `${V}/webhooks/${b.webhookId}/deliveries`, null, 404, 'not_found'),
      c("a deletes b's link slug under a's handle", 'DELETE', `${V}/links/b-secret-link`, null, 404, 'link_not_found'),
      c("a deletes b's rule id under a's handle", 'DELETE', `${V}/rules/b-secret-rule`, null, 404, 'not_found'),
      c("a reads b's rule id under a's handle", 'GET', `${V}/rules/b-secret-rule`, null, 404, 'not_found'),
      c("a reads b's structure under a's handle (PAT)", 'GET', `/v2/public/handles/${A}/site-structure/campaigns/b-secret-cmp`, null, 404, 'campaign_not_found'),
    ];
    cases.at(-1).headers.authorization = `Bearer ${a.pat}`;
    cases.find((x) => x.name.includes('Idempotency-Key')).headers['idempotency-key'] = 'shared-key-1';
    report("a's namespace", await runner.run(cases));
    // b's PAT still works (a could not revoke it), b's webhook still exists.
    assert.equal((await api('GET', `/v2/handles/${B}/campaigns`, { token: b.pat })).status, 200, "b's PAT survived");
    assert.equal((await api('GET', `/v2/handles/${B}/webhooks/${b.webhookId}`, { token: b.jwt })).status, 200, "b's webhook survived");
  });

  test("MCP: a's PAT cannot reach b through the handle argument (or any path trick)", async () => {
    const a = T[A];
    let id = 0;
    const call = (name, args) => JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: args } });
    const tools = {
      campaign_list: {},
      campaign_create: { campaignId: 'injected-mcp', goalType: 'NEWSLETTER' },
      campaign_health: { campaignId: 'b-secret-cmp' },
      funnel_get: { campaignId: 'b-secret-cmp' },
      link_upsert: { slug: 'b-secret-link', destinationUrl: 'https://evil.example/' },
      campaign_structure_get: { campaignId: 'b-secret-cmp' },
      campaign_structure_upsert: { campaignId: 'b-secret-cmp', page: { slug: 'hijacked', title: 'hijacked' }, schema: {} },
      campaign_structure_publish: { campaignId: 'b-secret-cmp' },
      experiment_upsert: { experimentId: 'b-secret-exp', slug: 'b-secret-link', status: 'RUNNING', variants: [{ id: 'a', destinationUrl: 'https://evil.example/', weight: 50 }, { id: 'b', destinationUrl: 'https://evil.example/', weight: 50 }] },
      experiment_results: { experimentId: 'b-secret-exp' },
    };
    const cases = [];
    const mcp = (name, body, check, auth = a.pat) => cases.push({ name: `mcp ${name}`, method: 'POST', path: '/mcp', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body, expect: { status: 200, envelope: 'none', check } });
    for (const [tool, args] of Object.entries(tools)) {
      mcp(`${tool} handle=${B}`, call(tool, { ...args, handle: B }), toolIsError(B, ['forbidden']));
      for (const h of ['TENANT-B', `${B}/`, ` ${B}`, `${A}/../${B}`, `../${B}`, `${B}%2F`, `${A}/../../v2/handles/${B}`, `${B}\u0000`]) {
        mcp(`${tool} handle=${JSON.stringify(h)}`, call(tool, { ...args, handle: h }), toolIsError(B, ['forbidden', 'not_found', 'invalid_field']));
      }
      // b's ids without a handle resolve in a's namespace: missing, and nothing of b comes back
      if (args.campaignId) {
        mcp(`${tool} with b's campaign id, own handle`, call(tool, args), (r) => {
          const found = leaks(r.text, B);
          if (found.length) return `b's data: ${found.join(', ')}`;
          if (tool === 'campaign_create') return null;
          return r.json?.result?.isError === true ? null : `succeeded: ${r.text.slice(0, 200)}`;
        });
        // (the target is b's shared-cmp: an error may echo the id typed, but b's page / destinations must not come back)
        mcp(`${tool} campaignId path traversal`, call(tool, { ...args, campaignId: `../../../${B}/campaigns/shared-cmp` }), toolIsError(B));
      }
    }
    const dupHandle = (first, second) => JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'campaign_list', arguments: 'ARGS' } })
      .replace('"ARGS"', `{"handle":${JSON.stringify(first)},"handle":${JSON.stringify(second)}}`);
    mcp('duplicate handle key (a, then b)', dupHandle(A, B), toolIsError(B, ['forbidden']));
    mcp('duplicate handle key (b, then a): resolves to one handle, never b', dupHandle(B, A), (r) => (leaks(r.text, B).length ? `b's data: ${leaks(r.text, B).join(', ')}` : r.json?.result ? null : 'no result'));
    // b's experiment id under a's own handle: a's namespace, where it does not exist
    mcp("experiment_results with b's experiment id, own handle", call('experiment_results', { experimentId: 'b-secret-exp' }), toolIsError(B, ['not_found']));
    mcp('experiment_results experimentId path traversal', call('experiment_results', { experimentId: `../../../${B}/experiments/b-secret-exp` }), toolIsError(B));
    mcp('funnel_get campaignId with a query injection', call('funnel_get', { campaignId: `shared-cmp&handle=${B}&campaignId=b-paused-cmp` }), toolIsError(B));
    mcp('campaign_list cursor with a path injection', call('campaign_list', { cursor: `x/../../${B}/campaigns` }), toolIsError(B));
    mcp(`batch of every tool with handle=${B}`, JSON.stringify(Object.entries(tools).map(([tool, args]) => ({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: tool, arguments: { ...args, handle: B } } }))), toolIsError(B, ['forbidden']));
    mcp("a's PAT, link_upsert on the shared slug writes a's link only", call('link_upsert', { slug: 'shared-link', destinationUrl: 'https://a-shared.example/landing', campaignId: 'shared-cmp', trackingPolicy: { mode: 'DIRECT', appendContextParam: true } }), (r) =>
      r.json?.result?.isError === false && r.json.result.structuredContent.link.handle === A ? null : `got ${r.text.slice(0, 200)}`);
    cases.push({ name: 'mcp with no credential', method: 'POST', path: '/mcp', headers: { 'content-type': 'application/json' }, body: call('campaign_list', { handle: B }), expect: { status: 401, code: 'unauthorized' } });
    cases.push({ name: "mcp with a's JWT", method: 'POST', path: '/mcp', headers: { authorization: `Bearer ${a.jwt}`, 'content-type': 'application/json' }, body: call('campaign_list', { handle: B }), expect: { status: 403, code: 'forbidden' } });
    cases.push({ name: "mcp with b's expired JWT", method: 'POST', path: '/mcp', headers: { authorization: `Bearer ${mint(app.secret, { handles: { [B]: 'OWNER' }, ttl: -3600 })}`, 'content-type': 'application/json', 'cf-connecting-ip': freshIp() }, body: call('campaign_list', { handle: B }), expect: { status: [401, 429], code: ['unauthorized', 'rate_limited'] } });
    report('mcp', await runner.run(cases));
  });

  test("b's state is exactly as before the attacks", async () => {
    const now = await stateOf(B);
    assert.deepEqual(now, bBefore, "b's campaigns, links, rules, tokens, webhooks, structures and funnels are unchanged");
  });

  test("webhooks: a's receiver never gets b's events (and b's does: the control)", async () => {
    // Fresh events of both tenants now, after all the attacks.
    await must(201, 'POST', `/v2/handles/${B}/campaigns/b-secret-cmp/test-conversion`, { token: T[B].jwt, body: { value: 2, metadata: { note: 'b-secret late' } } });
    await must(201, 'POST', `/v2/handles/${A}/campaigns/a-secret-cmp/test-conversion`, { token: T[A].jwt, body: { value: 2 } });
    const at = (h) => hooks.filter((x) => x.path === `/${h}`);
    const seen = await app.eventually(() => at(B).some((x) => x.body.includes('b-secret late')) && at(A).filter((x) => x.body.includes('conversion.tested')).length >= 2, { timeout: 30_000, interval: 250 });
    assert.ok(seen, `deliveries arrived (a: ${at(A).length}, b: ${at(B).length})`);
    await sleep(1500);
    const toA = at(A).map((x) => JSON.parse(x.body));
    const toB = at(B).map((x) => JSON.parse(x.body));
    assert.ok(toA.length >= 4 && toB.length >= 6, `a got ${toA.length}, b got ${toB.length}`);
    assert.deepEqual([...new Set(toA.map((e) => e.handle))], [A], "a's receiver only got a's events");
    assert.deepEqual([...new Set(toB.map((e) => e.handle))], [B], "b's receiver only got b's events");
    for (const x of at(A)) assert.deepEqual(leaks(x.body, B), [], "no b data in a's deliveries");
    assert.equal(hooks.filter((x) => x.path === '/stolen').length, 0, 'no subscription was created through another tenant');
    // a's delivery log lists a's events only
    const log = await api('GET', `/v2/handles/${A}/webhooks/${T[A].webhookId}/deliveries?limit=100`, { token: T[A].jwt });
    assert.equal(log.status, 200);
    assert.deepEqual(leaks(log.text, B), []);
    const bEventIds = new Set(toB.map((e) => e.id));
    assert.deepEqual(log.json.deliveries.filter((d) => bEventIds.has(d.eventId)), [], "none of b's event ids in a's delivery log");
  });

  test('totals: ≥ 300 isolation cases, no 5xx, /healthz still answers', async () => {
    const h = await rawRequest(app.base, { path: '/healthz' });
    assert.equal(h.status, 200);
    console.log(`isolation cases: ${runner.total}`);
    if (runner.transient.length) console.log(`isolation transient (retried, e.g. a rebuild reload):\n  ${runner.transient.join('\n  ')}`);
    assert.deepEqual(runner.fiveXX, [], 'no 5xx');
    assert.ok(runner.total >= 300, `only ${runner.total} cases`);
  });
});
