//! The provider's tokens after sign-in (issue 19): a linked account's stored tokens replaced
//! after a refresh, and the one-time hand-over of a sign-in's tokens to its session.

use async_trait::async_trait;

use super::StoreError;
use crate::model::{ProviderLink, ProviderSessionStash, RefreshTokenId, Timestamp, UserId};

/// A link's token columns as both engines read them (`auth.user_providers`).
#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    provider_id: String,
    provider_user_id: String,
    access_token: String,
    refresh_token: Option<String>,
}

impl From<LinkRow> for ProviderLink {
    fn from(r: LinkRow) -> ProviderLink {
        ProviderLink {
            provider: r.provider_id,
            provider_user_id: r.provider_user_id,
            access_token_sealed: r.access_token,
            refresh_token_sealed: r.refresh_token,
        }
    }
}

#[async_trait]
pub trait ProviderTokenStore: Send + Sync {
    /// The user's link to `provider`, tokens sealed as stored; of several accounts at one
    /// provider, the one updated last. `None` when the user has none (or does not exist).
    async fn provider_link_of(
        &self,
        user_id: UserId,
        provider: &str,
    ) -> Result<Option<ProviderLink>, StoreError>;
    /// Replaces the sealed tokens of the user's link to `link.provider_user_id`; a `None`
    /// refresh token keeps the stored one (providers that do not rotate send none). False,
    /// with nothing written, when the user has no such link.
    async fn replace_provider_tokens(
        &self,
        user_id: UserId,
        link: &ProviderLink,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Keeps a sign-in's provider session for its refresh-token family, replacing an older
    /// one for the same family and provider; also deletes a small batch of expired ones.
    /// Fails (a `StoreError`) if the family no longer exists.
    async fn insert_provider_session(&self, stash: &ProviderSessionStash)
    -> Result<(), StoreError>;
    /// Deletes and returns the sealed provider session of `provider` kept for this user's
    /// family `refresh_token_id`, if it has not expired at `now`. At most one caller ever
    /// gets `Some` for one stash.
    async fn take_provider_session(
        &self,
        user_id: UserId,
        refresh_token_id: RefreshTokenId,
        provider: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError>;
}
