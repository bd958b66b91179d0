-- v13: webhook subscriptions can be disabled (410 Gone, or 20 events in a
-- row that exhausted their tries) and re-enabled; logged deliveries keep the
-- exact body they sent so they can be redelivered.

ALTER TABLE webhooks ADD COLUMN disabled_at INTEGER;
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
-- Events in a row that exhausted all their tries; a delivered try resets it.
ALTER TABLE webhooks ADD COLUMN failure_streak INTEGER NOT NULL DEFAULT 0;

-- The body sent (identical on every try of an event); NULL for rows logged
-- before v13, which cannot be redelivered.
ALTER TABLE webhook_deliveries ADD COLUMN body TEXT;
-- A manual redelivery names the logged delivery it resent.
ALTER TABLE webhook_deliveries ADD COLUMN redelivery_of TEXT;
