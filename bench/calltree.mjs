// Where a redirect's time goes, as a call tree: the V8 sampling profile of the
// Worker's isolate while wrk loads one redirect, split by what is on each
// sample's stack (bench/README.md, "Where the … redirect's time goes").
//
//   node bench/calltree.mjs [--link untracked|tracked|trivial] [--stub] [--seconds 5] [--top 30]
//
// `--stub`: the ROLLUP binding goes to a stand-in object that answers at once (what
// recording costs the Worker itself, without the local D1 and rollup work).
//
// `untracked`: a link without a campaign in a handle with the benchmark's 3 rules
// absent (the rules live with the tracked link's campaign); `tracked`: the benchmark
// redirect (tracked, 3 rules, the third fires); `trivial`: the fixed-302 JS Worker.
// Uses the current build/ (`make build`). Rust frames are named only in a build that
// kept the wasm `name` section: `worker-build --release --no-opt`, then the Makefile's
// wasm-opt flags with `-g` and without `--strip-debug` (bench/README.md).
// Samples include the profiler's overhead: compare rows with each other, not with
// the CPU-per-request rows of `make bench`.
import { parseArgs } from 'node:util';
import { client, HANDLE, seedCampaign } from './lib/app.mjs';
import { freePort, UA } from './lib/env.mjs';
import { connect } from './lib/profile.mjs';
import { prepareWorkspace } from './lib/bundle.mjs';
import { startDirect } from './lib/serve.mjs';
import { wrk } from './lib/wrk.mjs';

const { values: args } = parseArgs({
  options: {
    link: { type: 'string', default: 'untracked' },
    // The tracked link's ROLLUP binding to a stand-in object that answers at once
    // (startDirect `stubRollup`): the Worker's own recording without the simulators'.
    stub: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
    top: { type: 'string', default: '30' },
  },
});
if (!['untracked', 'tracked', 'trivial'].includes(args.link)) {
  console.error('--link: untracked, tracked or trivial');
  process.exit(2);
}
const seconds = Number(args.seconds);
const secret = 'x'.repeat(64);
const trivial = args.link === 'trivial';

const ws = await prepareWorkspace();
const inspectorPort = await freePort();
const server = await startDirect(
  trivial ? ws.trivial : ws.app,
  trivial ? { assets: false, inspectorPort } : { vars: { JWT_SECRET: secret }, migrations: true, readyPath: '/healthz', assets: false, inspectorPort, stubRollup: args.stub },
);
try {
  const c = client(server.base, secret);
  let url = `${server.base}/${HANDLE}/plain?utm_source=email`;
  if (args.link === 'untracked') await c.must('untracked link', c.api('PUT', `/v2/handles/${HANDLE}/links/plain`, { destinationUrl: 'https://shop.example.com/plain' }));
  if (args.link === 'tracked') url = server.base + (await seedCampaign(c, { campaignId: 'spring', slug: 'spring' })) + '?utm_source=email';
  const load = { connections: 16, threads: 2, headers: { 'User-Agent': UA.chromeDesktop, 'Accept-Language': 'en-US,en;q=0.9' } };
  await wrk(url, { ...load, seconds: 2 });

  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const target = targets.find((t) => /^core:user:/.test(t.id));
  const s = await connect(target.webSocketDebuggerUrl);
  await s.send('Profiler.enable');
  await s.send('Profiler.setSamplingInterval', { interval: 100 });
  await s.send('Profiler.start');
  const r = await wrk(url, { ...load, seconds });
  const { profile } = await s.send('Profiler.stop');
  s.close();
  report(profile, r.requests);
} finally {
  await server.stop();
  ws.cleanup();
}

/** Self time per sample stack, grouped; printed per request. */
function report(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const ch of n.children ?? []) parent.set(ch, n.id);
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const stackOf = (id) => {
    const out = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) out.push(byId.get(cur).callFrame);
    return out;
  };
  const categories = new Map();
  const rust = new Map();
  const add = (m, k, us) => m.set(k, (m.get(k) ?? 0) + us);
  for (const [id, us] of self) {
    const stack = stackOf(id);
    const names = stack.map((f) => f.functionName);
    const top = names[0];
    // The request's synchronous path starts in entry.mjs's `fetch`; the flush and
    // the rollup object run as microtasks; the D1 client API is workerd's JS.
    const inFetch = stack.some((f) => f.functionName === 'fetch' && f.url.endsWith('entry.js'));
    let cat;
    if (top === '(idle)') cat = 'idle';
    else if (inFetch) cat = 'the request (synchronous fetch)';
    else if (stack.some((f) => f.url.includes('d1-api'))) cat = 'D1 client API';
    else if (names.includes('exec')) cat = 'rollup object SQL (exec)';
    else if (top === '(garbage collector)') cat = 'garbage collector';
    else if (top === '(program)' || top === '') cat = 'V8 (program), unattributed native';
    else cat = 'async tasks (flush, rollup object)';
    add(categories, cat, us);
    if (inFetch) add(rust, names.find((n) => /edge_funnel/.test(n)) ?? top ?? '(anonymous)', us);
  }
  const per = (us) => (us / requests).toFixed(2).padStart(7);
  const busy = [...categories].filter(([k]) => k !== 'idle').reduce((a, [, us]) => a + us, 0);
  console.log(`${args.link}: ${requests} requests in ${seconds} s; sampled busy ${per(busy)} µs per request`);
  for (const [k, us] of [...categories].sort((a, b) => b[1] - a[1])) console.log(`${per(us)} µs  ${k}`);
  console.log('\nthe request, by the innermost Rust frame on the stack (JS it calls included):');
  for (const [k, us] of [...rust].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
    console.log(`${per(us)} µs  ${k.replace(/::h[0-9a-f]{16}/g, '')}`);
  }
}
