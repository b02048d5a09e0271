-- One-time sign-in codes and links (issue #17): magic links, e-mail codes and SMS codes. One
-- row per user and kind, so a new request replaces the earlier code of its kind and never a
-- pending ticket of another kind (Nhost keeps them all in auth.users.ticket). Only a hash is
-- stored; `attempts` counts guesses, shared by every replica.
CREATE TABLE IF NOT EXISTS auth.latchkey_one_time_codes (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    -- The e-mail address or phone number the code was sent to: it redeems only while the
    -- user still has that address.
    address text NOT NULL,
    code_hash text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE UNIQUE INDEX IF NOT EXISTS latchkey_one_time_codes_code_hash_idx
    ON auth.latchkey_one_time_codes (code_hash);
CREATE INDEX IF NOT EXISTS latchkey_one_time_codes_expires_at_idx
    ON auth.latchkey_one_time_codes (expires_at);
