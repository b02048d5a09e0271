//! The `oauth2` crate over our one outgoing HTTP client (`Runtime.http`, with its timeouts,
//! proxies and roots): authorization URLs with PKCE, the code exchange, and profile requests.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RefreshToken, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{apis, callback_url};
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::Secret;
use crate::outgoing::{describe, read_limited};

/// The provider's authorization URL for one flow.
pub(super) struct Authorize {
    pub url: Url,
    pub pkce_verifier: Secret,
}

/// The authorization URL with `state`, the scopes, a PKCE S256 challenge where the provider
/// takes one, and the provider's extra parameters: the request's `selectors` if it named
/// any (WorkOS's connection or organization), else the configured defaults, so the provider
/// never gets two selectors that disagree.
pub(super) fn authorize(
    runtime: &Runtime,
    provider: &ProviderConfig,
    state: &str,
    selectors: &[(&'static str, String)],
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
    let quirks = apis::quirks(provider.spec.name);
    // The verifier is kept with the flow either way; it only travels where PKCE is used.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = state.to_owned();
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new));
    if quirks.pkce {
        request = request.set_pkce_challenge(challenge);
    }
    for (name, value) in quirks.authorize_params {
        request = request.add_extra_param(*name, *value);
    }
    let chosen = if selectors.is_empty() {
        &provider.authorize_params[..]
    } else {
        selectors
    };
    for (name, value) in chosen {
        request = request.add_extra_param(*name, value.clone());
    }
    let (url, _) = request.url();
    Ok(Authorize {
        url,
        pkce_verifier: Secret::new(verifier.secret().clone()),
    })
}

/// How long one request to a provider may take (token endpoint, profile API).
pub(super) const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most we read of a provider's answer; tokens and profiles are a few kilobytes.
const RESPONSE_LIMIT: usize = 1 << 20;

/// The `oauth2` crate's HTTP client trait over `Runtime.http`, so the code exchange uses the
/// same proxies, roots and timeouts as every other outgoing request (the crate's own reqwest
/// feature would bring a second reqwest major).
pub(super) struct Outgoing<'a>(pub &'a reqwest::Client);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct OutgoingError(String);

impl<'c> AsyncHttpClient<'c> for Outgoing<'_> {
    type Error = OutgoingError;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<HttpResponse, OutgoingError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .timeout(PROVIDER_TIMEOUT)
                .send()
                .await
                .map_err(|e| OutgoingError(describe(e)))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = read_limited(response, RESPONSE_LIMIT)
                .await
                .map_err(OutgoingError)?;
            let mut out = oauth2::http::Response::new(body);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

/// The provider's tokens for the signed-in account.
pub(super) struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
    /// The access token's lifetime, when the provider says (`expires_in`).
    pub expires_in: Option<Duration>,
}

/// A token endpoint's answer. Laxer than the `oauth2` crate's standard response in one way:
/// WorkOS sends no `token_type` (and puts the profile beside the token).
#[derive(Debug, Deserialize, Serialize)]
pub(super) struct ProviderToken {
    access_token: AccessToken,
    refresh_token: Option<RefreshToken>,
    expires_in: Option<u64>,
    /// Whatever `token_type` says (absent at WorkOS, `bearer` or `Bearer` elsewhere), every
    /// provider here takes the access token as a bearer token.
    #[serde(skip, default = "bearer")]
    bearer: BasicTokenType,
    /// WorkOS: the signed-in account's profile.
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

impl TokenResponse for ProviderToken {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.bearer
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

type ProviderClient = oauth2::Client<
    BasicErrorResponse,
    ProviderToken,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// A plain OAuth 2 provider's client for its token endpoint, with the client credentials
/// where that provider wants them.
fn token_client(provider: &ProviderConfig) -> Result<ProviderClient> {
    let token_url = provider
        .token_url
        .clone()
        .ok_or_else(|| Error::Internal(format!("{}: no token URL", provider.spec.name)))?;
    let quirks = apis::quirks(provider.spec.name);
    Ok(
        oauth2::Client::new(ClientId::new(provider.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                provider.client_secret.expose().to_owned(),
            ))
            .set_auth_type(if quirks.credentials_in_body {
                AuthType::RequestBody
            } else {
                AuthType::BasicAuth
            })
            .set_token_uri(TokenUrl::from_url(token_url)),
    )
}

/// Exchanges the authorization code (with the flow's PKCE verifier, where the provider
/// takes PKCE) at the token endpoint. Returns the tokens and the whole answer.
pub(super) async fn exchange(
    runtime: &Runtime,
    provider: &ProviderConfig,
    code: &str,
    verifier: &Secret,
) -> Result<(Tokens, ProviderToken)> {
    let redirect = oauth2::RedirectUrl::new(callback_url(&runtime.config.server_url, provider))
        .map_err(|e| Error::Internal(format!("{}: callback URL: {e}", provider.spec.name)))?;
    let client = token_client(provider)?.set_redirect_uri(redirect);
    let http = Outgoing(&runtime.http);
    let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if apis::quirks(provider.spec.name).pkce {
        request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()));
    }
    let token = request
        .request_async(&http)
        .await
        .map_err(|e| Error::TokenExchange(token_error(e)))?;
    Ok((tokens_of(&token), token))
}

/// `grant_type=refresh_token` at a plain OAuth 2 provider's token endpoint.
pub(super) async fn refresh(
    runtime: &Runtime,
    provider: &ProviderConfig,
    refresh: &Secret,
) -> Result<Tokens> {
    let http = Outgoing(&runtime.http);
    let token = token_client(provider)?
        .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_owned()))
        .request_async(&http)
        .await
        .map_err(|e| Error::ProviderRefresh(token_error(e)))?;
    Ok(tokens_of(&token))
}

/// The tokens of any token endpoint's answer.
pub(super) fn tokens_of(token: &impl TokenResponse) -> Tokens {
    Tokens {
        access: Secret::new(token.access_token().secret().clone()),
        refresh: token
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        expires_in: token.expires_in(),
    }
}

/// For logs: the provider's error code, or what failed on the way. Never a token.
pub(super) fn token_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse>(
    err: oauth2::RequestTokenError<RE, T>,
) -> String {
    match err {
        oauth2::RequestTokenError::ServerResponse(response) => {
            format!("the provider refused the code: {response}")
        }
        oauth2::RequestTokenError::Request(e) => format!("request: {e}"),
        oauth2::RequestTokenError::Parse(e, _) => format!("unreadable token response: {e}"),
        oauth2::RequestTokenError::Other(e) => e,
    }
}

/// GET `url` with the access token, as JSON.
pub(super) async fn get_json(
    runtime: &Runtime,
    url: &Url,
    access: &Secret,
) -> Result<serde_json::Value> {
    get_json_with(runtime, url, access, &[]).await
}

/// GET `url` with the access token and these extra headers (Twitch's `Client-Id`), as JSON.
pub(super) async fn get_json_with(
    runtime: &Runtime,
    url: &Url,
    access: &Secret,
    headers: &[(&str, &str)],
) -> Result<serde_json::Value> {
    let failed = |what: String| Error::ProfileFetch(format!("{}: {what}", url.path()));
    let mut request = runtime
        .http
        .get(url.clone())
        .bearer_auth(access.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(PROVIDER_TIMEOUT);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.map_err(|e| failed(describe(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("status {status}")));
    }
    let body = read_limited(response, RESPONSE_LIMIT)
        .await
        .map_err(failed)?;
    serde_json::from_slice(&body).map_err(|e| failed(format!("not JSON: {e}")))
}
