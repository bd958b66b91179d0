//! # edge-funnel
//!
//! Short links, personalization and campaign funnels on Cloudflare Workers.
//!
//! ## Layout
//!
//! - [`core`] — the pure logic. It never imports `worker`, so every piece of it
//!   is unit-tested and benchmarked natively:
//!   - `ids` — validated identifiers (`Handle`, `Slug`, `CampaignId`, `RuleId`) and
//!     generated ones (`ClickId`, `cmp_…`).
//!   - `dest` — `DestinationUrl` and the final redirect URL (forwarded query, context
//!     parameter).
//!   - `campaign`, `link`, `rules`, `conversion` — request bodies parsed into domain types,
//!     lifecycle transitions, rule evaluation and explanation.
//!   - `classify` — device, source, segment and bot classification of a visitor.
//!   - `funnel` — rollup snapshots, breakdown ordering, conversion rate and the Wilson
//!     confidence figure.
//!   - `auth` — HS256 JWT verification, roles, PAT scopes.
//!   - `route` — the route table: every route, its method, minimum role and scope
//!     (and what a branded host serves).
//!   - `host`, `qr` — branded host names; a link's QR code rendered as SVG.
//!   - `error` — `ApiError`, the one error type, mapped to the JSON envelope.
//!   - `json`, `time` — small helpers for bodies and RFC 3339 timestamps.
//! - `edge` (wasm32 only) — the Workers layer: the fetch entry point, one module per
//!   API resource, the D1 gateway, the `CampaignRollup` Durable Object. It translates
//!   between HTTP/storage and the core, and holds no business rules of its own.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod edge;
