// MCP (/mcp), driven by the official MCP SDK client: tools, structured
// results, scopes as isError results, another handle refused, and the
// endpoint's own answers (no PAT, a JWT, bad JSON-RPC).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawnApp } from '../harness/app.mjs';
import { mintPat } from './fixtures.mjs';

let app;
before(async () => {
  app = await spawnApp();
  // Another handle with a campaign, for the "never another handle" check.
  await app.api('POST', '/v2/handles/other-brand/campaigns', { token: app.token({ 'other-brand': 'OWNER' }), body: { campaignId: 'b-secret', goalType: 'LEAD_CAPTURE' } });
});
after(() => app?.stop());

const pat = (scopes, opts) => mintPat(app, scopes, opts);

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
      ['campaign_create', 'campaign_health', 'campaign_list', 'campaign_structure_get', 'campaign_structure_publish', 'campaign_structure_upsert', 'experiment_results', 'experiment_upsert', 'funnel_get', 'link_upsert'],
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
    assert.equal(health.structuredContent.checks.length, 8);
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

  test('experiments: upsert on a link of a campaign, read the results; unknown arguments and a missing scope are isError results', async () => {
    const client = await connect((await pat(['*'])).secret);
    const { tools } = await client.listTools();
    const up = tools.find((t) => t.name === 'experiment_upsert');
    assert.deepEqual(up.inputSchema.required, ['experimentId', 'slug', 'variants']);
    assert.deepEqual([up.inputSchema.properties.variants.minItems, up.inputSchema.properties.variants.maxItems], [2, 5]);
    assert.deepEqual(tools.find((t) => t.name === 'experiment_results').inputSchema.required, ['experimentId']);

    assert.equal((await client.callTool({ name: 'campaign_create', arguments: { campaignId: 'mcp-exp', goalType: 'PRODUCT_SALE', status: 'ACTIVE' } })).isError, false);
    assert.equal((await client.callTool({ name: 'link_upsert', arguments: { slug: 'mcp-exp-link', destinationUrl: 'https://shop.example/a', campaignId: 'mcp-exp' } })).isError, false);
    const variants = [
      { id: 'a', destinationUrl: 'https://shop.example/a', weight: 50 },
      { id: 'b', destinationUrl: 'https://shop.example/b', weight: 50 },
    ];
    const created = await client.callTool({ name: 'experiment_upsert', arguments: { experimentId: 'mcp-ab', slug: 'mcp-exp-link', status: 'RUNNING', variants, minQualifiedClicksPerVariant: 5 } });
    assert.equal(created.isError, false, JSON.stringify(created));
    assert.deepEqual(
      [created.structuredContent.experiment.campaignId, created.structuredContent.experiment.status, created.structuredContent.experiment.minQualifiedClicksPerVariant, created.structuredContent.experiment.autoPromote],
      ['mcp-exp', 'RUNNING', 5, false],
    );
    const rest = await app.api('GET', '/v2/handles/demo/experiments/mcp-ab');
    assert.equal(rest.body.experiment.variants.length, 2, 'the tool wrote what the REST twin reads');
    const replaced = await client.callTool({ name: 'experiment_upsert', arguments: { experimentId: 'mcp-ab', slug: 'mcp-exp-link', status: 'RUNNING', variants, autoPromote: false } });
    assert.equal(replaced.isError, false);
    assert.equal(replaced.structuredContent.experiment.minQualifiedClicksPerVariant, 100);

    const r = await client.callTool({ name: 'experiment_results', arguments: { experimentId: 'mcp-ab' } });
    assert.equal(r.isError, false, JSON.stringify(r));
    const res = r.structuredContent;
    assert.deepEqual([res.experimentId, res.slug, res.campaignId, res.status, res.currency], ['mcp-ab', 'mcp-exp-link', 'mcp-exp', 'RUNNING', 'USD']);
    assert.deepEqual(res.variants.map((v) => [v.id, v.weight, typeof v.interval.lo, typeof v.interval.hi]), [['a', 50, 'number', 'number'], ['b', 50, 'number', 'number']]);
    assert.equal(typeof res.srm.pValue, 'number');
    assert.equal(res.winner, null);
    assert.ok(typeof res.decision === 'string' && res.decision.length > 0);
    assert.deepEqual([res.sampled, typeof res.pendingEvents], [false, 'number']);
    assert.deepEqual(JSON.parse(r.content[0].text), res);

    // The API's own refusals come back as isError results carrying its envelope.
    const sum = await client.callTool({ name: 'experiment_upsert', arguments: { experimentId: 'mcp-bad', slug: 'mcp-exp-link', variants: [{ ...variants[0], weight: 60 }, variants[1]] } });
    assert.deepEqual([sum.isError, sum.structuredContent.error.code], [true, 'invalid_field']);
    assert.match(sum.structuredContent.error.message, /weights must sum to 100/);
    const conflict = await client.callTool({ name: 'experiment_upsert', arguments: { experimentId: 'mcp-ab2', slug: 'mcp-exp-link', status: 'RUNNING', variants } });
    assert.deepEqual([conflict.isError, conflict.structuredContent.error.code], [true, 'experiment_conflict']);
    // Unknown arguments are refused, for the body tool (by the handler) and the bodiless one (by the endpoint).
    const extraUp = await client.callTool({ name: 'experiment_upsert', arguments: { experimentId: 'mcp-ab', slug: 'mcp-exp-link', variants, colour: 'red' } });
    assert.deepEqual([extraUp.isError, extraUp.structuredContent.error.code], [true, 'invalid_field']);
    assert.match(extraUp.structuredContent.error.message, /colour/);
    const extraRes = await client.callTool({ name: 'experiment_results', arguments: { experimentId: 'mcp-ab', from: '2026-01-01T00:00:00Z' } });
    assert.deepEqual([extraRes.isError, extraRes.structuredContent.error.code], [true, 'invalid_field']);
    assert.match(extraRes.structuredContent.error.message, /from/);
    const missing = await client.callTool({ name: 'experiment_results', arguments: { experimentId: 'no-such-exp' } });
    assert.deepEqual([missing.isError, missing.structuredContent.error.code], [true, 'not_found']);
    const noId = await client.callTool({ name: 'experiment_results', arguments: {} });
    assert.deepEqual([noId.isError, noId.structuredContent.error.code], [true, 'invalid_field']);
    await client.close();

    // Each tool needs its REST twin's scope: campaigns.write to upsert, analytics.read for results.
    const readOnly = await connect((await pat(['campaigns.read'])).secret);
    const denied = await readOnly.callTool({ name: 'experiment_upsert', arguments: { experimentId: 'mcp-ab', slug: 'mcp-exp-link', variants } });
    assert.deepEqual([denied.isError, denied.structuredContent.error.code], [true, 'forbidden']);
    const noAnalytics = await readOnly.callTool({ name: 'experiment_results', arguments: { experimentId: 'mcp-ab' } });
    assert.deepEqual([noAnalytics.isError, noAnalytics.structuredContent.error.code], [true, 'forbidden']);
    const otherHandle = await readOnly.callTool({ name: 'experiment_results', arguments: { handle: 'other-brand', experimentId: 'mcp-ab' } });
    assert.equal(otherHandle.structuredContent.error.code, 'forbidden');
    await readOnly.close();
    const analytics = await connect((await pat(['analytics.read'])).secret);
    assert.equal((await analytics.callTool({ name: 'experiment_results', arguments: { experimentId: 'mcp-ab' } })).isError, false);
    await analytics.close();
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

  test('transport rules: a foreign Origin is 403 (DNS rebinding), an unknown MCP-Protocol-Version is 400', async () => {
    const secret = (await pat(['campaigns.read', 'analytics.read'])).secret;
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const call = (headers, token = secret) => app.api('POST', '/mcp', { token, body: ping, headers });
    for (const origin of ['http://evil.example.com', 'null', `${app.base}.evil.example`]) {
      const r = await call({ origin });
      assert.equal(r.status, 403, origin);
      assert.equal(r.body.error.code, 'origin_not_allowed');
      assert.equal((await call({ origin }, null)).status, 403, 'refused before any credential is looked at');
    }
    assert.deepEqual((await call({ origin: app.base })).body, { jsonrpc: '2.0', id: 1, result: {} }, 'its own origin');
    assert.equal((await call({})).status, 200, 'no Origin: not a browser');
    for (const v of ['2025-06-18', '2025-03-26', '2025-11-25']) assert.equal((await call({ 'mcp-protocol-version': v })).status, 200, v);
    const bad = await call({ 'mcp-protocol-version': '1999-01-01' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_field');
    assert.match(bad.body.error.message, /MCP-Protocol-Version/);
  });

  test('read tools refuse misspelled arguments instead of answering for everything', async () => {
    const client = await connect((await pat(['*'])).secret);
    const r = await client.callTool({ name: 'funnel_get', arguments: { campaignid: 'b-secret' } });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.error.code, 'invalid_field');
    assert.match(r.structuredContent.error.message, /campaignid/);
    for (const [name, args] of [['campaign_list', { stauts: 'ACTIVE' }], ['campaign_health', { campaignId: 'x', verbose: true }]]) {
      const e = await client.callTool({ name, arguments: args });
      assert.equal(e.isError, true, name);
      assert.equal(e.structuredContent.error.code, 'invalid_field', name);
    }
    const { tools } = await client.listTools();
    assert.equal(tools.find((t) => t.name === 'funnel_get').inputSchema.additionalProperties, false);
    await client.close();
  });
});
