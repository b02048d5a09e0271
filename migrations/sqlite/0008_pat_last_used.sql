-- Personal access tokens (issue #18): when each was last used, as on PostgreSQL.
ALTER TABLE refresh_tokens ADD COLUMN last_used_at INTEGER;
