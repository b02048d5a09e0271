//! Provider sign-in flows on PostgreSQL: stored with a sweep in one statement, taken once.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{ProviderFlow, ProviderLink, RequestToken, Secret, Timestamp, UserId};
use crate::store::{ProviderStore, StoreError};

macro_rules! sweep_delete {
    ($at:literal) => {
        concat!(
            "DELETE FROM auth.latchkey_provider_flows WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM auth.latchkey_provider_flows WHERE expires_at <= ",
            $at,
            " LIMIT 16 FOR UPDATE SKIP LOCKED))"
        )
    };
}
/// The sweep on its own, for the plan test (`$1` the time).
pub(super) const SWEEP: &str = sweep_delete!("$1");
const INSERT: &str = concat!(
    "WITH swept AS (",
    sweep_delete!("$8"),
    ")
    INSERT INTO auth.latchkey_provider_flows (state_hash, provider, browser_hash, options,
           pkce_verifier, nonce, connect_user_id, created_at, expires_at, request_token,
           request_token_secret)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
// The DELETE's row lock makes a concurrent callback with the same state wait, then find nothing.
const TAKE: &str = "
    DELETE FROM auth.latchkey_provider_flows
     WHERE state_hash = $1 AND provider = $2 AND expires_at > $3
 RETURNING state_hash, provider, browser_hash, options, pkce_verifier, nonce, connect_user_id,
           created_at, expires_at, request_token, request_token_secret";

const USER_BY_PROVIDER: &str = "
    SELECT user_id FROM auth.user_providers WHERE provider_id = $1 AND provider_user_id = $2";
// The conflict update applies only to the same user's row, so a link owned by someone else
// returns no row and is left as it was.
const LINK: &str = "
    INSERT INTO auth.user_providers (id, created_at, updated_at, user_id, access_token,
                                     refresh_token, provider_id, provider_user_id)
    VALUES (gen_random_uuid(), $1, $1, $2, $3, $4, $5, $6)
    ON CONFLICT (provider_id, provider_user_id) DO UPDATE
       SET access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
           updated_at = EXCLUDED.updated_at
     WHERE auth.user_providers.user_id = EXCLUDED.user_id
 RETURNING id";

const LINKS_OF: &str = "
    SELECT provider_id, provider_user_id, access_token, refresh_token FROM auth.user_providers
     WHERE user_id = $1 ORDER BY created_at, id";

#[derive(sqlx::FromRow)]
struct LinkRow {
    provider_id: String,
    provider_user_id: String,
    access_token: String,
    refresh_token: Option<String>,
}

impl From<LinkRow> for ProviderLink {
    fn from(r: LinkRow) -> Self {
        ProviderLink {
            provider: r.provider_id,
            provider_user_id: r.provider_user_id,
            access_token_sealed: r.access_token,
            refresh_token_sealed: r.refresh_token,
        }
    }
}

#[derive(sqlx::FromRow)]
struct FlowRow {
    state_hash: String,
    provider: String,
    browser_hash: String,
    options: Json<serde_json::Value>,
    pkce_verifier: String,
    nonce: Option<String>,
    connect_user_id: Option<Uuid>,
    created_at: Timestamp,
    expires_at: Timestamp,
    request_token: Option<String>,
    request_token_secret: Option<String>,
}

impl From<FlowRow> for ProviderFlow {
    fn from(r: FlowRow) -> Self {
        ProviderFlow {
            state_hash: r.state_hash,
            provider: r.provider,
            browser_hash: r.browser_hash,
            options: r.options.0,
            pkce_verifier: Secret::new(r.pkce_verifier),
            nonce: r.nonce.map(Secret::new),
            connect_user: r.connect_user_id.map(UserId::from_uuid),
            request_token: request_token(r.request_token, r.request_token_secret),
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// OAuth 1.0a's request token, when the flow has one (both columns are set together).
fn request_token(token: Option<String>, secret_sealed: Option<String>) -> Option<RequestToken> {
    Some(RequestToken {
        token: token?,
        secret_sealed: secret_sealed?,
    })
}

#[async_trait]
impl ProviderStore for PgStore {
    async fn insert_provider_flow(&self, f: &ProviderFlow) -> Result<(), StoreError> {
        sqlx::query(INSERT)
            .bind(&f.state_hash)
            .bind(&f.provider)
            .bind(&f.browser_hash)
            .bind(Json(&f.options))
            .bind(f.pkce_verifier.expose())
            .bind(f.nonce.as_ref().map(Secret::expose))
            .bind(f.connect_user.map(|u| u.as_uuid()))
            .bind(f.created_at)
            .bind(f.expires_at)
            .bind(f.request_token.as_ref().map(|r| r.token.as_str()))
            .bind(f.request_token.as_ref().map(|r| r.secret_sealed.as_str()))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn take_provider_flow(
        &self,
        state_hash: &str,
        provider: &str,
        now: Timestamp,
    ) -> Result<Option<ProviderFlow>, StoreError> {
        let row: Option<FlowRow> = sqlx::query_as(TAKE)
            .bind(state_hash)
            .bind(provider)
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.map(ProviderFlow::from))
    }

    async fn user_by_provider(
        &self,
        provider: &str,
        provider_user_id: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let id: Option<Uuid> = sqlx::query_scalar(USER_BY_PROVIDER)
            .bind(provider)
            .bind(provider_user_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(id.map(UserId::from_uuid))
    }

    async fn link_provider(
        &self,
        user_id: UserId,
        link: &ProviderLink,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let row: Option<Uuid> = sqlx::query_scalar(LINK)
            .bind(now)
            .bind(user_id.as_uuid())
            .bind(&link.access_token_sealed)
            .bind(link.refresh_token_sealed.as_deref())
            .bind(&link.provider)
            .bind(&link.provider_user_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }

    async fn provider_links_of(&self, user_id: UserId) -> Result<Vec<ProviderLink>, StoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(LINKS_OF)
            .bind(user_id.as_uuid())
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(ProviderLink::from).collect())
    }
}
