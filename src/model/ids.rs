//! Typed identifiers, so a user id cannot be passed where a key id is expected.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Row id of a user (`auth.users.id`), also the JWT `sub`.
    UserId
);
uuid_id!(
    /// Row id of a stored security key; NOT the WebAuthn credential id.
    SecurityKeyId
);
uuid_id!(
    /// Row id of a refresh token: stays the same across rotations, so it names a token family.
    RefreshTokenId
);
uuid_id!(
    /// Row id of a pending WebAuthn ceremony.
    ChallengeId
);
uuid_id!(
    /// Row id of a mail in the outbox, also the mail's `Message-ID`: stable across attempts,
    /// so a receiver can recognise a mail sent twice (a crash after the server took it).
    MailId
);

/// The authenticator's credential id: opaque bytes, base64url without padding on the wire
/// and in `auth.user_security_keys.credential_id` (as Nhost stores it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialId(Vec<u8>);

impl CredentialId {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn from_base64url(text: &str) -> Option<Self> {
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .ok()
            .map(Self)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }
}
