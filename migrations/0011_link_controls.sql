-- Link controls (SPEC §11): expiry with an optional fallback URL, and a
-- password stored only as `pbkdf2-sha256$<iterations>$<salt>$<hash>`.
ALTER TABLE links ADD COLUMN expires_at INTEGER;
ALTER TABLE links ADD COLUMN expired_url TEXT;
ALTER TABLE links ADD COLUMN password_hash TEXT;
