//! Personal access tokens (issue #18), always scoped by their owner except at sign-in.

use async_trait::async_trait;

use super::{AuditEvent, StoreError};
use crate::model::{NewPat, PatInfo, RefreshTokenId, Timestamp, UserId};

#[async_trait]
pub trait PatStore: Send + Sync {
    /// Stores the token with `event`, together (one statement on PostgreSQL).
    async fn create_pat(&self, pat: &NewPat, event: Option<&AuditEvent>) -> Result<(), StoreError>;
    /// The owner of the unexpired PAT stored as `hash`, whose use at `now` is recorded.
    /// `None` for an unknown or expired hash, or one of a regular refresh token.
    async fn use_pat(&self, hash: &str, now: Timestamp) -> Result<Option<UserId>, StoreError>;
    /// The user's PATs, expired ones included, newest first.
    async fn pats_of(&self, user_id: UserId) -> Result<Vec<PatInfo>, StoreError>;
    /// Deletes the user's PAT `id`. False when the user has no such PAT (another user's id
    /// included).
    async fn delete_pat(&self, user_id: UserId, id: RefreshTokenId) -> Result<bool, StoreError>;
}
