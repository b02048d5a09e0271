-- Audit log: who (address, user agent) caused each security event, and indexes for
-- "my events, newest first" (GET /user/audit) and for the retention sweep.
ALTER TABLE audit_log ADD COLUMN ip TEXT;
ALTER TABLE audit_log ADD COLUMN user_agent TEXT;
CREATE INDEX IF NOT EXISTS audit_log_user_created_idx ON audit_log (user_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_created_at_idx ON audit_log (created_at);
