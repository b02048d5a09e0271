//! Users as the domain sees them (the `auth.users` row plus its roles).

use super::{Timestamp, UserId};

/// A stored user with its roles (`auth.user_roles`).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub created_at: Timestamp,
    pub display_name: String,
    pub avatar_url: String,
    pub locale: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub is_anonymous: bool,
    pub disabled: bool,
    pub default_role: String,
    pub roles: Vec<String>,
    pub metadata: Option<serde_json::Value>,
    pub active_mfa_type: Option<String>,
}

/// Everything needed to insert a user; roles go to `auth.user_roles` in the same transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub display_name: String,
    pub avatar_url: String,
    pub locale: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// E.164 (`PhoneNumber`), for users who sign in by SMS; unverified until a code is used.
    pub phone_number: Option<String>,
    pub is_anonymous: bool,
    pub disabled: bool,
    pub default_role: String,
    pub roles: Vec<String>,
    pub metadata: Option<serde_json::Value>,
    /// `verifyEmail:<uuid>` style ticket and its expiry, stored on the user row as Nhost does.
    pub ticket: Option<(String, Timestamp)>,
    /// bcrypt hash (`$2b$…`) for e-mail and password users.
    pub password_hash: Option<String>,
    /// The mail carrying `ticket`, stored into the outbox with the user.
    pub mail: Option<super::OutboxMail>,
    /// A provider account linked with the new user (sign-up through a provider).
    pub provider: Option<super::ProviderLink>,
    pub now: Timestamp,
}

impl NewUser {
    /// The user as `create_user` stores it, so a fresh user need not be read back.
    pub fn to_user(&self) -> User {
        let mut roles = self.roles.clone();
        roles.sort();
        roles.dedup();
        User {
            id: self.id,
            created_at: self.now,
            display_name: self.display_name.clone(),
            avatar_url: self.avatar_url.clone(),
            locale: self.locale.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            phone_number: self.phone_number.clone(),
            phone_number_verified: false,
            is_anonymous: self.is_anonymous,
            disabled: self.disabled,
            default_role: self.default_role.clone(),
            roles,
            metadata: self.metadata.clone(),
            active_mfa_type: None,
        }
    }
}
