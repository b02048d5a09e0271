-- OAuth 1.0a (Twitter, issue 19), as on PostgreSQL: the request token, and its secret sealed
-- with the encryption key; NULL for OAuth 2 and OpenID flows.
ALTER TABLE latchkey_provider_flows ADD COLUMN request_token TEXT;
ALTER TABLE latchkey_provider_flows ADD COLUMN request_token_secret TEXT;
