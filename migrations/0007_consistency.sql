-- v7: reading the ledger's totals per campaign for the rollup consistency
-- check, with one indexed aggregate query per table whatever the number of
-- clicks (covering indexes: the rows themselves are never read), and the
-- daily reconciliation's last result per campaign.
CREATE INDEX clicks_by_campaign_bot ON clicks (handle, campaign_id, bot);
CREATE INDEX conversions_totals ON conversions (handle, campaign_id, test, currency, value_cents);
CREATE INDEX rollup_outbox_by_campaign ON rollup_outbox (handle, campaign_id);

-- The last reconciliation of each campaign (rollup totals vs ledger totals).
CREATE TABLE reconciliations (
  handle      TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  checked_at  INTEGER NOT NULL,
  status      TEXT NOT NULL,   -- PASS | WARN
  detail      TEXT NOT NULL,
  PRIMARY KEY (handle, campaign_id)
) WITHOUT ROWID;

-- One row per UTC day on which the daily reconciliation ran.
CREATE TABLE reconciliation_runs (
  day        INTEGER PRIMARY KEY, -- epoch ms of the day's start
  started_at INTEGER NOT NULL,
  campaigns  INTEGER NOT NULL DEFAULT 0
);
