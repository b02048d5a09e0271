-- Personal access tokens (issue #18) are auth.refresh_tokens rows of type 'pat', as Nhost
-- stores them; Latchkey also records when each was last used, for GET /user/pats.
ALTER TABLE auth.refresh_tokens ADD COLUMN IF NOT EXISTS last_used_at timestamptz;
