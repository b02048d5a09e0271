//! Personal access tokens on SQLite: `refresh_tokens` rows of type `pat`.

use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{BEGIN_WRITE, SqliteStore, db, from_millis, millis};
use crate::model::{NewPat, PatInfo, RefreshTokenId, Timestamp, UserId};
use crate::store::{AuditEvent, PatStore, StoreError};

const CREATE: &str = "
    INSERT INTO refresh_tokens (id, created_at, expires_at, user_id, type, refresh_token_hash, metadata)
    VALUES ($1, $2, $3, $4, 'pat', $5, $6)";
const USE: &str = "
    UPDATE refresh_tokens SET last_used_at = $2
     WHERE refresh_token_hash = $1 AND type = 'pat' AND expires_at > $2
 RETURNING user_id";
const OF_USER: &str = "
    SELECT id, created_at, expires_at, last_used_at, metadata FROM refresh_tokens
     WHERE user_id = $1 AND type = 'pat' ORDER BY created_at DESC, id";
const DELETE: &str = "DELETE FROM refresh_tokens WHERE user_id = $1 AND id = $2 AND type = 'pat'";

const TABLE: &str = "refresh_tokens";

#[async_trait]
impl PatStore for SqliteStore {
    async fn create_pat(&self, pat: &NewPat, event: Option<&AuditEvent>) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        sqlx::query(CREATE)
            .bind(pat.id.as_uuid())
            .bind(millis(pat.now))
            .bind(millis(pat.expires_at))
            .bind(pat.user_id.as_uuid())
            .bind(&pat.hash)
            .bind(pat.metadata.as_ref().map(ToString::to_string))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        super::server::insert_event_if(&mut tx, event)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn use_pat(&self, hash: &str, now: Timestamp) -> Result<Option<UserId>, StoreError> {
        let user: Option<Uuid> = sqlx::query_scalar(USE)
            .bind(hash)
            .bind(millis(now))
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(user.map(UserId::from_uuid))
    }

    async fn pats_of(&self, user_id: UserId) -> Result<Vec<PatInfo>, StoreError> {
        let rows: Vec<(Uuid, i64, i64, Option<i64>, Option<String>)> = sqlx::query_as(OF_USER)
            .bind(user_id.as_uuid())
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(|(id, created_at, expires_at, last_used_at, metadata)| {
                Ok(PatInfo {
                    id: RefreshTokenId::from_uuid(id),
                    created_at: from_millis(TABLE, created_at)?,
                    expires_at: from_millis(TABLE, expires_at)?,
                    last_used_at: last_used_at.map(|ms| from_millis(TABLE, ms)).transpose()?,
                    metadata: metadata
                        .map(|m| serde_json::from_str(&m))
                        .transpose()
                        .map_err(|e| StoreError::corrupt(TABLE, e))?,
                })
            })
            .collect()
    }

    async fn delete_pat(&self, user_id: UserId, id: RefreshTokenId) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE)
            .bind(user_id.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }
}
