-- TOTP multi-factor authentication (issue #18), as on PostgreSQL: the last TOTP time step
-- accepted at sign-in per user, and single-use recovery codes stored hashed.
CREATE TABLE IF NOT EXISTS latchkey_mfa (
    user_id BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_totp_step INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS latchkey_recovery_codes (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
