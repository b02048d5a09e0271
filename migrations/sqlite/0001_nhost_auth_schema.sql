-- The tables of Nhost Auth's `auth` schema, mirrored for the embedded SQLite store.
-- Types are SQLite's: uuids are 16-byte BLOBs, timestamps INTEGER Unix milliseconds
-- (comparable in SQL, unlike variable-width text), JSON is TEXT, emails compare case-insensitively.
CREATE TABLE IF NOT EXISTS roles (
    role TEXT NOT NULL PRIMARY KEY
);
INSERT INTO roles (role) VALUES ('user'), ('anonymous'), ('me') ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS users (
    id BLOB NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_seen INTEGER,
    disabled INTEGER NOT NULL DEFAULT 0,
    display_name TEXT NOT NULL DEFAULT '',
    avatar_url TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL,
    email TEXT COLLATE NOCASE UNIQUE,
    phone_number TEXT UNIQUE,
    password_hash TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    phone_number_verified INTEGER NOT NULL DEFAULT 0,
    new_email TEXT COLLATE NOCASE,
    otp_method_last_used TEXT,
    otp_hash TEXT,
    otp_hash_expires_at INTEGER NOT NULL DEFAULT 0,
    default_role TEXT NOT NULL DEFAULT 'user' REFERENCES roles (role) ON UPDATE CASCADE ON DELETE RESTRICT,
    is_anonymous INTEGER NOT NULL DEFAULT 0,
    totp_secret TEXT,
    active_mfa_type TEXT CHECK (active_mfa_type IN ('totp', 'sms')),
    ticket TEXT,
    ticket_expires_at INTEGER NOT NULL DEFAULT 0,
    metadata TEXT,
    webauthn_current_challenge TEXT
);

CREATE TABLE IF NOT EXISTS user_roles (
    id BLOB NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    role TEXT NOT NULL REFERENCES roles (role) ON UPDATE CASCADE ON DELETE RESTRICT,
    UNIQUE (user_id, role)
);

CREATE TABLE IF NOT EXISTS providers (
    id TEXT NOT NULL PRIMARY KEY
);
INSERT INTO providers (id) VALUES
    ('github'), ('facebook'), ('twitter'), ('google'), ('apple'), ('linkedin'), ('windowslive'),
    ('spotify'), ('strava'), ('gitlab'), ('bitbucket'), ('discord'), ('twitch'), ('workos'),
    ('azuread'), ('entraid')
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS user_providers (
    id BLOB NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    access_token TEXT NOT NULL,
    refresh_token TEXT,
    provider_id TEXT NOT NULL REFERENCES providers (id) ON UPDATE CASCADE ON DELETE RESTRICT,
    provider_user_id TEXT NOT NULL,
    UNIQUE (provider_id, provider_user_id)
);

CREATE TABLE IF NOT EXISTS provider_requests (
    id BLOB NOT NULL PRIMARY KEY,
    options TEXT
);

CREATE TABLE IF NOT EXISTS refresh_token_types (
    value TEXT NOT NULL PRIMARY KEY,
    comment TEXT
);
INSERT INTO refresh_token_types (value, comment) VALUES
    ('regular', 'Regular refresh token'), ('pat', 'Personal access token')
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS refresh_tokens (
    id BLOB NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    metadata TEXT,
    type TEXT NOT NULL DEFAULT 'regular' REFERENCES refresh_token_types (value),
    refresh_token_hash TEXT
);
CREATE INDEX IF NOT EXISTS refresh_tokens_hash_idx ON refresh_tokens (refresh_token_hash, expires_at, user_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE IF NOT EXISTS user_security_keys (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    credential_public_key BLOB,
    counter INTEGER NOT NULL DEFAULT 0,
    transports TEXT NOT NULL DEFAULT '',
    nickname TEXT
);
