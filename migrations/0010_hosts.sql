-- v10: branded hosts — a DNS name a handle claims, so that https://{host}/{slug}
-- resolves the handle's link {slug} (the redirect looks the host up, cached per
-- isolate like links). A host belongs to one handle at most: the primary key
-- makes a second claim fail (409 host_taken).
CREATE TABLE hosts (
  host        TEXT NOT NULL PRIMARY KEY,  -- lower-case DNS name (core::host::Host)
  handle      TEXT NOT NULL,
  created_at  INTEGER NOT NULL            -- epoch ms of the claim; a handle's earliest
                                          -- claim is the host of its shortUrls
) WITHOUT ROWID;
-- A handle's hosts in claim order (the list, the shortUrl host).
CREATE INDEX hosts_by_handle ON hosts (handle, created_at, host);
