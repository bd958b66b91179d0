-- v3: webhook subscriptions and their delivery log.

-- The signing secret must be readable to sign deliveries, so it is stored;
-- it is only ever returned once, at creation.
CREATE TABLE webhooks (
  webhook_id  TEXT PRIMARY KEY,
  handle      TEXT NOT NULL,
  url         TEXT NOT NULL,
  events_json TEXT NOT NULL,
  secret      TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  deleted_at  INTEGER
);
CREATE INDEX webhooks_by_handle ON webhooks (handle, webhook_id);

-- One row per delivery try: what was sent, what came back, how long it took.
CREATE TABLE webhook_deliveries (
  delivery_id     TEXT PRIMARY KEY,
  webhook_id      TEXT NOT NULL,
  handle          TEXT NOT NULL,
  event_id        TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  outcome         TEXT NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed', 'cancelled')),
  response_status INTEGER,
  latency_ms      INTEGER NOT NULL,
  error           TEXT,
  next_attempt_at INTEGER,
  created_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at, delivery_id);
