//! A linked account's provider tokens after a refresh, and the one-time hand-over of a
//! sign-in's provider session, on PostgreSQL.

use async_trait::async_trait;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{ProviderLink, ProviderSessionStash, RefreshTokenId, Timestamp, UserId};
use crate::store::provider_tokens::LinkRow;
use crate::store::{ProviderTokenStore, StoreError};

const LINK_OF: &str = "
    SELECT provider_id, provider_user_id, access_token, refresh_token FROM auth.user_providers
     WHERE user_id = $1 AND provider_id = $2 ORDER BY updated_at DESC, id LIMIT 1";
const REPLACE: &str = "
    UPDATE auth.user_providers
       SET access_token = $4, refresh_token = COALESCE($5, refresh_token), updated_at = $6
     WHERE user_id = $1 AND provider_id = $2 AND provider_user_id = $3";

/// The sweep of expired hand-overs, at most 16 rows, skipping rows another replica holds.
const INSERT_SESSION: &str = "
    WITH swept AS (
        DELETE FROM auth.latchkey_provider_sessions WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM auth.latchkey_provider_sessions WHERE expires_at <= $5
             LIMIT 16 FOR UPDATE SKIP LOCKED)))
    INSERT INTO auth.latchkey_provider_sessions
           (refresh_token_id, provider, user_id, session, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (refresh_token_id, provider) DO UPDATE
       SET session = EXCLUDED.session, created_at = EXCLUDED.created_at,
           expires_at = EXCLUDED.expires_at
     WHERE auth.latchkey_provider_sessions.user_id = EXCLUDED.user_id";
// The DELETE's row lock makes a concurrent retrieval wait, then find nothing.
const TAKE_SESSION: &str = "
    DELETE FROM auth.latchkey_provider_sessions
     WHERE refresh_token_id = $1 AND provider = $2 AND user_id = $3 AND expires_at > $4
 RETURNING session";

#[async_trait]
impl ProviderTokenStore for PgStore {
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
            .bind(now)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_provider_session(&self, s: &ProviderSessionStash) -> Result<(), StoreError> {
        sqlx::query(INSERT_SESSION)
            .bind(s.refresh_token_id.as_uuid())
            .bind(&s.provider)
            .bind(s.user_id.as_uuid())
            .bind(&s.session_sealed)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn take_provider_session(
        &self,
        user_id: UserId,
        refresh_token_id: RefreshTokenId,
        provider: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let id: Uuid = refresh_token_id.as_uuid();
        sqlx::query_scalar(TAKE_SESSION)
            .bind(id)
            .bind(provider)
            .bind(user_id.as_uuid())
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)
    }
}
