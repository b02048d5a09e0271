//! The `oauth2` crate over our one outgoing HTTP client (`Runtime.http`, with its timeouts,
//! proxies and roots): authorization URLs with PKCE, and the code exchange.

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, Scope};
use url::Url;

use super::callback_url;
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::Secret;

/// The provider's authorization URL for one flow.
pub(super) struct Authorize {
    pub url: Url,
    pub pkce_verifier: Secret,
}

/// The authorization URL with `state`, the scopes and a PKCE S256 challenge.
pub(super) fn authorize(
    runtime: &Runtime,
    provider: &ProviderConfig,
    state: &str,
) -> Result<Authorize> {
    let auth_url = provider
        .authorization_url
        .clone()
        .ok_or_else(|| Error::Internal(format!("{}: no authorization URL", provider.spec.name)))?;
    let redirect = oauth2::RedirectUrl::new(callback_url(&runtime.config.server_url, provider))
        .map_err(|e| Error::Internal(format!("callback URL: {e}")))?;
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            provider.client_secret.expose().to_owned(),
        ))
        .set_auth_uri(AuthUrl::from_url(auth_url))
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = state.to_owned();
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorize {
        url,
        pkce_verifier: Secret::new(verifier.secret().clone()),
    })
}
