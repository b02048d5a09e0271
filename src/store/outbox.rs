//! The mail outbox. Mails are inserted by the store methods that write the ticket they carry
//! (`create_user`, `set_ticket`, `set_new_email`, `deanonymize`), in the same transaction;
//! these methods take them from there to delivery.

use async_trait::async_trait;

use super::StoreError;
use crate::model::{MailId, OutboxMail, Timestamp};

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims at most `limit` mails due at `now` (`next_attempt_at <= now`), oldest due
    /// first: each gets `next_attempt_at = lease_until` and one more attempt, in one
    /// statement, and is returned as it is now. A claimed mail is due for no one else until
    /// `lease_until`, across replicas (`FOR UPDATE SKIP LOCKED` on PostgreSQL: concurrent
    /// claims neither wait for nor share rows).
    async fn claim_due_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError>;
    /// Deletes the mail: sent, or given up. False when it was gone already.
    async fn delete_mail(&self, id: MailId) -> Result<bool, StoreError>;
    /// After a failed attempt: due again at `next_attempt_at`, with `last_error` (a kind and
    /// code, no secret). Only if the mail is still at attempt `attempts`, i.e. nobody claimed
    /// it since (its lease ran out): false otherwise, and nothing changes.
    async fn retry_mail_at(
        &self,
        id: MailId,
        attempts: u32,
        next_attempt_at: Timestamp,
        last_error: &str,
    ) -> Result<bool, StoreError>;
    /// Mails in the outbox, due or not.
    async fn outbox_depth(&self) -> Result<u64, StoreError>;
}
