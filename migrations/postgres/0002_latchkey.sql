-- Latchkey's additions beside Nhost's tables. Columns added to user_security_keys are nullable
-- or defaulted, so upstream Nhost Auth keeps working against the same database.
ALTER TABLE auth.user_security_keys
    ADD COLUMN IF NOT EXISTS aaguid uuid,
    ADD COLUMN IF NOT EXISTS backup_eligible boolean,
    ADD COLUMN IF NOT EXISTS backup_state boolean,
    ADD COLUMN IF NOT EXISTS user_verified boolean DEFAULT false NOT NULL,
    ADD COLUMN IF NOT EXISTS attestation_format text,
    ADD COLUMN IF NOT EXISTS created_at timestamptz DEFAULT now(),
    ADD COLUMN IF NOT EXISTS last_used_at timestamptz;
CREATE INDEX IF NOT EXISTS user_security_keys_user_id_idx ON auth.user_security_keys (user_id);

-- Pending WebAuthn ceremonies: shared by every replica, taken (deleted) exactly once.
CREATE TABLE IF NOT EXISTS auth.webauthn_challenges (
    challenge text NOT NULL PRIMARY KEY,
    purpose text NOT NULL,
    user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE,
    rp_id text NOT NULL,
    state text NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS webauthn_challenges_expires_at_idx ON auth.webauthn_challenges (expires_at);

-- Hashes a refresh token had before rotation: presenting one again means the token leaked,
-- so the whole family (the refresh_tokens row) is revoked.
CREATE TABLE IF NOT EXISTS auth.refresh_token_rotations (
    refresh_token_hash varchar(255) NOT NULL PRIMARY KEY,
    refresh_token_id uuid NOT NULL REFERENCES auth.refresh_tokens (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    rotated_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_token_rotations_token_idx ON auth.refresh_token_rotations (refresh_token_id);

-- Server settings that every replica must agree on, e.g. the generated development JWT key.
CREATE TABLE IF NOT EXISTS auth.latchkey_settings (
    name text NOT NULL PRIMARY KEY,
    value text NOT NULL
);

-- Security events (clone suspicion, token reuse) for operators and alerts.
CREATE TABLE IF NOT EXISTS auth.audit_log (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamptz DEFAULT now() NOT NULL,
    event text NOT NULL,
    user_id uuid,
    detail jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_user_id_idx ON auth.audit_log (user_id);
