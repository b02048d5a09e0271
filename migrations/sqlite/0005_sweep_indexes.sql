-- Every periodic delete finds its rows through an index and takes a bounded batch (issue #20:
-- sweeps never scan).
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS refresh_token_rotations_expires_at_idx
    ON refresh_token_rotations (expires_at);
