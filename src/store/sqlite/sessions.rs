use async_trait::async_trait;
use sqlx::Connection as _;
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::server::insert_event_if;
use super::users::{USER_BY_ID, UserRow};
use super::{BEGIN_WRITE, SqliteStore, db, millis};
use crate::model::{CredentialId, RefreshTokenId, Timestamp, User, UserId};
use crate::store::{AuditEvent, KeyUse, NewRefreshToken, Rotation, SessionStore, StoreError};

const INSERT_TOKEN: &str = "
    INSERT INTO refresh_tokens (id, created_at, expires_at, user_id, type, refresh_token_hash)
    VALUES ($1, $2, $3, $4, 'regular', $5)";
const TOUCH_USER: &str = "UPDATE users SET last_seen = $2, updated_at = $2 WHERE id = $1";
const ROTATE: &str = "
    UPDATE refresh_tokens SET refresh_token_hash = $2, expires_at = $3
     WHERE refresh_token_hash = $1 AND type = 'regular' AND expires_at > $4
 RETURNING id, user_id";
const REMEMBER_OLD_HASH: &str = "
    INSERT INTO refresh_token_rotations (refresh_token_hash, refresh_token_id, user_id, rotated_at, expires_at)
    VALUES ($1, $2, $3, $4, $5)";
// A rotated-away hash presented again: the token leaked, so the family goes.
const REVOKE_FAMILY_OF_OLD_HASH: &str = "
    DELETE FROM refresh_tokens
     WHERE id = (SELECT refresh_token_id FROM refresh_token_rotations WHERE refresh_token_hash = $1)
 RETURNING id, user_id";
const DELETE_BY_HASH: &str = "DELETE FROM refresh_tokens WHERE refresh_token_hash = $1";
const DELETE_OF_USER: &str = "DELETE FROM refresh_tokens WHERE user_id = $1 AND type = 'regular'";
// Sweeps take one bounded batch through the expiry indexes.
const SWEEP_TOKENS: &str = "
    DELETE FROM refresh_tokens WHERE rowid IN (
        SELECT rowid FROM refresh_tokens WHERE type = 'regular' AND expires_at <= $1 LIMIT $2)";
const SWEEP_ROTATIONS: &str = "
    DELETE FROM refresh_token_rotations WHERE rowid IN (
        SELECT rowid FROM refresh_token_rotations WHERE expires_at <= $1 LIMIT $2)";
const COUNT_OF_USER: &str = "
    SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND type = 'regular' AND expires_at > $2";

pub(super) async fn insert_refresh_token(
    conn: &mut SqliteConnection,
    t: &NewRefreshToken,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_TOKEN)
        .bind(t.id.as_uuid())
        .bind(millis(t.now))
        .bind(millis(t.expires_at))
        .bind(t.user_id.as_uuid())
        .bind(&t.hash)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A new session's row and the user's `last_seen`, in the caller's transaction.
async fn insert_session(
    conn: &mut SqliteConnection,
    token: &NewRefreshToken,
) -> Result<(), sqlx::Error> {
    insert_refresh_token(&mut *conn, token).await?;
    sqlx::query(TOUCH_USER)
        .bind(token.user_id.as_uuid())
        .bind(millis(token.now))
        .execute(conn)
        .await
        .map(|_| ())
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn start_session(
        &self,
        token: &NewRefreshToken,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        insert_session(&mut tx, token).await.map_err(db)?;
        insert_event_if(&mut tx, event).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn start_session_after_assertion(
        &self,
        token: &NewRefreshToken,
        credential_id: &CredentialId,
        key_use: &KeyUse,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        sqlx::query(super::keys::RECORD_USE)
            .bind(token.user_id.as_uuid())
            .bind(credential_id.to_base64url())
            .bind(i64::from(key_use.counter))
            .bind(key_use.backup_eligible)
            .bind(key_use.backup_state)
            .bind(millis(key_use.now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_session(&mut tx, token).await.map_err(db)?;
        insert_event_if(&mut tx, event).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let rotated: Option<(Uuid, Uuid)> = sqlx::query_as(ROTATE)
            .bind(old_hash)
            .bind(new_hash)
            .bind(millis(new_expires_at))
            .bind(millis(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if let Some((id, user_id)) = rotated {
            sqlx::query(REMEMBER_OLD_HASH)
                .bind(old_hash)
                .bind(id)
                .bind(user_id)
                .bind(millis(now))
                .bind(millis(new_expires_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let user = sqlx::query_as::<_, UserRow>(USER_BY_ID)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query(TOUCH_USER)
                .bind(user_id)
                .bind(millis(now))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            return Ok(Rotation::Rotated {
                id: RefreshTokenId::from_uuid(id),
                user: Box::new(User::try_from(user)?),
            });
        }
        let revoked: Option<(Uuid, Uuid)> = sqlx::query_as(REVOKE_FAMILY_OF_OLD_HASH)
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(match revoked {
            Some((id, user_id)) => Rotation::Reused {
                id: RefreshTokenId::from_uuid(id),
                user_id: UserId::from_uuid(user_id),
            },
            None => Rotation::Unknown,
        })
    }

    async fn delete_refresh_token(&self, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE_BY_HASH)
            .bind(hash)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_sessions_of(&self, user_id: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query(DELETE_OF_USER)
            .bind(user_id.as_uuid())
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let tokens = sqlx::query(SWEEP_TOKENS)
            .bind(millis(now))
            .bind(i64::from(crate::store::SWEEP_BATCH))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        let rotations = sqlx::query(SWEEP_ROTATIONS)
            .bind(millis(now))
            .bind(i64::from(crate::store::SWEEP_BATCH))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(tokens.rows_affected() + rotations.rows_affected())
    }

    async fn count_sessions_of(&self, user_id: UserId, now: Timestamp) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_OF_USER)
            .bind(user_id.as_uuid())
            .bind(millis(now))
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(n.unsigned_abs())
    }
}
