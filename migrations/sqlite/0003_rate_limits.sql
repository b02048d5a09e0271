-- Rate-limit counters: one row per bucket, client and window (same numbering as PostgreSQL).
CREATE TABLE IF NOT EXISTS rate_limit_hits (
    bucket TEXT NOT NULL,
    client TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (bucket, client, window_start)
);
CREATE INDEX IF NOT EXISTS rate_limit_hits_expires_at_idx ON rate_limit_hits (expires_at);
