-- v5: rollup events that could not be applied (the rollup object was down)
-- wait here, already in the ledger, until a drain applies them. Applying is
-- idempotent by event id, so a drain racing a late success is harmless.
CREATE TABLE rollup_outbox (
  event_id    TEXT PRIMARY KEY,
  handle      TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  event_json  TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX rollup_outbox_by_age ON rollup_outbox (created_at);
