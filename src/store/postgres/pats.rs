//! Personal access tokens on PostgreSQL: `auth.refresh_tokens` rows of type `pat`.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{NewPat, PatInfo, RefreshTokenId, Timestamp, UserId};
use crate::store::{AuditEvent, PatStore, StoreError};

// The token and its audit row in one statement.
const CREATE: &str = concat!(
    "WITH ",
    super::audit_cte!("$2", "$7", "$8", "$9", "$10", "$11"),
    ", created AS (
        INSERT INTO auth.refresh_tokens
               (id, created_at, expires_at, user_id, type, refresh_token_hash, metadata)
        VALUES ($1, $2, $3, $4, 'pat', $5, $6)
    ) SELECT 1"
);
const USE: &str = "
    UPDATE auth.refresh_tokens SET last_used_at = $2
     WHERE refresh_token_hash = $1 AND type = 'pat' AND expires_at > $2
 RETURNING user_id";
const OF_USER: &str = "
    SELECT id, created_at, expires_at, last_used_at, metadata FROM auth.refresh_tokens
     WHERE user_id = $1 AND type = 'pat' ORDER BY created_at DESC, id";
const DELETE: &str =
    "DELETE FROM auth.refresh_tokens WHERE user_id = $1 AND id = $2 AND type = 'pat'";

type PatRow = (
    Uuid,
    Timestamp,
    Timestamp,
    Option<Timestamp>,
    Option<Json<serde_json::Value>>,
);

#[async_trait]
impl PatStore for PgStore {
    async fn create_pat(&self, pat: &NewPat, event: Option<&AuditEvent>) -> Result<(), StoreError> {
        let query = sqlx::query(CREATE)
            .bind(pat.id.as_uuid())
            .bind(pat.now)
            .bind(pat.expires_at)
            .bind(pat.user_id.as_uuid())
            .bind(&pat.hash)
            .bind(pat.metadata.as_ref().map(Json));
        super::bind_event(query, event)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn use_pat(&self, hash: &str, now: Timestamp) -> Result<Option<UserId>, StoreError> {
        let user: Option<Uuid> = sqlx::query_scalar(USE)
            .bind(hash)
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(user.map(UserId::from_uuid))
    }

    async fn pats_of(&self, user_id: UserId) -> Result<Vec<PatInfo>, StoreError> {
        let rows: Vec<PatRow> = sqlx::query_as(OF_USER)
            .bind(user_id.as_uuid())
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, created_at, expires_at, last_used_at, metadata)| PatInfo {
                    id: RefreshTokenId::from_uuid(id),
                    created_at,
                    expires_at,
                    last_used_at,
                    metadata: metadata.map(|m| m.0),
                },
            )
            .collect())
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
