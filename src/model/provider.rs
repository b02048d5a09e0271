//! Sign-in with an OAuth or OpenID provider: the state kept between the redirect to the
//! provider and its callback.

use super::{Secret, Timestamp, UserId};

/// One flow between `GET /signin/provider/{provider}` and its callback. Single use.
#[derive(Debug, Clone)]
pub struct ProviderFlow {
    /// Hex SHA-256 of the `state` sent to the provider: the row's key.
    pub state_hash: String,
    /// The provider's name (`github`), as in `auth.providers`.
    pub provider: String,
    /// Hex SHA-256 of the browser-binding cookie's value.
    pub browser_hash: String,
    /// The sign-up options, checked before leaving, as JSON.
    pub options: serde_json::Value,
    /// The PKCE code verifier, sent with the code to the token endpoint.
    pub pkce_verifier: Secret,
    /// The OpenID nonce expected in the ID token.
    pub nonce: Option<Secret>,
    /// `connect`: link the provider account to this signed-in user instead of signing in.
    pub connect_user: Option<UserId>,
    /// OAuth 1.0a (Twitter) only: the request token the provider issued for this flow.
    pub request_token: Option<RequestToken>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// OAuth 1.0a's temporary credentials. The token goes through the browser (it names the
/// authorization at the provider); its secret signs the access-token request and is sealed
/// with the encryption key before it gets here.
#[derive(Debug, Clone)]
pub struct RequestToken {
    pub token: String,
    pub secret_sealed: String,
}

/// A provider account linked to a user (`auth.user_providers`). The tokens are sealed with
/// the encryption key (`auth::encryption`) before they get here: never stored in clear.
#[derive(Debug, Clone)]
pub struct ProviderLink {
    pub provider: String,
    /// The account's id at the provider (GitHub's numeric id, an OpenID `sub`).
    pub provider_user_id: String,
    pub access_token_sealed: String,
    pub refresh_token_sealed: Option<String>,
}

/// The provider's tokens from one provider sign-in, kept for a single retrieval by the
/// session that sign-in created (`GET /signin/provider/{provider}/callback/tokens`).
#[derive(Debug, Clone)]
pub struct ProviderSessionStash {
    /// The session (refresh-token family) the sign-in created: the only one that may take it.
    pub refresh_token_id: super::RefreshTokenId,
    pub user_id: UserId,
    pub provider: String,
    /// The provider session as JSON, sealed with the family id in the sealing context.
    pub session_sealed: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
