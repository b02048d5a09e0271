-- TOTP multi-factor authentication (issue #18). The secret itself stays in Nhost's
-- auth.users.totp_secret (sealed with AUTH_ENCRYPTION_KEY); the mfaTotp: tickets live hashed
-- in auth.latchkey_one_time_codes (kind 'mfa-totp').
--
-- The last TOTP time step accepted at sign-in, per user: a code is accepted once, so a code
-- seen over a shoulder or phished in real time cannot sign in a second time (RFC 6238 5.2).
CREATE TABLE IF NOT EXISTS auth.latchkey_mfa (
    user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    last_totp_step bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
-- Single-use recovery codes (no Nhost version has them), only their SHA-256 hashes.
CREATE TABLE IF NOT EXISTS auth.latchkey_recovery_codes (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
