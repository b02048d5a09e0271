//! TOTP multi-factor authentication on PostgreSQL: each change is one statement, and the
//! second sign-in step one transaction whose row locks make concurrent callers wait and then
//! find the ticket, the step or the recovery code gone.

use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{Timestamp, UserId};
use crate::store::{MfaProof, MfaSignIn, MfaStore, NewRefreshToken, StoreError};

const SECRET_OF: &str = "SELECT totp_secret FROM auth.users WHERE id = $1";
const SET_SECRET: &str = "
    UPDATE auth.users SET totp_secret = $2, updated_at = $3
     WHERE id = $1 AND active_mfa_type IS DISTINCT FROM 'totp'";
const RESEAL: &str = "UPDATE auth.users SET totp_secret = $3 WHERE id = $1 AND totp_secret = $2";
const ACTIVATE: &str = "
    UPDATE auth.users SET active_mfa_type = 'totp', updated_at = $3
     WHERE id = $1 AND totp_secret = $2 AND active_mfa_type IS DISTINCT FROM 'totp'";
// The secret, the codes and the step record go together.
const DEACTIVATE: &str = "
    WITH off AS (
        UPDATE auth.users SET active_mfa_type = NULL, totp_secret = NULL, updated_at = $2
         WHERE id = $1 AND active_mfa_type = 'totp'
     RETURNING id
    ), codes AS (
        DELETE FROM auth.latchkey_recovery_codes WHERE user_id IN (SELECT id FROM off)
    ), steps AS (
        DELETE FROM auth.latchkey_mfa WHERE user_id IN (SELECT id FROM off)
    )
    SELECT count(*) FROM off";
const IS_ACTIVE: &str =
    "SELECT id FROM auth.users WHERE id = $1 AND active_mfa_type = 'totp' FOR UPDATE";
const DELETE_CODES: &str = "DELETE FROM auth.latchkey_recovery_codes WHERE user_id = $1";
const INSERT_CODES: &str = "
    INSERT INTO auth.latchkey_recovery_codes (user_id, code_hash, created_at)
    SELECT $1, hash, $3 FROM unnest($2::text[]) AS hash";
const CODES_LEFT: &str = "SELECT count(*) FROM auth.latchkey_recovery_codes WHERE user_id = $1";
// The row lock makes concurrent guesses count one after the other.
const ATTEMPT_TICKET: &str = "
    UPDATE auth.latchkey_one_time_codes SET attempts = attempts + 1
     WHERE code_hash = $1 AND kind = 'mfa-totp' AND expires_at > $2 AND attempts < $3
 RETURNING user_id, attempts";
const TAKE_TICKET: &str = "
    DELETE FROM auth.latchkey_one_time_codes
     WHERE code_hash = $1 AND kind = 'mfa-totp' AND user_id = $2 AND expires_at > $3
 RETURNING user_id";
// Check-and-set in one statement: of two callers with the same step, the second waits for
// the first's row lock, then its WHERE no longer holds.
const USE_STEP: &str = "
    INSERT INTO auth.latchkey_mfa AS m (user_id, last_totp_step, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (user_id) DO UPDATE
       SET last_totp_step = EXCLUDED.last_totp_step, updated_at = EXCLUDED.updated_at
     WHERE m.last_totp_step < EXCLUDED.last_totp_step
 RETURNING user_id";
const USE_RECOVERY_CODE: &str = "
    DELETE FROM auth.latchkey_recovery_codes WHERE user_id = $1 AND code_hash = $2
 RETURNING user_id";
const SEEN: &str = "UPDATE auth.users SET last_seen = $2 WHERE id = $1";

#[async_trait]
impl MfaStore for PgStore {
    async fn totp_secret_of(&self, user_id: UserId) -> Result<Option<String>, StoreError> {
        let secret: Option<Option<String>> = sqlx::query_scalar(SECRET_OF)
            .bind(user_id.as_uuid())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(secret.flatten().filter(|s| !s.is_empty()))
    }

    async fn set_totp_secret(
        &self,
        user_id: UserId,
        secret: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(SET_SECRET)
            .bind(user_id.as_uuid())
            .bind(secret)
            .bind(now)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn reseal_totp_secret(
        &self,
        user_id: UserId,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RESEAL)
            .bind(user_id.as_uuid())
            .bind(old)
            .bind(new)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn activate_totp(
        &self,
        user_id: UserId,
        secret: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(ACTIVATE)
            .bind(user_id.as_uuid())
            .bind(secret)
            .bind(now)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn deactivate_totp(&self, user_id: UserId, now: Timestamp) -> Result<bool, StoreError> {
        let off: i64 = sqlx::query_scalar(DEACTIVATE)
            .bind(user_id.as_uuid())
            .bind(now)
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(off > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        hashes: &[String],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        // The user row's lock orders this against a concurrent deactivation.
        let active: Option<Uuid> = sqlx::query_scalar(IS_ACTIVE)
            .bind(user_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if active.is_none() {
            return Ok(false);
        }
        sqlx::query(DELETE_CODES)
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(INSERT_CODES)
            .bind(user_id.as_uuid())
            .bind(hashes)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn recovery_codes_left(&self, user_id: UserId) -> Result<u32, StoreError> {
        let left: i64 = sqlx::query_scalar(CODES_LEFT)
            .bind(user_id.as_uuid())
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(u32::try_from(left).unwrap_or(u32::MAX))
    }

    async fn attempt_mfa_ticket(
        &self,
        hash: &str,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<(UserId, u32)>, StoreError> {
        let row: Option<(Uuid, i32)> = sqlx::query_as(ATTEMPT_TICKET)
            .bind(hash)
            .bind(now)
            .bind(i64::from(max_attempts))
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.map(|(id, attempts)| {
            let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
            (UserId::from_uuid(id), attempts)
        }))
    }

    async fn finish_mfa_signin(
        &self,
        user_id: UserId,
        ticket_hash: &str,
        proof: &MfaProof,
        session: &NewRefreshToken,
    ) -> Result<MfaSignIn, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        let taken: Option<Uuid> = sqlx::query_scalar(TAKE_TICKET)
            .bind(ticket_hash)
            .bind(user_id.as_uuid())
            .bind(session.now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if taken.is_none() {
            return Ok(MfaSignIn::TicketGone);
        }
        let spent = match proof {
            MfaProof::TotpStep(step) => sqlx::query_scalar::<_, Uuid>(USE_STEP)
                .bind(user_id.as_uuid())
                .bind(*step)
                .bind(session.now),
            MfaProof::RecoveryCode(hash) => sqlx::query_scalar::<_, Uuid>(USE_RECOVERY_CODE)
                .bind(user_id.as_uuid())
                .bind(hash.as_str()),
        }
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if spent.is_none() {
            // Rolled back: the ticket stays for another try.
            return Ok(MfaSignIn::ProofUsed);
        }
        super::sessions::insert_refresh_token(&mut tx, session)
            .await
            .map_err(db)?;
        sqlx::query(SEEN)
            .bind(user_id.as_uuid())
            .bind(session.now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(MfaSignIn::SignedIn)
    }
}
