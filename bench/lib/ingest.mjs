// Section 4: rollup ingest. Tracked redirects into one campaign at rising
// offered load (wrk connections 1, 2, 4, …), each step measured as
//   302s per second (what visitors got) vs rollup `clicks` growth per second
//   over the step (what the funnel saw), the backlog left when the step ends,
//   clicks lost after it drained, and failures in the worker log.
// The sustained rate is the best rollup growth of a step with no error, no
// loss and a backlog that drained within a few seconds.
import { client, seedCampaign, funnel, waitSettled } from './app.mjs';
import { log } from './env.mjs';
import { startDirect, errorLines } from './serve.mjs';
import { wrk } from './wrk.mjs';

const CAMPAIGN = 'ingest';

async function step(server, c, path, connections, seconds) {
  const since = Date.now();
  const f0 = (await funnel(c, CAMPAIGN)).clicks;
  const r = await wrk(server.base + path, {
    seconds,
    connections,
    threads: Math.min(2, connections),
    script: 'clicks.lua',
    env: { BENCH_PATH: path, BENCH_LIMIT: '0', BENCH_THREADS: String(Math.min(2, connections)) },
  });
  const endAt = Date.now();
  const fEnd = (await funnel(c, CAMPAIGN)).clicks;
  const settled = await waitSettled(c, CAMPAIGN, { quietMs: 3000, timeoutMs: 120_000 });
  const got302 = r.requests - r.non2xx3xx;
  // In-flight requests cut off when wrk stops may still be recorded: only a
  // shortfall counts as loss.
  const lost = Math.max(0, got302 - (settled.clicks - f0));
  const errors = errorLines(server, since);
  return {
    connections,
    rps302: got302 / r.seconds,
    rollupPerSec: (fEnd - f0) / ((endAt - since) / 1000),
    backlog: Math.max(0, settled.clicks - fEnd),
    drainSeconds: Math.max(0, (settled.settledAfterMs - 3000) / 1000),
    lost,
    non302: r.non2xx3xx + r.socketErrors,
    workerErrors: errors.length,
    firstError: errors[0]?.message?.slice(0, 200),
    p50: r.p50,
    p99: r.p99,
  };
}

export async function ingestShards(ws, secret, shards, cfg) {
  const server = await startDirect(ws.app, {
    vars: { JWT_SECRET: secret, ROLLUP_SHARDS: String(shards) },
    migrations: true,
    readyPath: '/healthz',
    assets: false,
  });
  try {
    const c = client(server.base, secret);
    const path = await seedCampaign(c, { campaignId: CAMPAIGN, slug: CAMPAIGN });
    // Warm the isolate (link/rules cache, rollup objects) before the first step.
    await wrk(server.base + path, { seconds: 2, connections: 2, threads: 1, script: 'clicks.lua', env: { BENCH_PATH: path } });
    await waitSettled(c, CAMPAIGN, { quietMs: 2000 });
    const steps = [];
    for (const connections of cfg.ingestConnections) {
      const s = await step(server, c, path, connections, cfg.ingestSeconds);
      steps.push(s);
      log(`ingest shards=${shards} c=${connections}: ${s.rps302.toFixed(0)} 302/s, rollup +${s.rollupPerSec.toFixed(0)}/s, backlog ${s.backlog} (drained ${s.drainSeconds.toFixed(1)} s), lost ${s.lost}, errors ${s.non302 + s.workerErrors}`);
      if (s.lost > 0 || s.non302 > 0 || s.workerErrors > 0) break;
    }
    const clean = steps.filter((s) => !s.lost && !s.non302 && !s.workerErrors && s.drainSeconds <= cfg.ingestMaxDrainSeconds);
    const best = clean.reduce((a, s) => (!a || s.rollupPerSec > a.rollupPerSec ? s : a), undefined);
    const firstBad = steps.find((s) => !clean.includes(s));
    return { shards, steps, sustained: best?.rollupPerSec ?? 0, at: best, firstBad };
  } finally {
    await server.stop();
  }
}
