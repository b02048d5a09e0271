//! A linked account's provider tokens after a refresh, and the one-time hand-over of a
//! sign-in's provider session, on SQLite.

use async_trait::async_trait;
use sqlx::Connection as _;

use super::{BEGIN_WRITE, SqliteStore, db, millis};
use crate::model::{ProviderLink, ProviderSessionStash, RefreshTokenId, Timestamp, UserId};
use crate::store::provider_tokens::LinkRow;
use crate::store::{ProviderTokenStore, StoreError};

const LINK_OF: &str = "
    SELECT provider_id, provider_user_id, access_token, refresh_token FROM user_providers
     WHERE user_id = $1 AND provider_id = $2 ORDER BY updated_at DESC, id LIMIT 1";
const REPLACE: &str = "
    UPDATE user_providers
       SET access_token = $4, refresh_token = COALESCE($5, refresh_token), updated_at = $6
     WHERE user_id = $1 AND provider_id = $2 AND provider_user_id = $3";

const SWEEP_SESSIONS: &str = "
    DELETE FROM latchkey_provider_sessions WHERE rowid IN (
        SELECT rowid FROM latchkey_provider_sessions WHERE expires_at <= $1 LIMIT 16)";
const INSERT_SESSION: &str = "
    INSERT INTO latchkey_provider_sessions
           (refresh_token_id, provider, user_id, session, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (refresh_token_id, provider) DO UPDATE
       SET session = excluded.session, created_at = excluded.created_at,
           expires_at = excluded.expires_at
     WHERE latchkey_provider_sessions.user_id = excluded.user_id";
const TAKE_SESSION: &str = "
    DELETE FROM latchkey_provider_sessions
     WHERE refresh_token_id = $1 AND provider = $2 AND user_id = $3 AND expires_at > $4
 RETURNING session";

#[async_trait]
impl ProviderTokenStore for SqliteStore {
    async fn provider_link_of(
        &self,
        user_id: UserId,
        provider: &str,
    ) -> Result<Option<ProviderLink>, StoreError> {
        let row: Option<LinkRow> = sqlx::query_as(LINK_OF)
            .bind(user_id.as_uuid())
            .bind(provider)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.map(ProviderLink::from))
    }

    async fn replace_provider_tokens(
        &self,
        user_id: UserId,
        link: &ProviderLink,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(REPLACE)
            .bind(user_id.as_uuid())
            .bind(&link.provider)
            .bind(&link.provider_user_id)
            .bind(&link.access_token_sealed)
            .bind(link.refresh_token_sealed.as_deref())
            .bind(millis(now))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_provider_session(&self, s: &ProviderSessionStash) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        sqlx::query(SWEEP_SESSIONS)
            .bind(millis(s.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(INSERT_SESSION)
            .bind(s.refresh_token_id.as_uuid())
            .bind(&s.provider)
            .bind(s.user_id.as_uuid())
            .bind(&s.session_sealed)
            .bind(millis(s.created_at))
            .bind(millis(s.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn take_provider_session(
        &self,
        user_id: UserId,
        refresh_token_id: RefreshTokenId,
        provider: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(TAKE_SESSION)
            .bind(refresh_token_id.as_uuid())
            .bind(provider)
            .bind(user_id.as_uuid())
            .bind(millis(now))
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)
    }
}
