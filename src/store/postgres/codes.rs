//! One-time codes on PostgreSQL: each store, guess and redemption is one statement.

use async_trait::async_trait;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{CodeAttempt, CodeKind, NewCode, OutboxMail, Timestamp, UserId};
use crate::store::{CodeStore, StoreError, TicketRedemption, TicketSession};

// A small batch of expired codes through the expiry index, never the user's own (its row is
// replaced by the same statement). `$at`: the time, `$user`: the user.
macro_rules! sweep_delete {
    ($at:literal, $user:literal) => {
        concat!(
            "DELETE FROM auth.latchkey_one_time_codes WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM auth.latchkey_one_time_codes WHERE expires_at <= ",
            $at,
            " AND user_id <> ",
            $user,
            " LIMIT 16 FOR UPDATE SKIP LOCKED))"
        )
    };
}
/// The sweep on its own, for the plan test (`$1` the time; no user's code is spared).
pub(super) const SWEEP: &str = sweep_delete!("$1", "'00000000-0000-0000-0000-000000000000'::uuid");
// The code replaces the user's code of its kind, and its mail goes into the outbox only if
// the code was stored: one round trip, one commit.
const REPLACE: &str = concat!(
    "WITH swept AS (",
    sweep_delete!("$6", "$1"),
    "), stored AS (
        INSERT INTO auth.latchkey_one_time_codes
               (user_id, kind, address, code_hash, attempts, created_at, expires_at)
        SELECT id, $2, $3, $4, 0, $6, $5 FROM auth.users WHERE id = $1
        ON CONFLICT (user_id, kind) DO UPDATE
           SET address = EXCLUDED.address, code_hash = EXCLUDED.code_hash, attempts = 0,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
     RETURNING user_id
    ), queued AS (",
    super::outbox::insert_mail!("stored,", "$7"),
    ") SELECT count(*) FROM stored"
);
// The row lock makes concurrent guesses count one after the other.
const ATTEMPT: &str = "
    UPDATE auth.latchkey_one_time_codes SET attempts = attempts + 1
     WHERE user_id = $1 AND kind = $2 AND expires_at > $3 AND attempts < $4
 RETURNING code_hash, attempts";
// Taken, the address marked verified and the session stored together; the DELETE's row lock
// makes a concurrent redemption wait and then find nothing. An SMS code's address is E.164; a
// number Nhost stored as typed matches it without its separators, and is stored as E.164 by
// the same write that verifies it.
const REDEEM: &str = concat!(
    "
    WITH taken AS (
        DELETE FROM auth.latchkey_one_time_codes c USING auth.users u
         WHERE c.code_hash = $1 AND c.kind = $2 AND ($3::uuid IS NULL OR c.user_id = $3)
           AND c.expires_at > $4 AND u.id = c.user_id AND NOT u.disabled
           AND CASE WHEN $5 THEN u.email::text = c.address
                    ELSE ",
    super::users::phone_digits!("u.phone_number"),
    " = c.address END
     RETURNING c.user_id, c.address
    ), verified AS (
        UPDATE auth.users u
           SET email_verified = u.email_verified OR $5,
               phone_number_verified = u.phone_number_verified OR NOT $5,
               phone_number = CASE WHEN $5 THEN u.phone_number ELSE taken.address END,
               last_seen = $4
          FROM taken WHERE u.id = taken.user_id
    ), started AS (
        INSERT INTO auth.refresh_tokens (id, created_at, expires_at, user_id, type, refresh_token_hash)
        SELECT $6, $4, $7, user_id, 'regular', $8 FROM taken
    )
    SELECT user_id FROM taken"
);
const HELD_BY_DISABLED: &str = "
    SELECT EXISTS (SELECT 1 FROM auth.latchkey_one_time_codes c JOIN auth.users u ON u.id = c.user_id
                    WHERE c.code_hash = $1 AND c.kind = $2 AND c.expires_at > $3 AND u.disabled)";
const DELETE: &str = "DELETE FROM auth.latchkey_one_time_codes WHERE user_id = $1 AND kind = $2";

#[async_trait]
impl CodeStore for PgStore {
    async fn replace_code(
        &self,
        code: &NewCode,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError> {
        let stored: i64 = sqlx::query_scalar(REPLACE)
            .bind(code.user_id.as_uuid())
            .bind(code.kind.as_str())
            .bind(&code.address)
            .bind(&code.hash)
            .bind(code.expires_at)
            .bind(code.now)
            .bind(super::outbox::mail_json(mail))
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(stored > 0)
    }

    async fn attempt_code(
        &self,
        user_id: UserId,
        kind: CodeKind,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<CodeAttempt>, StoreError> {
        let row: Option<(String, i32)> = sqlx::query_as(ATTEMPT)
            .bind(user_id.as_uuid())
            .bind(kind.as_str())
            .bind(now)
            .bind(i64::from(max_attempts))
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.map(|(hash, attempts)| CodeAttempt {
            hash,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        }))
    }

    async fn redeem_code(
        &self,
        kind: CodeKind,
        user_id: Option<UserId>,
        hash: &str,
        session: &TicketSession,
    ) -> Result<TicketRedemption, StoreError> {
        let mut conn = self.conn().await?;
        let redeemed: Option<Uuid> = sqlx::query_scalar(REDEEM)
            .bind(hash)
            .bind(kind.as_str())
            .bind(user_id.map(|id| id.as_uuid()))
            .bind(session.now)
            .bind(kind.by_email())
            .bind(session.id.as_uuid())
            .bind(session.expires_at)
            .bind(&session.hash)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        if let Some(id) = redeemed {
            return Ok(TicketRedemption::Redeemed(UserId::from_uuid(id)));
        }
        let disabled: bool = sqlx::query_scalar(HELD_BY_DISABLED)
            .bind(hash)
            .bind(kind.as_str())
            .bind(session.now)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        Ok(if disabled {
            TicketRedemption::UserDisabled
        } else {
            TicketRedemption::Invalid
        })
    }

    async fn delete_code(&self, user_id: UserId, kind: CodeKind) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE)
            .bind(user_id.as_uuid())
            .bind(kind.as_str())
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }
}
