//! Sign-in with OAuth and OpenID providers (issue 19): the single-use flow state.

use async_trait::async_trait;

use super::StoreError;
use crate::model::{ProviderFlow, Timestamp};

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
}
