// The official MCP conformance suite (npm @modelcontextprotocol/conformance)
// against our /mcp, in server mode, for every scenario that applies to a
// tools-only server with its own tools. The suite's client sends no
// credentials and our endpoint needs a personal access token, so a
// transparent reverse proxy on 127.0.0.1 adds `Authorization: Bearer pat_…`
// and maps its own origin to the Worker's (so the suite's "valid Origin"
// case is the Worker's own origin, as it would be without the proxy).
//
// Not run, because they do not apply: resources-*, prompts-*, completion-*,
// logging-set-level, elicitation-* and tools-call-* (they call the suite's own
// test tools — test_simple_text, test_image_content, … — which only its
// reference server has; our tools are covered by tests/e2e/mcp.test.mjs).
import { createServer, request as httpRequest } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnApp } from '../harness/app.mjs';

export const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'server-sse-multiple-streams', 'dns-rebinding-protection'];

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const cli = process.env.MCP_CONFORMANCE_CLI ?? join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const out = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
const app = await spawnApp();
let proxy;
const results = [];
try {
  const pat = await app.api('POST', '/v2/handles/demo/tokens', { body: { name: 'conformance', scopes: ['*'] } });
  if (pat.status !== 201) throw new Error(`minting a PAT: ${pat.status} ${pat.text}`);
  const target = new URL(app.base);
  proxy = createServer((req, res) => {
    const port = proxy.address().port;
    const own = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
    const headers = { ...req.headers, host: target.host, authorization: `Bearer ${pat.body.secret}` };
    if (own.includes(headers.origin)) headers.origin = target.origin;
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${proxy.address().port}/mcp`;
  for (const scenario of SCENARIOS) {
    // Not spawnSync: the proxy lives in this process's event loop.
    const child = spawn(process.execPath, [cli, 'server', '--url', url, '--scenario', scenario, '-o', out], { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    const passed = text.replace(/\x1B\[[0-9;]*m/g, '').match(/Passed: (\d+)\/(\d+)[^\n]*/);
    const line = `${scenario}: ${passed ? passed[0] : 'no checks reported'}`;
    results.push({ scenario, code, line });
    if (code !== 0) console.log(text);
  }
} finally {
  proxy?.close();
  app.stop();
  rmSync(out, { recursive: true, force: true });
}
for (const r of results) console.log(`${r.code === 0 ? 'ok  ' : 'FAIL'} ${r.line}`);
const failed = results.filter((r) => r.code !== 0).length;
console.log(`MCP conformance (@modelcontextprotocol/conformance, server mode): ${results.length - failed}/${results.length} applicable scenarios passed`);
process.exit(failed ? 1 : 0);
