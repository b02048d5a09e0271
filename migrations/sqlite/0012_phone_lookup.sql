-- Phone numbers stored by Nhost Auth (issue 17), as on PostgreSQL: the SMS sign-in looks a
-- number up without the separators upstream kept ("+33 6 12 34 56 78"). The expression must
-- stay identical to `phone_digits!` in store/sqlite/users.rs.
CREATE INDEX IF NOT EXISTS users_phone_number_digits_idx
    ON users (replace(replace(replace(replace(replace(phone_number, ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''));
