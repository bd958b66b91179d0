// Issue: automation surfaces — PATs and the scope matrix, public routes,
// campaign detail structures in R2, the login-gated detail page, and MCP
// tested with the official MCP SDK client.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawnApp } from './helpers.mjs';

let app;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
before(async () => {
  app = await spawnApp();
  const r = await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'auto-cmp', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } });
  assert.equal(r.status, 201);
  await app.api('PUT', '/v2/handles/demo/links/auto-link', { body: { destinationUrl: 'https://e.example/', campaignId: 'auto-cmp' } });
  await app.api('PUT', '/v2/handles/demo/rules/auto-rule', { body: { when: { countryIn: ['AQ'] }, variant: { id: 'v', destinationUrl: 'https://v.example/' } } });
});
after(() => app?.stop());

async function pat(scopes, { handle = 'demo', jwt = app.ownerToken, expiresAt } = {}) {
  const r = await app.api('POST', `/v2/handles/${handle}/tokens`, { token: jwt, body: { name: `t-${scopes.join('+')}`, scopes, expiresAt } });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.secret, /^pat_[0-9a-f]{48}$/);
  return r.body;
}

const ALL = ['campaigns.read', 'campaigns.write', 'links.read', 'links.write', 'analytics.read', 'conversions.write', 'pages.read', 'pages.write', 'webhooks.read', 'webhooks.write'];
const structure = { page: { slug: 'auto-page', title: 'Auto' }, schema: { type: 'object' } };
// [method, path, body, scope] for every route a PAT may use.
const ROUTES = [
  ['GET', '/v2/handles/demo/campaigns', null, 'campaigns.read'],
  ['POST', '/v2/handles/demo/campaigns', { goalType: 'LEAD_CAPTURE' }, 'campaigns.write'],
  ['GET', '/v2/handles/demo/campaigns/auto-cmp', null, 'campaigns.read'],
  ['PATCH', '/v2/handles/demo/campaigns/auto-cmp', { name: 'renamed' }, 'campaigns.write'],
  ['GET', '/v2/handles/demo/campaigns/auto-cmp/health', null, 'campaigns.read'],
  ['POST', '/v2/handles/demo/campaigns/auto-cmp/test-conversion', { value: 1 }, 'conversions.write'],
  ['GET', '/v2/handles/demo/links', null, 'links.read'],
  ['PUT', '/v2/handles/demo/links/auto-link', { destinationUrl: 'https://e.example/', campaignId: 'auto-cmp' }, 'links.write'],
  ['GET', '/v2/handles/demo/links/auto-link', null, 'links.read'],
  ['DELETE', '/v2/handles/demo/links/no-such-link', null, 'links.write'],
  ['GET', '/v2/handles/demo/rules', null, 'campaigns.read'],
  ['PUT', '/v2/handles/demo/rules/auto-rule', { when: { countryIn: ['AQ'] }, variant: { id: 'v', destinationUrl: 'https://v.example/' } }, 'campaigns.write'],
  ['GET', '/v2/handles/demo/rules/auto-rule', null, 'campaigns.read'],
  ['DELETE', '/v2/handles/demo/rules/no-such-rule', null, 'campaigns.write'],
  ['POST', '/v2/handles/demo/rules/explain', { slug: 'auto-link' }, 'campaigns.read'],
  ['POST', '/v2/handles/demo/conversions', { campaignId: 'auto-cmp', eventType: 'purchase', value: 1 }, 'conversions.write'],
  ['GET', '/v2/handles/demo/analytics?funnel=true&campaignId=auto-cmp', null, 'analytics.read'],
  ['GET', '/v2/handles/demo/webhooks', null, 'webhooks.read'],
  ['POST', '/v2/handles/demo/webhooks', { url: 'https://hooks.example/x', events: ['campaign.paused'] }, 'webhooks.write'],
  ['PUT', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp', structure, 'pages.write'],
  ['GET', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp', null, 'pages.read'],
  ['POST', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp/publish', null, 'pages.write'],
];

describe('scope matrix', () => {
  test('every route: right scope passes, any other scope 403, wildcard family and * pass', async () => {
    const tokens = {};
    for (const s of ALL) tokens[s] = (await pat([s])).secret;
    const family = {};
    for (const f of ['campaigns', 'links', 'analytics', 'conversions', 'pages', 'webhooks']) family[f] = (await pat([`${f}.*`])).secret;
    const star = (await pat(['*'])).secret;
    let checked = 0;
    for (const [method, path, body, scope] of ROUTES) {
      const opts = body ? { body } : {};
      const ok = await app.api(method, path, { ...opts, token: tokens[scope] });
      assert.ok(![401, 403].includes(ok.status), `${method} ${path} with ${scope}: ${ok.status} ${ok.text}`);
      const fam = await app.api(method, path, { ...opts, token: family[scope.split('.')[0]] });
      assert.ok(![401, 403].includes(fam.status), `${method} ${path} with ${scope.split('.')[0]}.*: ${fam.status}`);
      const all = await app.api(method, path, { ...opts, token: star });
      assert.ok(![401, 403].includes(all.status), `${method} ${path} with *: ${all.status}`);
      for (const other of ALL.filter((s) => s !== scope)) {
        const r = await app.api(method, path, { ...opts, token: tokens[other] });
        assert.equal(r.status, 403, `${method} ${path} with ${other} should be 403, got ${r.status}`);
        assert.equal(r.body.error.code, 'forbidden');
        checked++;
      }
    }
    assert.equal(checked, ROUTES.length * (ALL.length - 1));
  });

  test('JWT-only routes refuse every PAT, even *: tokens (a PAT never mints a PAT) and rollup rebuild', async () => {
    const star = (await pat(['*'])).secret;
    for (const [m, p, body] of [
      ['POST', '/v2/handles/demo/tokens', { name: 'x', scopes: ['campaigns.read'] }],
      ['GET', '/v2/handles/demo/tokens'],
      ['POST', '/v2/handles/demo/campaigns/auto-cmp/rollup/rebuild'],
    ]) {
      const r = await app.api(m, p, { token: star, body });
      assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden'], `${m} ${p}`);
    }
  });

  test('PAT-only public routes refuse a JWT (403)', async () => {
    const r = await app.api('GET', '/v2/public/handles/demo/site-structure/campaigns/auto-cmp');
    assert.equal(r.status, 403);
  });

  test("a PAT of handle a never touches handle b (403, existing or not)", async () => {
    await app.api('POST', '/v2/handles/other-brand/campaigns', { token: app.token({ 'other-brand': 'OWNER' }), body: { campaignId: 'b-secret', goalType: 'LEAD_CAPTURE' } });
    const star = (await pat(['*'])).secret;
    for (const p of ['/v2/handles/other-brand/campaigns', '/v2/handles/other-brand/campaigns/b-secret', '/v2/handles/other-brand/campaigns/nope-nope', '/v2/public/handles/other-brand/site-structure/campaigns/b-secret']) {
      const r = await app.api('GET', p, { token: star });
      assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden'], p);
    }
  });

  test('expired, revoked, unknown and malformed PATs → 401', async () => {
    const soon = await pat(['campaigns.read'], { expiresAt: new Date(Date.now() + 1500).toISOString() });
    assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: soon.secret })).status, 200);
    await sleep(2000);
    const exp = await app.api('GET', '/v2/handles/demo/campaigns', { token: soon.secret });
    assert.deepEqual([exp.status, exp.body.error.code], [401, 'unauthorized'], 'expired');
    const rev = await pat(['campaigns.read']);
    assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: rev.secret })).status, 200);
    assert.equal((await app.api('DELETE', `/v2/handles/demo/tokens/${rev.token.id}`)).status, 204);
    assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: rev.secret })).status, 401, 'revoked');
    for (const t of [`pat_${'0'.repeat(48)}`, 'pat_short', `pat_${'z'.repeat(48)}`]) {
      assert.equal((await app.api('GET', '/v2/handles/demo/campaigns', { token: t })).status, 401, t);
    }
  });
});

describe('tokens', () => {
  test('secret shown once, listed without it, lastUsedAt recorded, creator vs admin visibility', async () => {
    const creator = app.token({ demo: 'CREATOR' }, { sub: 'creator-1' });
    const mine = await pat(['analytics.*'], { jwt: creator });
    assert.equal(mine.token.createdBy, 'creator-1');
    assert.equal(mine.token.lastUsedAt, null);
    await app.api('GET', '/v2/handles/demo/analytics?funnel=true&campaignId=auto-cmp', { token: mine.secret });
    const listed = await app.eventually(async () => {
      const r = await app.api('GET', '/v2/handles/demo/tokens', { token: creator });
      const t = r.body.tokens.find((x) => x.id === mine.token.id);
      return t?.lastUsedAt ? r : null;
    });
    assert.ok(listed, 'lastUsedAt set after use');
    assert.ok(!JSON.stringify(listed.body).includes(mine.secret), 'no secret in listings');
    assert.ok(listed.body.tokens.every((t) => t.createdBy === 'creator-1'), 'a CREATOR sees only their own tokens');
    const admin = await app.api('GET', '/v2/handles/demo/tokens?limit=100');
    assert.ok(admin.body.tokens.some((t) => t.createdBy !== 'creator-1'), 'an OWNER sees everyone’s');
    const other = admin.body.tokens.find((t) => t.createdBy !== 'creator-1');
    assert.equal((await app.api('DELETE', `/v2/handles/demo/tokens/${other.id}`, { token: creator })).status, 403, 'a CREATOR cannot revoke others’ tokens');
  });

  test('a PAT never exceeds its creator: CREATOR cannot grant webhooks.* or *; VIEWER cannot mint', async () => {
    const creator = app.token({ demo: 'CREATOR' });
    for (const scopes of [['webhooks.read'], ['*']]) {
      const r = await app.api('POST', '/v2/handles/demo/tokens', { token: creator, body: { name: 'x', scopes } });
      assert.equal(r.status, 403, JSON.stringify(scopes));
    }
    const viewer = app.token({ demo: 'VIEWER' });
    assert.equal((await app.api('POST', '/v2/handles/demo/tokens', { token: viewer, body: { name: 'x', scopes: ['campaigns.read'] } })).status, 403);
    for (const body of [{ scopes: ['*'] }, { name: 'x', scopes: [] }, { name: 'x', scopes: ['nope.read'] }, { name: 'x', scopes: ['*'], expiresAt: '2001-01-01T00:00:00Z' }]) {
      const r = await app.api('POST', '/v2/handles/demo/tokens', { body });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], JSON.stringify(body));
    }
  });
});

describe('campaign detail structures', () => {
  test('three upserts → v1, v2, v3 at the exact keys; publish points at v3; the page is login-gated', async () => {
    const c = await app.api('POST', '/v2/handles/demo/campaigns', { body: { campaignId: 'spring-launch', goalType: 'PRODUCT_SALE' } });
    assert.equal(c.status, 201);
    const writer = (await pat(['pages.*'])).secret;
    const versions = [];
    for (let v = 1; v <= 3; v++) {
      const path = v === 2 ? '/v2/handles/demo/site-structure/campaigns/spring-launch' : '/v2/public/handles/demo/site-structure/campaigns/spring-launch';
      const r = await app.api('PUT', path, {
        token: v === 2 ? app.ownerToken : writer,
        body: { page: { slug: 'spring-details', title: `Spring v${v}`, blocks: [{ type: 'hero', n: v }] }, schema: { type: 'object', version: v } },
      });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(r.body, { version: v, key: `site-structure/demo/campaigns/spring-launch/v${v}.json` });
      versions.push(r.body);
    }
    for (let v = 1; v <= 3; v++) {
      const r = await app.api('GET', `/v2/public/handles/demo/site-structure/campaigns/spring-launch?version=${v}`, { token: writer });
      assert.equal(r.status, 200);
      assert.equal(r.body.key, `site-structure/demo/campaigns/spring-launch/v${v}.json`);
      assert.equal(r.body.page.title, `Spring v${v}`, 'each version kept (never overwritten)');
      assert.deepEqual(r.body.schema, { type: 'object', version: v });
    }
    const latest = await app.api('GET', '/v2/handles/demo/site-structure/campaigns/spring-launch');
    assert.equal(latest.body.version, 3);
    assert.equal(latest.body.published, null);
    const pub = await app.api('POST', '/v2/public/handles/demo/site-structure/campaigns/spring-launch/publish', { token: writer });
    assert.equal(pub.status, 200, pub.text);
    assert.deepEqual([pub.body.version, pub.body.access, pub.body.detailsPageSlug], [3, 'FREE_WITH_LOGIN', 'spring-details']);
    const campaign = await app.api('GET', '/v2/handles/demo/campaigns/spring-launch');
    assert.equal(campaign.body.campaign.detailsPageSlug, 'spring-details');

    const anon = await fetch(`${app.base}/demo/p/spring-details`);
    const anonBody = await anon.json();
    assert.equal(anon.status, 401);
    assert.equal(anonBody.error.code, 'unauthorized');
    assert.match(anonBody.error.message, /[Ss]ign in/);
    assert.ok(!JSON.stringify(anonBody).includes('Spring v3'), 'never the content');
    const viewer = app.token({ someone: 'VIEWER' }, { sub: 'visitor-1' });
    const signedIn = await fetch(`${app.base}/demo/p/spring-details`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(signedIn.status, 200);
    const page = await signedIn.json();
    assert.deepEqual([page.version, page.page.title, page.access], [3, 'Spring v3', 'FREE_WITH_LOGIN']);
    const cookie = await fetch(`${app.base}/demo/p/spring-details`, { headers: { cookie: `theme=dark; ef_session=${viewer}` } });
    assert.equal(cookie.status, 200, 'the session cookie works too');
    const forged = await fetch(`${app.base}/demo/p/spring-details`, { headers: { cookie: 'ef_session=abc.def.ghi' } });
    assert.equal(forged.status, 401);
    assert.equal((await fetch(`${app.base}/demo/p/unknown-page`, { headers: { authorization: `Bearer ${viewer}` } })).status, 404);
  });

  test('oversized (> 256 KiB) → 413; non-object page/schema → 400 invalid_field; not JSON → 400 invalid_json; unknown campaign → 404', async () => {
    const p = '/v2/handles/demo/site-structure/campaigns/auto-cmp';
    const big = await app.api('PUT', p, { body: { page: { slug: 's', title: 't' }, schema: { blob: 'x'.repeat(270 * 1024) } } });
    assert.deepEqual([big.status, big.body.error.code], [413, 'payload_too_large']);
    const okBig = await app.api('PUT', p, { body: { page: { slug: 's', title: 't' }, schema: { blob: 'x'.repeat(200 * 1024) } } });
    assert.equal(okBig.status, 201, 'structures up to 256 KiB are fine (above the 64 KiB API limit)');
    for (const body of [{ page: [], schema: {} }, { page: { slug: 's', title: 't' }, schema: 'x' }, { page: 'x', schema: {} }, { page: { slug: 's', title: 't' }, schema: [1] }, { schema: {} }]) {
      const r = await app.api('PUT', p, { body });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], JSON.stringify(body));
    }
    assert.deepEqual((await app.api('PUT', p, { raw: '[1,2]' })).body.error.code, 'invalid_json');
    const missing = await app.api('PUT', '/v2/handles/demo/site-structure/campaigns/no-such-cmp', { body: structure });
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'campaign_not_found']);
    const unpublished = await app.api('POST', '/v2/handles/demo/site-structure/campaigns/links-none/publish');
    assert.equal(unpublished.status, 404);
  });
});

describe('MCP with the official SDK client', () => {
  async function connect(secret) {
    const client = new Client({ name: 'edge-funnel-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${app.base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${secret}` } },
    });
    await client.connect(transport);
    return client;
  }

  test('connect, list tools, upsert then get a structure, publish; a call without scope is an isError result', async () => {
    const full = (await pat(['*'])).secret;
    const client = await connect(full);
    assert.equal(client.getServerVersion().name, 'edge-funnel');
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name).sort(),
      ['campaign_create', 'campaign_health', 'campaign_list', 'campaign_structure_get', 'campaign_structure_publish', 'campaign_structure_upsert', 'funnel_get', 'link_upsert'],
    );
    for (const t of tools) assert.equal(t.inputSchema.type, 'object', t.name);

    const created = await client.callTool({ name: 'campaign_create', arguments: { campaignId: 'mcp-launch', goalType: 'NEWSLETTER', status: 'ACTIVE' } });
    assert.equal(created.isError, false, JSON.stringify(created));
    assert.equal(created.structuredContent.campaign.conversionEventType, 'newsletter_signup');
    const up = await client.callTool({
      name: 'campaign_structure_upsert',
      arguments: { campaignId: 'mcp-launch', page: { slug: 'mcp-page', title: 'From an agent' }, schema: { type: 'object' } },
    });
    assert.equal(up.isError, false, JSON.stringify(up));
    assert.deepEqual(up.structuredContent, { version: 1, key: 'site-structure/demo/campaigns/mcp-launch/v1.json' });
    const got = await client.callTool({ name: 'campaign_structure_get', arguments: { campaignId: 'mcp-launch' } });
    assert.equal(got.isError, false);
    assert.equal(got.structuredContent.page.title, 'From an agent');
    assert.equal(JSON.parse(got.content[0].text).version, 1);
    const pub = await client.callTool({ name: 'campaign_structure_publish', arguments: { campaignId: 'mcp-launch' } });
    assert.equal(pub.structuredContent.detailsPageSlug, 'mcp-page');
    const link = await client.callTool({ name: 'link_upsert', arguments: { slug: 'mcp-link', destinationUrl: 'https://news.example/', campaignId: 'mcp-launch' } });
    assert.equal(link.isError, false);
    assert.equal((await app.click('/demo/mcp-link')).location, 'https://news.example/');
    const health = await client.callTool({ name: 'campaign_health', arguments: { campaignId: 'mcp-launch' } });
    assert.equal(health.structuredContent.checks.length, 7);
    const funnel = await client.callTool({ name: 'funnel_get', arguments: { campaignId: 'mcp-launch' } });
    assert.equal(funnel.structuredContent.funnel[0].campaignId, 'mcp-launch');
    const bad = await client.callTool({ name: 'campaign_create', arguments: { campaignId: 'X', goalType: 'NEWSLETTER' } });
    assert.equal(bad.isError, true);
    assert.equal(bad.structuredContent.error.code, 'invalid_campaign_id');
    await client.close();

    const readOnly = await connect((await pat(['pages.read'])).secret);
    const denied = await readOnly.callTool({
      name: 'campaign_structure_upsert',
      arguments: { campaignId: 'mcp-launch', page: { slug: 'mcp-page', title: 'nope' }, schema: {} },
    });
    assert.equal(denied.isError, true);
    assert.equal(denied.structuredContent.error.code, 'forbidden');
    const allowed = await readOnly.callTool({ name: 'campaign_structure_get', arguments: { campaignId: 'mcp-launch' } });
    assert.equal(allowed.isError, false);
    const otherHandle = await readOnly.callTool({ name: 'campaign_structure_get', arguments: { handle: 'other-brand', campaignId: 'b-secret' } });
    assert.equal(otherHandle.structuredContent.error.code, 'forbidden');
    await assert.rejects(readOnly.callTool({ name: 'no_such_tool', arguments: {} }), /Unknown tool/);
    await readOnly.close();
  });

  test('the endpoint needs a PAT: none → 401, a JWT → 403; bad JSON → parse error', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    const none = await app.api('POST', '/mcp', { token: null, body: init });
    assert.equal(none.status, 401);
    const jwt = await app.api('POST', '/mcp', { body: init });
    assert.equal(jwt.status, 403);
    const secret = (await pat(['campaigns.read'])).secret;
    const parse = await app.api('POST', '/mcp', { token: secret, raw: '{"jsonrpc":', headers: { 'content-type': 'application/json' } });
    assert.deepEqual([parse.status, parse.body.error.code], [400, -32700]);
    const unknown = await app.api('POST', '/mcp', { token: secret, body: { jsonrpc: '2.0', id: 7, method: 'resources/list' } });
    assert.deepEqual([unknown.status, unknown.body.id, unknown.body.error.code], [200, 7, -32601]);
    const note = await app.api('POST', '/mcp', { token: secret, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
    assert.equal(note.status, 202);
    const get = await app.api('GET', '/mcp', { token: secret });
    assert.equal(get.status, 405);
  });
});
