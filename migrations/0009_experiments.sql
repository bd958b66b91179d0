-- v9: experiments — one link's traffic split between weighted destinations.
CREATE TABLE experiments (
  handle          TEXT NOT NULL,
  experiment_id   TEXT NOT NULL,
  slug            TEXT NOT NULL,
  campaign_id     TEXT NOT NULL,   -- the link's campaign when the experiment was written
  status          TEXT NOT NULL,   -- DRAFT | RUNNING | STOPPED | CONCLUDED
  variants_json   TEXT NOT NULL,   -- [{id, destinationUrl, weight}]
  min_qualified   INTEGER NOT NULL,
  auto_promote    INTEGER NOT NULL,
  winner          TEXT,            -- set when CONCLUDED: all traffic goes there
  concluded_at    INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (handle, experiment_id)
) WITHOUT ROWID;
-- At most one RUNNING experiment per link (the database refuses a second).
CREATE UNIQUE INDEX experiments_running ON experiments (handle, slug) WHERE status = 'RUNNING';
CREATE INDEX experiments_by_slug ON experiments (handle, slug, updated_at);

-- Clicks and conversions carry the experiment their visitor was assigned to
-- (the variant id goes in the existing variant_id column of clicks).
ALTER TABLE clicks ADD COLUMN experiment_id TEXT;
ALTER TABLE conversions ADD COLUMN experiment_id TEXT;
ALTER TABLE conversions ADD COLUMN variant_id TEXT;
