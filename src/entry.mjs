// The Worker's entry module (wrangler.toml `main`). It hands each event
// straight to the Rust exports that worker-build generated in build/index.js.
//
// Why not build/index.js's default export: that is a `WorkerEntrypoint`
// subclass behind a Proxy, constructed anew for every request, with a Proxy
// per method access. In a CPU profile of the redirect under workerd that
// machinery showed more self time than our whole Rust request path
// (bench/README.md). The plain module-syntax handlers below skip it.
//
// Panic recovery is kept: the Rust code builds with panic = "abort"; an abort
// marks the instance terminated and schedules a re-instantiation, which the
// wasm-bindgen glue in build/index.js performs on the next call, so the next
// visitor meets a fresh instance (tested: tests/e2e/cross/faults.test.mjs).
import Entrypoint, { CampaignRollup } from '../build/index.js';

// The prototype of the generated class: `fetch`, `queue`, `scheduled` call the
// wasm exports with `this.env` and `this.ctx`.
const rust = Entrypoint.prototype;

export { CampaignRollup };

// A panic aborts the wasm instance (`unreachable`, a WebAssembly.RuntimeError).
// The generated glue re-instantiates the module on the next call into it,
// but the Durable Object instances of this isolate (the rollup objects) still
// point into the old module: the first request to each afterwards hung. The
// glue's Durable Object wrapper re-creates an instance whose `instanceId` is
// behind the isolate's, so every panic bumps it: one caught here, and one the
// glue flagged as `criticalError` (a panic inside a microtask or a Durable
// Object), which is then cleared here rather than left to the glue, whose
// handling of it re-instantiates the module a second time, under requests
// already running on the first new instance.
const state = globalThis.__worker_init_state;
function critical(e) {
  if (e instanceof WebAssembly.RuntimeError && state) state.instanceId++;
  throw e;
}
function guarded(call) {
  if (state?.criticalError) {
    state.criticalError = false;
    state.instanceId++;
  }
  try {
    const r = call();
    return r instanceof Promise ? r.catch(critical) : r;
  } catch (e) {
    return critical(e);
  }
}

export default {
  fetch(request, env, ctx) {
    // A short link whose link and rules are in the isolate cache is answered
    // synchronously; anything else (API, dashboard, cache miss) goes to the
    // async Rust `fetch`.
    return guarded(() => rust.redirect_cached(request, env, ctx) ?? rust.fetch.call({ env, ctx }, request));
  },
  queue(batch, env, ctx) {
    return guarded(() => rust.queue.call({ env, ctx }, batch));
  },
  scheduled(event, env, ctx) {
    return guarded(() => rust.scheduled.call({ env, ctx }, event));
  },
};
