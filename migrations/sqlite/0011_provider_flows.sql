-- Sign-in with an OAuth or OpenID provider (issue 19), as on PostgreSQL: one single-use row
-- per flow, named by the SHA-256 of its state and bound to the browser's cookie.
CREATE TABLE IF NOT EXISTS latchkey_provider_flows (
    state_hash TEXT NOT NULL PRIMARY KEY,
    provider TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    browser_hash TEXT NOT NULL,
    options TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT,
    connect_user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS latchkey_provider_flows_expires_at_idx
    ON latchkey_provider_flows (expires_at);
