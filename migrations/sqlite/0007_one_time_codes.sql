-- One-time sign-in codes and links (issue #17), as on PostgreSQL: one row per user and kind,
-- only a hash stored, guesses counted.
CREATE TABLE IF NOT EXISTS latchkey_one_time_codes (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE UNIQUE INDEX IF NOT EXISTS latchkey_one_time_codes_code_hash_idx
    ON latchkey_one_time_codes (code_hash);
CREATE INDEX IF NOT EXISTS latchkey_one_time_codes_expires_at_idx
    ON latchkey_one_time_codes (expires_at);
