// Black-box test harness: every test file starts its own `wrangler dev`
// (fresh local D1/DO/R2 state in a temp dir, a free port on 127.0.0.1, a
// random JWT secret) and talks HTTP to it, the way a user does.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mint } from '../../scripts/token.mjs';
import { ROOT, BIN, ENV, UA, freePort, sleep } from './env.mjs';

export { ROOT, UA };

/**
 * The project's wrangler.toml with the rate limits replaced: by default so high
 * that no suite trips them by accident; `limits` ({BINDING: {limit, period}})
 * sets real ones for the rate-limit tests. Written next to wrangler.toml so
 * its relative paths still resolve; removed by stop().
 */
function testConfig(limits) {
  let toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  toml = toml.replace(/name = "(\w+)"\nnamespace_id = "(\d+)"\nsimple = \{[^}]*\}/g, (_, name, ns) => {
    const l = limits[name] ?? { limit: 1_000_000, period: 60 };
    return `name = "${name}"\nnamespace_id = "${ns}"\nsimple = { limit = ${l.limit}, period = ${l.period} }`;
  });
  const path = join(ROOT, `.wrangler-test-${randomBytes(6).toString('hex')}.toml`);
  writeFileSync(path, toml);
  return path;
}

/**
 * Start the Worker. `vars` become wrangler `--var` bindings (e.g. ROLLUP_SHARDS);
 * `limits` overrides rate limits (see testConfig).
 * Returns { base, secret, token(), api(), stop() }.
 */
export async function spawnApp({ vars = {}, limits = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'edge-funnel-e2e-'));
  const secret = randomBytes(24).toString('hex');
  const port = await freePort();
  const config = testConfig(limits);
  execFileSync('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', dir, '-c', config], {
    cwd: ROOT,
    env: ENV,
    stdio: 'pipe',
  });
  const allVars = { JWT_SECRET: secret, ALLOW_HTTP_WEBHOOKS: '1', DEV_SIGN_IN: '1', ...vars };
  const args = ['dev', '-c', config, '--ip', '127.0.0.1', '--port', String(port), '--local', '--persist-to', dir,
    '--show-interactive-dev-session=false', '--live-reload=false', '--test-scheduled'];
  for (const [k, v] of Object.entries(allVars)) args.push('--var', `${k}:${v}`);
  const child = spawn(join(BIN, 'wrangler'), args, { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(config, { force: true });
      throw new Error(`wrangler dev exited early:\n${log}`);
    }
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      stopProcess(child);
      throw new Error(`wrangler dev did not become ready:\n${log}`);
    }
    await sleep(250);
  }

  const token = (handles = { demo: 'OWNER' }, opts = {}) => mint(secret, { handles, ...opts });
  const ownerToken = token();

  /** JSON API call. Returns { status, body, headers }. */
  async function api(method, path, { body, token: tok = ownerToken, headers = {}, raw } = {}) {
    const h = { ...headers };
    if (tok) h.authorization = `Bearer ${tok}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const r = await fetch(base + path, { method, headers: h, body: payload, redirect: 'manual' });
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: r.status, body: json, text, headers: r.headers };
  }

  /** A visitor click. Never follows the redirect. */
  async function click(path, { ua = UA.iphone, country, referer, method = 'GET', headers = {} } = {}) {
    const h = { 'user-agent': ua, ...headers };
    if (country) h['MF-CF-Blob'] = JSON.stringify({ country });
    if (referer) h.referer = referer;
    const r = await fetch(base + path, { method, headers: h, redirect: 'manual' });
    await r.arrayBuffer();
    return { status: r.status, location: r.headers.get('location'), headers: r.headers };
  }

  /** Poll until `fn()` returns a truthy value (clicks are recorded after the response). */
  async function eventually(fn, { timeout = 15_000, interval = 100 } = {}) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
      last = await fn();
      if (last) return last;
      if (Date.now() > end) return last;
      await sleep(interval);
    }
  }

  function stop() {
    stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
    rmSync(config, { force: true });
  }

  return { base, secret, dir, token, ownerToken, api, click, eventually, stop, log: () => log };
}

function stopProcess(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {}
}

/** The README guide's steps 1–2: campaign `spring-launch` + link `spring-promo`. */
export async function guideSetup(app, { status = 'ACTIVE' } = {}) {
  const c = await app.api('POST', '/v2/handles/demo/campaigns', {
    body: { campaignId: 'spring-launch', goalType: 'PRODUCT_SALE', status, primarySlug: 'spring-promo' },
  });
  const l = await app.api('PUT', '/v2/handles/demo/links/spring-promo', {
    body: {
      destinationUrl: 'https://shop.example.com/spring',
      campaignId: 'spring-launch',
      trackingPolicy: { mode: 'DIRECT', appendContextParam: true },
    },
  });
  return { campaign: c, link: l };
}
