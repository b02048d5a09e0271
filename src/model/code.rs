//! One-time sign-in codes and links (issue #17): one per user and kind, stored hashed.

use super::{Timestamp, UserId};

/// What a one-time code signs in with. Each kind has its own slot, so a new code replaces
/// the earlier one of its kind only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// The `passwordlessEmail:` ticket of a magic link, redeemed by `GET /verify`.
    MagicLink,
    /// A 6-digit code mailed by `/signin/otp/email`.
    EmailOtp,
    /// A 6-digit code sent by SMS.
    SmsOtp,
    /// The `mfaTotp:` ticket of a password sign-in with TOTP active (5 minutes), redeemed
    /// only by `POST /signin/mfa/totp` with a TOTP or recovery code.
    MfaTotp,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::MagicLink => "magic-link",
            CodeKind::EmailOtp => "otp-email",
            CodeKind::SmsOtp => "otp-sms",
            CodeKind::MfaTotp => "mfa-totp",
        }
    }

    /// True when the code was sent to the user's e-mail address (else to the phone number).
    pub fn by_email(self) -> bool {
        !matches!(self, CodeKind::SmsOtp)
    }
}

/// A code to store: only its hash, and the address it was sent to.
#[derive(Debug, Clone)]
pub struct NewCode {
    pub user_id: UserId,
    pub kind: CodeKind,
    pub address: String,
    pub hash: String,
    pub expires_at: Timestamp,
    pub now: Timestamp,
}

/// One counted guess at a stored code: the stored hash to compare with, and how many
/// guesses this one makes.
#[derive(Debug, Clone)]
pub struct CodeAttempt {
    pub hash: String,
    pub attempts: u32,
}
