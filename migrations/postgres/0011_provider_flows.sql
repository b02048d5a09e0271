-- Sign-in with an OAuth or OpenID provider (issue 19): one row per flow between the redirect to
-- the provider and its callback. The state sent to the provider names the row by its SHA-256,
-- so neither the provider's logs nor a database reader can finish a flow; the callback deletes
-- the row (single use) and must present the browser's cookie, whose hash is `browser_hash`.
-- Nhost signs the options into the state instead, connect token included.
CREATE TABLE IF NOT EXISTS auth.latchkey_provider_flows (
    state_hash text NOT NULL PRIMARY KEY,
    provider text NOT NULL REFERENCES auth.providers (id) ON DELETE CASCADE,
    browser_hash text NOT NULL,
    -- The sign-up options checked before leaving (allowedRoles, defaultRole, ...).
    options jsonb NOT NULL,
    pkce_verifier text NOT NULL,
    nonce text,
    -- `connect`: the signed-in user the provider account is to be linked to.
    connect_user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS latchkey_provider_flows_expires_at_idx
    ON auth.latchkey_provider_flows (expires_at);
