-- Every periodic delete finds its rows through an index and takes a bounded batch (issue #20:
-- sweeps never scan), and every write maintains as few indexes as that allows.
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at_idx ON auth.refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS refresh_token_rotations_expires_at_idx
    ON auth.refresh_token_rotations (expires_at);
-- The per-user lookups of refresh tokens (sign out everywhere, the cascade when a user is
-- deleted) scanned the table.
CREATE INDEX IF NOT EXISTS refresh_tokens_user_id_idx ON auth.refresh_tokens (user_id);
-- (user_id, created_at DESC, id DESC) serves every lookup by user.
DROP INDEX IF EXISTS auth.audit_log_user_id_idx;
