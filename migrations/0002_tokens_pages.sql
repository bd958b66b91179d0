-- v2: personal access tokens and campaign detail-page structures.

-- PATs: only the SHA-256 of the secret is stored; the secret is shown once.
CREATE TABLE tokens (
  token_id     TEXT PRIMARY KEY,
  handle       TEXT NOT NULL,
  name         TEXT NOT NULL,
  scopes_json  TEXT NOT NULL,
  secret_hash  TEXT NOT NULL UNIQUE,
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX tokens_by_handle ON tokens (handle, created_at);

-- One row per stored version of a campaign's detail structure; the object
-- itself lives in R2 at `object_key` and is never overwritten.
CREATE TABLE site_structures (
  handle      TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  version     INTEGER NOT NULL,
  object_key  TEXT NOT NULL,
  page_slug   TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (handle, campaign_id, version)
) WITHOUT ROWID;

-- Published detail pages: (handle, slug) → the published version, one lookup.
CREATE TABLE detail_pages (
  handle       TEXT NOT NULL,
  slug         TEXT NOT NULL,
  campaign_id  TEXT NOT NULL,
  version      INTEGER NOT NULL,
  object_key   TEXT NOT NULL,
  access       TEXT NOT NULL DEFAULT 'FREE_WITH_LOGIN',
  published_at INTEGER NOT NULL,
  PRIMARY KEY (handle, slug)
) WITHOUT ROWID;
CREATE UNIQUE INDEX detail_pages_by_campaign ON detail_pages (handle, campaign_id);
