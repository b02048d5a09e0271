-- OAuth 1.0a (Twitter, issue 19): the flow keeps the request token it got from the provider,
-- to compare with the `oauth_token` the callback brings, and that token's secret, which signs
-- the access-token request. The secret is sealed with the encryption key (bound to the flow's
-- state hash); the token itself travelled through the browser and is no secret. Both are NULL
-- for OAuth 2 and OpenID flows; `pkce_verifier` is empty for OAuth 1.0a, which has no PKCE.
ALTER TABLE auth.latchkey_provider_flows ADD COLUMN IF NOT EXISTS request_token text;
ALTER TABLE auth.latchkey_provider_flows ADD COLUMN IF NOT EXISTS request_token_secret text;
