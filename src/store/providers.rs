//! Sign-in with OAuth and OpenID providers (issue 19): the single-use flow state.

use async_trait::async_trait;

use super::StoreError;
use crate::model::{ProviderFlow, ProviderLink, Timestamp, UserId};

#[async_trait]
pub trait ProviderStore: Send + Sync {
    /// Stores a new flow; also deletes a small batch of expired flows, so abandoned ones do
    /// not pile up. A `connect_user` that does not exist fails the insert (a `StoreError`),
    /// which cannot happen for a user whose access token was just checked unless it was
    /// deleted in between.
    async fn insert_provider_flow(&self, flow: &ProviderFlow) -> Result<(), StoreError>;
    /// Deletes and returns the flow of `provider` whose state hashes to `state_hash`, if it
    /// has not expired at `now`. For one flow at most one caller ever gets `Some`, across
    /// replicas: a replayed callback finds nothing.
    async fn take_provider_flow(
        &self,
        state_hash: &str,
        provider: &str,
        now: Timestamp,
    ) -> Result<Option<ProviderFlow>, StoreError>;
    /// The user linked to this provider account, if any.
    async fn user_by_provider(
        &self,
        provider: &str,
        provider_user_id: &str,
    ) -> Result<Option<UserId>, StoreError>;
    /// Links the provider account to `user_id`, or, when it is already linked to that user,
    /// replaces the stored (sealed) tokens. False, with nothing written, when the account is
    /// linked to another user. One statement: two concurrent links of one account cannot
    /// both succeed.
    async fn link_provider(
        &self,
        user_id: UserId,
        link: &ProviderLink,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The user's linked provider accounts, tokens sealed as stored, oldest first.
    async fn provider_links_of(&self, user_id: UserId) -> Result<Vec<ProviderLink>, StoreError>;
}
