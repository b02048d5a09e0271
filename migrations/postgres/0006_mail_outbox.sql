-- The mail outbox (issue #16): every mail is stored here, in the transaction that stores the
-- ticket it carries, before the first attempt; the row is deleted as soon as the mail server
-- takes the mail, or when the mail is given up. The headers and body hold a sign-in link.
CREATE TABLE IF NOT EXISTS auth.latchkey_mail_outbox (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    template text NOT NULL,
    mail_from text NOT NULL,
    rcpt_to text NOT NULL,
    subject text NOT NULL,
    headers jsonb NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    -- Due for a worker from then on; pushed forward while someone attempts it (a lease).
    next_attempt_at timestamptz NOT NULL,
    attempts integer NOT NULL,
    -- The last failure's kind and SMTP code, never the server's text (it can echo the address).
    last_error text
);
CREATE INDEX IF NOT EXISTS latchkey_mail_outbox_next_attempt_at_idx
    ON auth.latchkey_mail_outbox (next_attempt_at);
CREATE INDEX IF NOT EXISTS latchkey_mail_outbox_user_id_idx ON auth.latchkey_mail_outbox (user_id);
