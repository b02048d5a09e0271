-- Rate-limit counters shared by every replica: one row per bucket, client and window.
CREATE UNLOGGED TABLE IF NOT EXISTS auth.rate_limit_hits (
    bucket text NOT NULL,
    client text NOT NULL,
    window_start timestamptz NOT NULL,
    hits integer NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (bucket, client, window_start)
);
CREATE INDEX IF NOT EXISTS rate_limit_hits_expires_at_idx ON auth.rate_limit_hits (expires_at);
