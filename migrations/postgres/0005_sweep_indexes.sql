-- Every periodic delete finds its rows through an index and takes a bounded batch (issue #20:
-- sweeps never scan). Also the per-user lookups of refresh tokens (sign out everywhere, the
-- cascade when a user is deleted), which scanned the table.
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at_idx ON auth.refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS refresh_tokens_user_id_idx ON auth.refresh_tokens (user_id);
CREATE INDEX IF NOT EXISTS refresh_token_rotations_expires_at_idx
    ON auth.refresh_token_rotations (expires_at);
