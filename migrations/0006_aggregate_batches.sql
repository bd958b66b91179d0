-- v6: which writes of AGGREGATE_ONLY increments committed. An increment is
-- not idempotent by itself (it adds), so each write carries an id — a batch's
-- random id, or `c:{clickId}` for a click written on its own — claimed in the
-- same transaction as its increments, which only apply while neither the id
-- nor the batch the click first belonged to is claimed. A retry after D1
-- reported a failure but had committed then adds nothing. Ids are ids, not
-- visitor data; the daily job drops them after 7 days (replays give up after
-- about 3 hours).
CREATE TABLE aggregate_writes (
  write_id   TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE INDEX aggregate_writes_by_age ON aggregate_writes (created_at);
