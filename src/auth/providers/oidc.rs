//! OpenID Connect providers (Google, Microsoft's Azure AD and Entra ID, LinkedIn, Apple) with
//! the `openidconnect` crate: the provider's metadata and keys (cached, `discovery.rs`), the
//! authorization URL with a nonce and PKCE, and the code exchanged for an ID token whose
//! signature, issuer, audience, expiry and nonce are checked (`idclaims.rs`).

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, Scope, TokenResponse,
};
use sha2::{Digest, Sha256};

use super::callback_url;
use super::client::{Authorize, Outgoing, Tokens, token_error, tokens_of};
use super::idclaims::checked_claims;
use super::oidc_profiles;
use super::profiles::Profile;
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::{Secret, Timestamp};

/// The client `from_provider_metadata` builds: authorization URL set, token and userinfo
/// URLs as discovered.
type Oidc = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The client secret for the code exchange. Apple has no fixed one: each exchange signs a
/// fresh short-lived JWT with the team's key.
fn client_secret(provider: &ProviderConfig, now: Timestamp) -> Result<String> {
    match &provider.apple {
        Some(key) => super::apple::client_secret(provider, key, now),
        None => Ok(provider.client_secret.expose().to_owned()),
    }
}

fn client(
    rt: &Runtime,
    provider: &ProviderConfig,
    metadata: CoreProviderMetadata,
    secret: String,
) -> Result<Oidc> {
    let redirect = RedirectUrl::new(callback_url(&rt.config.server_url, provider))
        .map_err(|e| Error::Internal(format!("callback URL: {e}")))?;
    let mut client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect);
    // Apple and LinkedIn take the client credentials in the form body only.
    if matches!(provider.spec.name, "apple" | "linkedin") {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    if let Some(url) = &provider.authorization_url {
        client = client.set_auth_uri(openidconnect::AuthUrl::from_url(url.clone()));
    }
    Ok(client)
}

/// The authorization URL with `state`, `nonce`, the scopes and a PKCE S256 challenge.
pub(super) async fn authorize(
    rt: &Runtime,
    provider: &ProviderConfig,
    now: Timestamp,
    state: &str,
    nonce: &str,
) -> Result<Authorize> {
    let metadata = rt.oidc_cache.metadata(rt, provider, now).await?;
    // The URL does not carry the secret (so Apple's need not be signed for it).
    let client = client(rt, provider, metadata, String::new())?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (state, nonce) = (state.to_owned(), nonce.to_owned());
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        // The crate always asks for `openid`.
        .add_scopes(
            provider
                .scopes
                .iter()
                .filter(|s| *s != "openid")
                .cloned()
                .map(Scope::new),
        )
        .set_pkce_challenge(challenge);
    // Apple posts the answer (it must, once `name` or `email` is asked for): see
    // `http::providers::callback_post` for how the browser binding survives that.
    if provider.spec.name == "apple" {
        request = request.add_extra_param("response_mode", "form_post");
    }
    // As upstream: a browser signed in to several Microsoft accounts is asked which one.
    if provider.spec.name == "azuread" {
        request = request.add_extra_param("prompt", "select_account");
    }
    let (url, _, _) = request.url();
    Ok(Authorize {
        url,
        pkce_verifier: Secret::new(verifier.secret().clone()),
    })
}

/// Exchanges the code and checks the ID token (signature against the provider's keys,
/// issuer, audience = our client id, expiry, and the flow's nonce); the profile is its claims.
pub(super) async fn exchange(
    rt: &Runtime,
    provider: &ProviderConfig,
    now: Timestamp,
    code: &str,
    verifier: &Secret,
    nonce: &Secret,
) -> Result<(Tokens, Profile)> {
    let metadata = rt.oidc_cache.metadata(rt, provider, now).await?;
    let client = client(rt, provider, metadata, client_secret(provider, now)?)?;
    let http = Outgoing(&rt.http);
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| Error::Internal(format!("{}: {e}", provider.spec.name)))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
        .request_async(&http)
        .await
        .map_err(|e| Error::TokenExchange(token_error(e)))?;
    let id_token = response
        .id_token()
        .ok_or_else(|| Error::TokenExchange("no ID token in the answer".into()))?
        .to_string();
    let expected = Nonce::new(nonce.expose().to_owned());
    let claims =
        checked_claims(rt, provider, now, &id_token, &provider.client_id, &expected).await?;
    let profile = oidc_profiles::profile(provider.spec.name, &claims)
        .map_err(|e| Error::TokenExchange(e.to_owned()))?;
    Ok((tokens_of(&response), profile))
}

/// `grant_type=refresh_token` at the discovered token endpoint, with the client credentials
/// as for the code exchange (Apple's secret signed anew).
pub(super) async fn refresh(
    rt: &Runtime,
    provider: &ProviderConfig,
    now: Timestamp,
    refresh: &Secret,
) -> Result<Tokens> {
    let metadata = rt.oidc_cache.metadata(rt, provider, now).await?;
    let client = client(rt, provider, metadata, client_secret(provider, now)?)?;
    let http = Outgoing(&rt.http);
    let response = client
        .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_owned()))
        .map_err(|e| Error::ProviderRefresh(e.to_string()))?
        .request_async(&http)
        .await
        .map_err(|e| Error::ProviderRefresh(token_error(e)))?;
    Ok(tokens_of(&response))
}

/// `POST /signin/idtoken`: an ID token the app got from the provider itself (a native
/// sign-in SDK), checked against the provider's keys, its issuer, the audience
/// (`AUTH_PROVIDER_<NAME>_AUDIENCE`, else the client id) and its expiry. With a request
/// `nonce`, the token's `nonce` claim must be its SHA-256 in hex, as upstream.
// Nhost: accepts a token without the claim even when the request sends a nonce; a token
// minted for another purpose could then be replayed here.
pub(super) async fn verify_id_token(
    rt: &Runtime,
    provider: &ProviderConfig,
    now: Timestamp,
    id_token: &str,
    nonce: Option<&str>,
) -> Result<Profile> {
    let audience = provider
        .audience
        .clone()
        .unwrap_or_else(|| provider.client_id.clone());
    let expected = nonce.map(|n| hex::encode(Sha256::digest(n.as_bytes())));
    let check_nonce = move |claim: Option<&Nonce>| match (&expected, claim) {
        (None, _) => Ok(()),
        (Some(expected), Some(claim)) if Secret::new(expected.clone()).ct_eq(claim.secret()) => {
            Ok(())
        }
        (Some(_), _) => Err("nonce".to_owned()),
    };
    let claims = checked_claims(rt, provider, now, id_token, &audience, check_nonce)
        .await
        .map_err(|e| match e {
            Error::TokenExchange(why) => {
                tracing::debug!(error = %why, "ID token refused");
                Error::InvalidRequest("idToken refused")
            }
            other => other,
        })?;
    oidc_profiles::profile(provider.spec.name, &claims)
        .map_err(|_| Error::InvalidRequest("idToken refused"))
}
