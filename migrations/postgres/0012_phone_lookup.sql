-- Phone numbers stored by Nhost Auth (issue 17): upstream keeps a number exactly as it was
-- typed ("+33 6 12 34 56 78"), Latchkey in E.164. The SMS sign-in looks a number up by this
-- expression (the stored value without spaces, parentheses, dots and dashes, which is E.164
-- for both), so an upstream user signing in by SMS is found instead of getting a second
-- account. The expression must stay identical to `phone_digits!` in store/postgres/users.rs.
CREATE INDEX IF NOT EXISTS users_phone_number_digits_idx
    ON auth.users (translate(phone_number, ' ().-', ''));
