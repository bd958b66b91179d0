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
