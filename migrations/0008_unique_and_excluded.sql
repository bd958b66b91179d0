-- v8: unique clicks and exclusion reasons.
--
-- `clicks.visitor`: the visitor key of a qualified click of a DIRECT link, an
-- HMAC of (client address, User-Agent, handle, slug) under that UTC day's
-- key. Neither the address nor the key is stored: the key lives in
-- `visitor_keys` for its own day only (the scheduled job deletes past days),
-- so after that day nobody can recompute a key from an address. The column
-- is what lets a rebuild reproduce unique clicks.
ALTER TABLE clicks ADD COLUMN visitor TEXT;

-- One random key per UTC day, shared by every isolate and location (D1 is
-- the one place all of them read the same value from, so one visitor hashes
-- alike everywhere and the count stays exact).
CREATE TABLE visitor_keys (
  day    INTEGER PRIMARY KEY, -- epoch ms of the UTC day's start
  secret TEXT NOT NULL
);

-- AGGREGATE_ONLY aggregates keep why their bot clicks were excluded: the
-- reason joins the key. Rows written before this migration knew only that a
-- click was a bot; they are counted under `user_agent`, the first reason the
-- classifier checks (a rebuild reports them so).
CREATE TABLE click_aggregates_v8 (
  handle      TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  hour        INTEGER NOT NULL,
  slug        TEXT NOT NULL,
  rule_id     TEXT NOT NULL DEFAULT '',
  country     TEXT NOT NULL,
  device      TEXT NOT NULL,
  source      TEXT NOT NULL,
  bot         INTEGER NOT NULL,
  bot_reason  TEXT NOT NULL DEFAULT '',
  clicks      INTEGER NOT NULL,
  last_ts     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (handle, campaign_id, hour, slug, rule_id, country, device, source, bot, bot_reason)
) WITHOUT ROWID;
INSERT INTO click_aggregates_v8
  SELECT handle, campaign_id, hour, slug, rule_id, country, device, source, bot,
         CASE WHEN bot = 1 THEN 'user_agent' ELSE '' END, clicks, last_ts
  FROM click_aggregates;
DROP TABLE click_aggregates;
ALTER TABLE click_aggregates_v8 RENAME TO click_aggregates;
