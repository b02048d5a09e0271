-- The provider's tokens from a provider sign-in, kept for one retrieval by
-- GET /signin/provider/{provider}/callback/tokens (issue 19). The row belongs to the session
-- the sign-in created (its refresh-token family, the access token's `sid`), so only that
-- session can take it, once; signing out or a revoked family deletes it. `session` is the
-- provider session as JSON, sealed under the encryption key with the family id in its
-- context: a database reader learns nothing, and a sealed value moved to another row does
-- not open. Nhost keeps one row per user and provider in clear-text-decryptable form.
CREATE TABLE IF NOT EXISTS auth.latchkey_provider_sessions (
    refresh_token_id uuid NOT NULL REFERENCES auth.refresh_tokens (id) ON DELETE CASCADE,
    provider text NOT NULL REFERENCES auth.providers (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    session text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (refresh_token_id, provider)
);
CREATE INDEX IF NOT EXISTS latchkey_provider_sessions_expires_at_idx
    ON auth.latchkey_provider_sessions (expires_at);
CREATE INDEX IF NOT EXISTS latchkey_provider_sessions_user_id_idx
    ON auth.latchkey_provider_sessions (user_id);
