//! Plain data shared by every layer: identifiers, users, keys, challenges, secrets. No I/O.

mod claim_path;
mod code;
mod context;
mod ids;
mod mail;
mod pat;
mod phone;
mod provider;
mod redirect;
mod secret;
mod user;
mod webauthn;

pub use claim_path::ClaimPath;
pub use code::{CodeAttempt, CodeKind, NewCode};
pub use context::{AuditEntry, RequestContext, USER_AGENT_MAX};
pub use ids::{ChallengeId, CredentialId, MailId, RefreshTokenId, SecurityKeyId, UserId};
pub use mail::OutboxMail;
pub use pat::{NewPat, PatInfo};
pub use phone::PhoneNumber;
pub use provider::{ProviderFlow, ProviderLink, ProviderSessionStash, RequestToken};
pub use redirect::RedirectUrl;
pub use secret::Secret;
pub use user::{NewUser, User};
pub use webauthn::{Challenge, NewChallenge, NewSecurityKey, Purpose, SecurityKey};

/// All timestamps are UTC; each backend stores them in its native form.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
