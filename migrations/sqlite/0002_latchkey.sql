-- Latchkey's additions beside the Nhost tables (same numbering as migrations/postgres).
ALTER TABLE user_security_keys ADD COLUMN aaguid BLOB;
ALTER TABLE user_security_keys ADD COLUMN backup_eligible INTEGER;
ALTER TABLE user_security_keys ADD COLUMN backup_state INTEGER;
ALTER TABLE user_security_keys ADD COLUMN user_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_security_keys ADD COLUMN attestation_format TEXT;
ALTER TABLE user_security_keys ADD COLUMN created_at INTEGER;
ALTER TABLE user_security_keys ADD COLUMN last_used_at INTEGER;
CREATE INDEX IF NOT EXISTS user_security_keys_user_id_idx ON user_security_keys (user_id);

CREATE TABLE IF NOT EXISTS webauthn_challenges (
    challenge TEXT NOT NULL PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    rp_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);

CREATE TABLE IF NOT EXISTS refresh_token_rotations (
    refresh_token_hash TEXT NOT NULL PRIMARY KEY,
    refresh_token_id BLOB NOT NULL REFERENCES refresh_tokens (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL,
    rotated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_token_rotations_token_idx ON refresh_token_rotations (refresh_token_id);

CREATE TABLE IF NOT EXISTS latchkey_settings (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_log (
    id BLOB NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    event TEXT NOT NULL,
    user_id BLOB,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_user_id_idx ON audit_log (user_id);
