-- Every periodic delete finds its rows through an index and takes a bounded batch (issue #20:
-- sweeps never scan), and every write maintains as few indexes as that allows.
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS refresh_token_rotations_expires_at_idx
    ON refresh_token_rotations (expires_at);
-- (user_id, created_at DESC, id DESC) serves every lookup by user.
DROP INDEX IF EXISTS audit_log_user_id_idx;
