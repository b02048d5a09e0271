-- The provider's tokens from a provider sign-in, as on PostgreSQL: sealed, bound to the
-- session (refresh-token family) the sign-in created, taken once.
CREATE TABLE IF NOT EXISTS latchkey_provider_sessions (
    refresh_token_id BLOB NOT NULL REFERENCES refresh_tokens (id) ON DELETE CASCADE,
    provider TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (refresh_token_id, provider)
);
CREATE INDEX IF NOT EXISTS latchkey_provider_sessions_expires_at_idx
    ON latchkey_provider_sessions (expires_at);
CREATE INDEX IF NOT EXISTS latchkey_provider_sessions_user_id_idx
    ON latchkey_provider_sessions (user_id);
