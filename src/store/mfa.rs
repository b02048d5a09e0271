//! TOTP multi-factor authentication (issue #18): the secret in Nhost's `users.totp_secret`,
//! the last accepted time step, recovery codes, and the second step of a password sign-in.

use async_trait::async_trait;

use super::{NewRefreshToken, StoreError};
use crate::model::{Timestamp, UserId};

/// What proves the second factor at `POST /signin/mfa/totp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaProof {
    /// A TOTP code of this time step (checked by the caller): accepted only if no later or
    /// equal step was accepted at sign-in before.
    TotpStep(i64),
    /// A recovery code, by its hash: accepted only if the user still has it.
    RecoveryCode(String),
}

/// What `finish_mfa_signin` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaSignIn {
    /// The ticket and the proof were used up and the session stored.
    SignedIn,
    /// The ticket is gone (used, expired, or replaced): nothing changed.
    TicketGone,
    /// The time step was already used (or an earlier one), or the recovery code is not one
    /// the user has: nothing changed.
    ProofUsed,
}

#[async_trait]
pub trait MfaStore: Send + Sync {
    /// The user's stored TOTP secret, sealed or (migrated from Nhost) clear text. `None`:
    /// no secret, or no such user.
    async fn totp_secret_of(&self, user_id: UserId) -> Result<Option<String>, StoreError>;
    /// Stores `secret` as the user's TOTP secret unless TOTP is active. False when it is
    /// (or there is no such user): nothing is written.
    async fn set_totp_secret(
        &self,
        user_id: UserId,
        secret: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Replaces the stored secret `old` with `new` (the same secret re-sealed). False when
    /// the stored value is no longer `old`.
    async fn reseal_totp_secret(
        &self,
        user_id: UserId,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;
    /// Turns TOTP on if it is off and the stored secret is still `secret` (the one the code
    /// was checked against). False otherwise: nothing is written.
    async fn activate_totp(
        &self,
        user_id: UserId,
        secret: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Turns TOTP off if it is on, clearing the secret, the recovery codes and the last
    /// accepted step, together. False when TOTP was off: nothing is written.
    async fn deactivate_totp(&self, user_id: UserId, now: Timestamp) -> Result<bool, StoreError>;
    /// Replaces the user's recovery codes with `hashes`, while TOTP is active. False when it
    /// is not: nothing is written.
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        hashes: &[String],
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// How many unused recovery codes the user has.
    async fn recovery_codes_left(&self, user_id: UserId) -> Result<u32, StoreError>;
    /// Counts one guess at the unexpired `mfaTotp:` ticket stored as `hash`, if fewer than
    /// `max_attempts` were made, and says whose it is and how many guesses it has had.
    /// `None`: no such ticket, expired, or no guess left. At most `max_attempts` callers ever
    /// get `Some` for one ticket.
    async fn attempt_mfa_ticket(
        &self,
        hash: &str,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<(UserId, u32)>, StoreError>;
    /// In one transaction: takes the user's unexpired `mfaTotp:` ticket stored as
    /// `ticket_hash`, spends `proof`, and stores `session`. All or nothing: for one ticket,
    /// one time step or one recovery code, at most one caller ever gets `SignedIn`, across
    /// replicas.
    async fn finish_mfa_signin(
        &self,
        user_id: UserId,
        ticket_hash: &str,
        proof: &MfaProof,
        session: &NewRefreshToken,
    ) -> Result<MfaSignIn, StoreError>;
}
