-- edge-funnel ledger schema, v1. Never edit an applied migration: add a new one.
-- Times are epoch milliseconds (INTEGER); JSON columns hold serde_json text.

-- Campaigns: one row per (handle, campaignId). Status drives tracking.
CREATE TABLE campaigns (
  handle                TEXT NOT NULL,
  campaign_id           TEXT NOT NULL,
  name                  TEXT,
  goal_type             TEXT NOT NULL,
  status                TEXT NOT NULL CHECK (status IN ('DRAFT', 'ACTIVE', 'PAUSED')),
  tracking_preset       TEXT NOT NULL,
  conversion_event_type TEXT NOT NULL,
  currency              TEXT NOT NULL DEFAULT 'USD',
  primary_slug          TEXT,
  details_page_slug     TEXT,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  activated_at          INTEGER,
  PRIMARY KEY (handle, campaign_id)
) WITHOUT ROWID;
CREATE INDEX campaigns_by_status ON campaigns (handle, status, campaign_id);

-- Links: the short URL /{handle}/{slug}; tracking policy flattened into columns.
CREATE TABLE links (
  handle             TEXT NOT NULL,
  slug               TEXT NOT NULL,
  destination_url    TEXT NOT NULL,
  campaign_id        TEXT,
  mode               TEXT NOT NULL CHECK (mode IN ('DIRECT', 'AGGREGATE_ONLY', 'OFF')),
  append_context     INTEGER NOT NULL DEFAULT 0,
  context_param_name TEXT NOT NULL DEFAULT 'ctx',
  forward_query      INTEGER NOT NULL DEFAULT 1,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  PRIMARY KEY (handle, slug)
) WITHOUT ROWID;
CREATE INDEX links_by_campaign ON links (handle, campaign_id, slug);

-- Personalization rules; `when_json` is the validated condition object.
CREATE TABLE rules (
  handle          TEXT NOT NULL,
  rule_id         TEXT NOT NULL,
  enabled         INTEGER NOT NULL,
  priority        INTEGER NOT NULL,
  when_json       TEXT NOT NULL,
  variant_id      TEXT NOT NULL,
  variant_url     TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (handle, rule_id)
) WITHOUT ROWID;

-- The click ledger (DIRECT links of ACTIVE campaigns). No IP is ever stored.
CREATE TABLE clicks (
  click_id      TEXT PRIMARY KEY,
  handle        TEXT NOT NULL,
  slug          TEXT NOT NULL,
  campaign_id   TEXT NOT NULL,
  rule_id       TEXT,
  variant_id    TEXT,
  country       TEXT NOT NULL,
  device        TEXT NOT NULL,
  source        TEXT NOT NULL,
  referrer_host TEXT,
  segment       TEXT NOT NULL,
  bot           INTEGER NOT NULL,
  bot_reason    TEXT,
  ts            INTEGER NOT NULL
);
CREATE INDEX clicks_by_campaign ON clicks (handle, campaign_id, ts);

-- AGGREGATE_ONLY links keep no per-click row: only hourly counts per dimension
-- set, enough to rebuild a rollup, never enough to single out a visitor.
CREATE TABLE click_aggregates (
  handle      TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  hour        INTEGER NOT NULL,
  slug        TEXT NOT NULL,
  rule_id     TEXT NOT NULL DEFAULT '',
  country     TEXT NOT NULL,
  device      TEXT NOT NULL,
  source      TEXT NOT NULL,
  bot         INTEGER NOT NULL,
  clicks      INTEGER NOT NULL,
  PRIMARY KEY (handle, campaign_id, hour, slug, rule_id, country, device, source, bot)
) WITHOUT ROWID;

-- Conversions (live and test). Attribution columns are copied from the click.
CREATE TABLE conversions (
  conversion_id TEXT PRIMARY KEY,
  handle        TEXT NOT NULL,
  campaign_id   TEXT NOT NULL,
  click_id      TEXT,
  slug          TEXT,
  rule_id       TEXT,
  country       TEXT,
  device        TEXT,
  source        TEXT,
  segment       TEXT,
  event_type    TEXT NOT NULL,
  value_cents   INTEGER,
  currency      TEXT NOT NULL,
  order_id      TEXT,
  occurred_at   INTEGER NOT NULL,
  metadata_json TEXT NOT NULL DEFAULT '{}',
  test          INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
);
CREATE INDEX conversions_by_campaign ON conversions (handle, campaign_id, created_at);

-- Idempotency records: (handle, key) is claimed by the first request; repeats
-- with the same body hash replay `response_json`, others get 409.
CREATE TABLE idempotency (
  handle        TEXT NOT NULL,
  idem_key      TEXT NOT NULL,
  body_hash     TEXT NOT NULL,
  conversion_id TEXT NOT NULL,
  status        INTEGER NOT NULL,
  response_json TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (handle, idem_key)
) WITHOUT ROWID;
