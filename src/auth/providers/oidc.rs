//! OpenID Connect providers (Google so far) with the `openidconnect` crate: discovery from the
//! issuer, the authorization URL with a nonce and PKCE, and the code exchanged for an ID token
//! whose signature (the provider's JWKS), issuer, audience, expiry and nonce are checked.

use openidconnect::OAuth2TokenResponse;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier,
    CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, JsonWebKeySetUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use sha2::{Digest, Sha256};
use url::Url;

use super::callback_url;
use super::client::{Authorize, Outgoing, Tokens, token_error};
use super::profiles::Profile;
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::Secret;

/// The provider's metadata and keys, discovered from its issuer. (Asked on each flow's start
/// and callback for now; a cache honouring `Cache-Control` is part of issue 19's ID-token work.)
pub(super) async fn discover(
    rt: &Runtime,
    provider: &ProviderConfig,
) -> Result<CoreProviderMetadata> {
    let failed =
        |what: String| Error::Internal(format!("{} discovery: {what}", provider.spec.name));
    let issuer = provider
        .issuer
        .as_ref()
        .ok_or_else(|| failed("no issuer".into()))?;
    let http = Outgoing(&rt.http);
    let mut metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(issuer_text(issuer)).map_err(|e| failed(e.to_string()))?,
        &http,
    )
    .await
    .map_err(|e| failed(e.to_string()))?;
    if let Some(jwks_url) = &provider.jwks_url {
        let url = JsonWebKeySetUrl::from_url(jwks_url.clone());
        let keys = CoreJsonWebKeySet::fetch_async(&url, &http)
            .await
            .map_err(|e| failed(format!("JWKS: {e}")))?;
        metadata = metadata.set_jwks(keys);
    }
    Ok(metadata)
}

/// The issuer as written: `Url` adds a `/` to a bare origin, which the ID token's `iss` and
/// the discovery document do not have.
fn issuer_text(issuer: &Url) -> String {
    if issuer.path() == "/" && issuer.query().is_none() {
        issuer.as_str().trim_end_matches('/').to_owned()
    } else {
        issuer.as_str().to_owned()
    }
}

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

fn client(rt: &Runtime, provider: &ProviderConfig, metadata: CoreProviderMetadata) -> Result<Oidc> {
    let redirect = RedirectUrl::new(callback_url(&rt.config.server_url, provider))
        .map_err(|e| Error::Internal(format!("callback URL: {e}")))?;
    let mut client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(
            provider.client_secret.expose().to_owned(),
        )),
    )
    .set_redirect_uri(redirect);
    if let Some(url) = &provider.authorization_url {
        client = client.set_auth_uri(openidconnect::AuthUrl::from_url(url.clone()));
    }
    Ok(client)
}

/// The authorization URL with `state`, `nonce`, the scopes and a PKCE S256 challenge.
pub(super) async fn authorize(
    rt: &Runtime,
    provider: &ProviderConfig,
    state: &str,
    nonce: &str,
) -> Result<Authorize> {
    let client = client(rt, provider, discover(rt, provider).await?)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (state, nonce) = (state.to_owned(), nonce.to_owned());
    let (url, _, _) = client
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
        .set_pkce_challenge(challenge)
        .url();
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
    code: &str,
    verifier: &Secret,
    nonce: &Secret,
) -> Result<(Tokens, Profile)> {
    let client = client(rt, provider, discover(rt, provider).await?)?;
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
        .ok_or_else(|| Error::TokenExchange("no ID token in the answer".into()))?;
    let claims = id_token
        .claims(
            &client.id_token_verifier(),
            &Nonce::new(nonce.expose().to_owned()),
        )
        .map_err(|e| Error::TokenExchange(format!("ID token refused: {e}")))?;
    let profile = profile_of(claims);
    let tokens = Tokens {
        access: Secret::new(response.access_token().secret().clone()),
        refresh: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        expires_in: response.expires_in(),
    };
    Ok((tokens, profile))
}

/// The account an ID token's checked claims describe.
fn profile_of(claims: &CoreIdTokenClaims) -> Profile {
    let email = claims.email().map(|e| e.as_str().to_lowercase());
    Profile {
        id: claims.subject().as_str().to_owned(),
        email_verified: email.is_some() && claims.email_verified() == Some(true),
        email,
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
        avatar_url: claims
            .picture()
            .and_then(|p| p.get(None))
            .map(|p| p.as_str().to_owned()),
    }
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
    id_token: &str,
    nonce: Option<&str>,
) -> Result<Profile> {
    let metadata = discover(rt, provider).await?;
    let audience = provider
        .audience
        .clone()
        .unwrap_or_else(|| provider.client_id.clone());
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(audience),
        metadata.issuer().clone(),
        metadata.jwks().clone(),
    );
    let token: CoreIdToken = id_token
        .parse()
        .map_err(|_| Error::InvalidRequest("idToken is not a JWT"))?;
    let expected = nonce.map(|n| hex::encode(Sha256::digest(n.as_bytes())));
    let check_nonce = move |claim: Option<&Nonce>| match (&expected, claim) {
        (None, _) => Ok(()),
        (Some(expected), Some(claim)) if Secret::new(expected.clone()).ct_eq(claim.secret()) => {
            Ok(())
        }
        (Some(_), _) => Err("nonce".to_owned()),
    };
    let claims = token.claims(&verifier, check_nonce).map_err(|e| {
        tracing::debug!(error = %e, "ID token refused");
        Error::InvalidRequest("idToken refused")
    })?;
    Ok(profile_of(claims))
}
