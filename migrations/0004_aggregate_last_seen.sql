-- v4: AGGREGATE_ONLY aggregates keep the time of their latest click, so a
-- rollup rebuilt from the ledger reports the same lastSeenAt as the live one.
ALTER TABLE click_aggregates ADD COLUMN last_ts INTEGER NOT NULL DEFAULT 0;
