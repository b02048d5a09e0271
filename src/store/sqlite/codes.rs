//! One-time codes on SQLite: BEGIN IMMEDIATE serialises writers, so a guess is counted and a
//! code taken by one caller at a time.

use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{BEGIN_WRITE, SqliteStore, db, millis};
use crate::model::{CodeAttempt, CodeKind, NewCode, OutboxMail, Timestamp, UserId};
use crate::store::{CodeStore, NewRefreshToken, StoreError, TicketRedemption, TicketSession};

const SWEEP: &str = "
    DELETE FROM latchkey_one_time_codes WHERE rowid IN (
        SELECT rowid FROM latchkey_one_time_codes WHERE expires_at <= $1 AND user_id <> $2 LIMIT 16)";
const REPLACE: &str = "
    INSERT INTO latchkey_one_time_codes
           (user_id, kind, address, code_hash, attempts, created_at, expires_at)
    SELECT id, $2, $3, $4, 0, $6, $5 FROM users WHERE id = $1
    ON CONFLICT (user_id, kind) DO UPDATE
       SET address = excluded.address, code_hash = excluded.code_hash, attempts = 0,
           created_at = excluded.created_at, expires_at = excluded.expires_at";
const ATTEMPT: &str = "
    UPDATE latchkey_one_time_codes SET attempts = attempts + 1
     WHERE user_id = $1 AND kind = $2 AND expires_at > $3 AND attempts < $4
 RETURNING code_hash, attempts";
// An SMS code's address is E.164; a number Nhost stored as typed matches it without its
// separators, and VERIFY_PHONE stores it as E.164 in the same transaction.
const TAKE: &str = concat!(
    "
    DELETE FROM latchkey_one_time_codes
     WHERE code_hash = $1 AND kind = $2 AND ($3 IS NULL OR user_id = $3) AND expires_at > $4
       AND user_id IN (SELECT id FROM users WHERE disabled = 0 AND CASE WHEN $5
               THEN email = latchkey_one_time_codes.address
               ELSE ",
    super::users::phone_digits!("phone_number"),
    " = latchkey_one_time_codes.address END)
 RETURNING user_id, address"
);
const VERIFY_EMAIL: &str =
    "UPDATE users SET email_verified = 1, last_seen = $2, updated_at = $2 WHERE id = $1";
const VERIFY_PHONE: &str = "
    UPDATE users SET phone_number_verified = 1, phone_number = $3, last_seen = $2, updated_at = $2
     WHERE id = $1";
const HELD_BY_DISABLED: &str = "
    SELECT EXISTS (SELECT 1 FROM latchkey_one_time_codes c JOIN users u ON u.id = c.user_id
                    WHERE c.code_hash = $1 AND c.kind = $2 AND c.expires_at > $3 AND u.disabled = 1)";
const DELETE: &str = "DELETE FROM latchkey_one_time_codes WHERE user_id = $1 AND kind = $2";

#[async_trait]
impl CodeStore for SqliteStore {
    async fn replace_code(
        &self,
        code: &NewCode,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let now = millis(code.now);
        sqlx::query(SWEEP)
            .bind(now)
            .bind(code.user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let done = sqlx::query(REPLACE)
            .bind(code.user_id.as_uuid())
            .bind(code.kind.as_str())
            .bind(&code.address)
            .bind(&code.hash)
            .bind(millis(code.expires_at))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        super::outbox::insert_mail_if(&mut tx, mail).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn attempt_code(
        &self,
        user_id: UserId,
        kind: CodeKind,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<CodeAttempt>, StoreError> {
        let row: Option<(String, i64)> = sqlx::query_as(ATTEMPT)
            .bind(user_id.as_uuid())
            .bind(kind.as_str())
            .bind(millis(now))
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
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let now = millis(session.now);
        let taken: Option<(Uuid, String)> = sqlx::query_as(TAKE)
            .bind(hash)
            .bind(kind.as_str())
            .bind(user_id.map(|id| id.as_uuid()))
            .bind(now)
            .bind(kind.by_email())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some((id, address)) = taken else {
            let disabled: bool = sqlx::query_scalar(HELD_BY_DISABLED)
                .bind(hash)
                .bind(kind.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            return Ok(if disabled {
                TicketRedemption::UserDisabled
            } else {
                TicketRedemption::Invalid
            });
        };
        let verify = if kind.by_email() {
            sqlx::query(VERIFY_EMAIL).bind(id).bind(now)
        } else {
            sqlx::query(VERIFY_PHONE).bind(id).bind(now).bind(address)
        };
        verify.execute(&mut *tx).await.map_err(db)?;
        let user_id = UserId::from_uuid(id);
        let token = NewRefreshToken {
            id: session.id,
            user_id,
            hash: session.hash.clone(),
            expires_at: session.expires_at,
            now: session.now,
        };
        super::sessions::insert_refresh_token(&mut tx, &token)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(TicketRedemption::Redeemed(user_id))
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
