//! Stored security keys and pending WebAuthn ceremonies.

use super::{CredentialId, SecurityKeyId, Timestamp, UserId};

/// A security key or passkey as stored in `auth.user_security_keys` (plus Latchkey's columns).
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityKey {
    pub id: SecurityKeyId,
    pub user_id: UserId,
    pub credential_id: CredentialId,
    /// The COSE_Key bytes from the attested credential data (Nhost stores the same bytes).
    pub public_key: Vec<u8>,
    pub counter: u32,
    pub transports: Vec<String>,
    pub nickname: Option<String>,
    pub aaguid: Option<uuid::Uuid>,
    /// `None` for keys registered by upstream Nhost, which never stored the flags.
    pub backup_eligible: Option<bool>,
    pub backup_state: Option<bool>,
    pub user_verified: bool,
    pub attestation_format: Option<String>,
    pub created_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// A key to insert, produced by a verified registration ceremony.
#[derive(Debug, Clone)]
pub struct NewSecurityKey {
    pub id: SecurityKeyId,
    pub credential_id: CredentialId,
    pub public_key: Vec<u8>,
    pub counter: u32,
    pub transports: Vec<String>,
    pub nickname: Option<String>,
    pub aaguid: Option<uuid::Uuid>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub user_verified: bool,
    pub attestation_format: String,
    pub now: Timestamp,
}

/// Which ceremony a challenge was issued for; a challenge only finishes its own flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Signup,
    Signin,
    AddKey,
    Elevate,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Signup => "signup",
            Purpose::Signin => "signin",
            Purpose::AddKey => "add-key",
            Purpose::Elevate => "elevate",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "signup" => Purpose::Signup,
            "signin" => Purpose::Signin,
            "add-key" => Purpose::AddKey,
            "elevate" => Purpose::Elevate,
            _ => return None,
        })
    }
}

/// A challenge to store when a ceremony begins.
#[derive(Debug, Clone)]
pub struct NewChallenge {
    /// The base64url challenge the client echoes in `clientDataJSON`: the lookup key.
    pub challenge: String,
    pub purpose: Purpose,
    /// The user the ceremony is bound to; `None` for discoverable sign-in and sign-up.
    pub user_id: Option<UserId>,
    pub rp_id: String,
    /// Opaque, serialised ceremony state (never sent to the client).
    pub state: String,
    pub expires_at: Timestamp,
    pub now: Timestamp,
}

/// A challenge taken (and thereby deleted) from the store.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub purpose: Purpose,
    pub user_id: Option<UserId>,
    pub rp_id: String,
    pub state: String,
    pub expires_at: Timestamp,
}
