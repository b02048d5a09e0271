-- Nhost Auth's `auth` schema, created only where it is missing, so Latchkey can be pointed at a
-- database that upstream Nhost Auth (or Hasura) already uses. Table and column names are Nhost's.
CREATE SCHEMA IF NOT EXISTS auth;
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                    WHERE n.nspname = 'auth' AND t.typname = 'email') THEN
        CREATE DOMAIN auth.email AS public.citext
            CHECK (value ~ '^[a-zA-Z0-9.!#$%&''*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION auth.set_current_timestamp_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE _new record;
BEGIN
    _new := new;
    _new."updated_at" = now();
    RETURN _new;
END;
$$;

CREATE TABLE IF NOT EXISTS auth.roles (
    role text NOT NULL PRIMARY KEY
);
INSERT INTO auth.roles (role) VALUES ('user'), ('anonymous'), ('me') ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS auth.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    last_seen timestamptz,
    disabled boolean DEFAULT false NOT NULL,
    display_name text DEFAULT '' NOT NULL,
    avatar_url text DEFAULT '' NOT NULL,
    locale varchar(3) NOT NULL,
    email auth.email,
    phone_number text,
    password_hash text,
    email_verified boolean DEFAULT false NOT NULL,
    phone_number_verified boolean DEFAULT false NOT NULL,
    new_email auth.email,
    otp_method_last_used text,
    otp_hash text,
    otp_hash_expires_at timestamptz DEFAULT now() NOT NULL,
    default_role text DEFAULT 'user' NOT NULL,
    is_anonymous boolean DEFAULT false NOT NULL,
    totp_secret text,
    active_mfa_type text,
    ticket text,
    ticket_expires_at timestamptz DEFAULT now() NOT NULL,
    metadata jsonb,
    webauthn_current_challenge text,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_phone_number_key UNIQUE (phone_number),
    CONSTRAINT active_mfa_types_check CHECK (active_mfa_type = 'totp' OR active_mfa_type = 'sms'),
    CONSTRAINT fk_default_role FOREIGN KEY (default_role) REFERENCES auth.roles (role)
        ON UPDATE CASCADE ON DELETE RESTRICT
);

DROP TRIGGER IF EXISTS set_auth_users_updated_at ON auth.users;
CREATE TRIGGER set_auth_users_updated_at BEFORE UPDATE ON auth.users
    FOR EACH ROW EXECUTE FUNCTION auth.set_current_timestamp_updated_at();

CREATE TABLE IF NOT EXISTS auth.user_roles (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamptz DEFAULT now() NOT NULL,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    role text NOT NULL REFERENCES auth.roles (role) ON UPDATE CASCADE ON DELETE RESTRICT,
    CONSTRAINT user_roles_user_id_role_key UNIQUE (user_id, role)
);

CREATE TABLE IF NOT EXISTS auth.providers (
    id text NOT NULL PRIMARY KEY
);
INSERT INTO auth.providers (id) VALUES
    ('github'), ('facebook'), ('twitter'), ('google'), ('apple'), ('linkedin'), ('windowslive'),
    ('spotify'), ('strava'), ('gitlab'), ('bitbucket'), ('discord'), ('twitch'), ('workos'),
    ('azuread'), ('entraid')
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS auth.user_providers (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    access_token text NOT NULL,
    refresh_token text,
    provider_id text NOT NULL REFERENCES auth.providers (id) ON UPDATE CASCADE ON DELETE RESTRICT,
    provider_user_id text NOT NULL,
    CONSTRAINT user_providers_provider_id_provider_user_id_key UNIQUE (provider_id, provider_user_id)
);

CREATE TABLE IF NOT EXISTS auth.provider_requests (
    id uuid NOT NULL PRIMARY KEY,
    options jsonb
);

CREATE TABLE IF NOT EXISTS auth.refresh_token_types (
    value text NOT NULL PRIMARY KEY,
    comment text
);
INSERT INTO auth.refresh_token_types (value, comment) VALUES
    ('regular', 'Regular refresh token'), ('pat', 'Personal access token')
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS auth.refresh_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamptz DEFAULT now() NOT NULL,
    expires_at timestamptz NOT NULL,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    metadata jsonb,
    type text DEFAULT 'regular' NOT NULL,
    refresh_token_hash varchar(255),
    CONSTRAINT refresh_tokens_types_fkey FOREIGN KEY (type) REFERENCES auth.refresh_token_types (value)
        ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS refresh_tokens_refresh_token_hash_expires_at_user_id_idx
    ON auth.refresh_tokens (refresh_token_hash, expires_at, user_id);

CREATE TABLE IF NOT EXISTS auth.user_security_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
    credential_id text NOT NULL,
    credential_public_key bytea,
    counter bigint DEFAULT 0 NOT NULL,
    transports varchar(255) DEFAULT '' NOT NULL,
    nickname text,
    CONSTRAINT user_security_key_credential_id_key UNIQUE (credential_id)
);
