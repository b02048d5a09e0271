-- Every periodic delete finds its rows through an index and takes a bounded batch (issue #20:
-- sweeps never scan), and every write maintains as few indexes as that allows.
--
-- Refresh tokens are rotated in place, so their expiry does not follow their physical order:
-- a B-tree. The same for the per-user lookups (sign out everywhere, the cascade when a user is
-- deleted), which scanned the table.
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at_idx ON auth.refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS refresh_tokens_user_id_idx ON auth.refresh_tokens (user_id);
-- Remembered hashes and audit events are only appended, each later than the last, so a BRIN
-- index (a few pages, almost free to maintain) finds the old ones for the sweep.
CREATE INDEX IF NOT EXISTS refresh_token_rotations_expires_at_idx
    ON auth.refresh_token_rotations USING brin (expires_at);
DROP INDEX IF EXISTS auth.audit_log_created_at_idx;
CREATE INDEX IF NOT EXISTS audit_log_created_at_brin ON auth.audit_log USING brin (created_at);
-- (user_id, created_at DESC, id DESC) serves every lookup by user.
DROP INDEX IF EXISTS auth.audit_log_user_id_idx;
