//! One-time sign-in codes and links (issue #17): one per user and kind, stored hashed, with
//! the guesses at each counted in the database so every replica shares the count.

use async_trait::async_trait;

use super::{StoreError, TicketRedemption, TicketSession};
use crate::model::{CodeAttempt, CodeKind, NewCode, OutboxMail, Timestamp, UserId};

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores `code`, replacing the user's code of the same kind (its guesses start again at
    /// zero) and no other, and `mail` (the mail carrying it) into the outbox, together; also
    /// deletes a small batch of expired codes. False when there is no such user, and nothing
    /// is written.
    async fn replace_code(
        &self,
        code: &NewCode,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError>;
    /// Counts one guess at the user's unexpired code of `kind`, if fewer than `max_attempts`
    /// were made, and returns the stored hash to compare with. `None`: no such code, expired,
    /// or no guess left. At most `max_attempts` callers ever get `Some` for one code.
    async fn attempt_code(
        &self,
        user_id: UserId,
        kind: CodeKind,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<CodeAttempt>, StoreError>;
    /// In one transaction: deletes the unexpired code of `kind` stored as `hash` (of
    /// `user_id` when given) if its user is enabled and still has the address it was sent to,
    /// marks that address verified, and stores `session` for the user. For one code at most
    /// one caller ever gets `Redeemed`, across replicas. A phone number Nhost stored as typed
    /// still "has" the E.164 address (compared without separators) and is rewritten to it.
    async fn redeem_code(
        &self,
        kind: CodeKind,
        user_id: Option<UserId>,
        hash: &str,
        session: &TicketSession,
    ) -> Result<TicketRedemption, StoreError>;
    /// Deletes the user's code of `kind` (no guess left). False when there was none.
    async fn delete_code(&self, user_id: UserId, kind: CodeKind) -> Result<bool, StoreError>;
}
