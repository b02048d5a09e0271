//! Personal access tokens (issue #18): `auth.refresh_tokens` rows of type `pat`, stored as
//! the token's hash, signing in with `/signin/pat` until they expire.

use super::{RefreshTokenId, Timestamp, UserId};

/// A new token to store: its hash only.
#[derive(Debug, Clone)]
pub struct NewPat {
    pub id: RefreshTokenId,
    pub user_id: UserId,
    /// `\x` + hex(SHA-256(token)), as every refresh token.
    pub hash: String,
    pub expires_at: Timestamp,
    pub metadata: Option<serde_json::Value>,
    pub now: Timestamp,
}

/// What `GET /user/pats` shows of a token: never the token or its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct PatInfo {
    pub id: RefreshTokenId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub metadata: Option<serde_json::Value>,
}
