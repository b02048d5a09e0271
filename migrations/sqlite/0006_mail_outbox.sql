-- The mail outbox (issue #16), as on PostgreSQL: stored with the ticket it carries, deleted
-- once the mail server takes the mail or it is given up. Headers are a JSON array of pairs.
CREATE TABLE IF NOT EXISTS latchkey_mail_outbox (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    template TEXT NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt_to TEXT NOT NULL,
    subject TEXT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS latchkey_mail_outbox_next_attempt_at_idx
    ON latchkey_mail_outbox (next_attempt_at);
CREATE INDEX IF NOT EXISTS latchkey_mail_outbox_user_id_idx ON latchkey_mail_outbox (user_id);
