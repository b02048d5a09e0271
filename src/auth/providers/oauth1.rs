//! OAuth 1.0a providers (Twitter, RFC 5849): a request token with our callback, the user's
//! authorization, the access token and its secret, then the profile. Every request is signed
//! with HMAC-SHA1 by the `oauth1-request` crate; its `Authorization` header goes out over our
//! one outgoing HTTP client (`Runtime.http`).
//!
//! OAuth 1.0a has no `state`: the flow's state rides in the query of the callback URL we give
//! the provider, which sends the browser back to it as given. The request token the callback
//! brings must be the one this flow got, and the browser-binding cookie is checked as for
//! every provider, so a callback from another browser or another authorization fails.

use oauth1_request::{Builder, Credentials, HmacSha1, ParameterList};
use url::Url;

use super::callback_url;
use super::client::{PROVIDER_TIMEOUT, Tokens};
use super::profiles::{self, Profile};
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::{RequestToken, Secret};
use crate::outgoing::{describe, read_limited};

/// The most we read of a provider's answer: a form of tokens, or a profile.
const RESPONSE_LIMIT: usize = 1 << 20;

/// Where to send the browser, and the request token the flow keeps.
pub(super) struct Authorize {
    pub url: Url,
    pub request_token: RequestToken,
}

/// The sealing context of a flow's request-token secret: bound to the flow, so a sealed
/// secret copied into another flow's row does not open.
fn secret_context(state_hash: &str) -> String {
    format!("provider-request-secret:{state_hash}")
}

/// Step one: asks the provider for a request token whose callback carries `state`, and
/// returns its authorization URL (`?oauth_token=…`).
pub(super) async fn authorize(
    rt: &Runtime,
    provider: &ProviderConfig,
    state: &str,
    state_hash: &str,
) -> Result<Authorize> {
    let internal = |what: String| Error::Internal(format!("{}: {what}", provider.spec.name));
    let endpoint = |url: &Option<Url>, name: &str| {
        url.clone()
            .ok_or_else(|| internal(format!("no {name} URL")))
    };
    let request_token_url = endpoint(&provider.request_token_url, "request-token")?;
    let mut url = endpoint(&provider.authorization_url, "authorization")?;
    let mut callback = Url::parse(&callback_url(&rt.config.server_url, provider))
        .map_err(|e| internal(format!("callback URL: {e}")))?;
    callback.query_pairs_mut().append_pair("state", state);

    let mut builder = Builder::<_, _>::new(client(provider), HmacSha1::new());
    builder.callback(callback.as_str());
    // Nhost reports a refused request token as internal-server-error too: it is the
    // operator's to fix (a wrong consumer key or secret, or an unregistered callback URL).
    let form = signed_request(rt, &builder, reqwest::Method::POST, &request_token_url, &[])
        .await
        .map_err(|e| internal(format!("request token: {e}")))?;
    let confirmed = field(&form, "oauth_callback_confirmed");
    if confirmed.is_none_or(|c| c.expose() != "true") {
        return Err(internal("request token: callback not confirmed".into()));
    }
    let (Some(token), Some(secret)) = (
        field(&form, "oauth_token"),
        field(&form, "oauth_token_secret"),
    ) else {
        return Err(internal("request token: no oauth_token or secret".into()));
    };
    let secret_sealed = rt
        .sealer
        .seal(&secret_context(state_hash), secret.expose().as_bytes())?;
    url.query_pairs_mut()
        .append_pair("oauth_token", token.expose());
    Ok(Authorize {
        url,
        request_token: RequestToken {
            token: token.expose().to_owned(),
            secret_sealed,
        },
    })
}

/// What the provider's redirect back carried.
pub(super) struct Verified<'a> {
    pub oauth_token: Option<&'a str>,
    pub oauth_verifier: Option<&'a str>,
}

/// Steps three and four: the authorized request token exchanged (with the verifier) for the
/// access token and its secret, then the profile read with them.
pub(super) async fn exchange(
    rt: &Runtime,
    provider: &ProviderConfig,
    state_hash: &str,
    request: &RequestToken,
    back: Verified<'_>,
) -> Result<(Tokens, Profile)> {
    let (Some(oauth_token), Some(verifier)) = (
        back.oauth_token.filter(|t| !t.is_empty()),
        back.oauth_verifier.filter(|v| !v.is_empty()),
    ) else {
        return Err(Error::InvalidRequest("no oauth_token or oauth_verifier"));
    };
    // The authorization the browser brings back must be the one this flow asked for.
    if !Secret::new(request.token.clone()).ct_eq(oauth_token) {
        tracing::warn!(
            event = "provider.invalid_state",
            "callback for another request token"
        );
        return Err(Error::InvalidState);
    }
    let secret = rt
        .sealer
        .open(&secret_context(state_hash), &request.secret_sealed)?;
    let secret = String::from_utf8(secret.to_vec())
        .map_err(|_| Error::Internal("request-token secret is not text".into()))?;
    let token_url = provider
        .token_url
        .clone()
        .ok_or_else(|| Error::Internal(format!("{}: no token URL", provider.spec.name)))?;

    let mut builder = Builder::new(client(provider), HmacSha1::new());
    builder
        .token(Credentials::new(request.token.clone(), secret))
        .verifier(verifier);
    // Nhost: reports a refused access token as oauth-profile-fetch-failed; it is the token
    // exchange that failed.
    let form = signed_request(rt, &builder, reqwest::Method::POST, &token_url, &[])
        .await
        .map_err(Error::TokenExchange)?;
    let (Some(access), Some(access_secret)) = (
        field(&form, "oauth_token"),
        field(&form, "oauth_token_secret"),
    ) else {
        return Err(Error::TokenExchange(
            "no oauth_token or oauth_token_secret in the answer".into(),
        ));
    };
    let profile = fetch_profile(rt, provider, access.expose(), access_secret.expose()).await?;
    let tokens = Tokens {
        access,
        // OAuth 1.0a has no refresh token (the access token does not expire); what a later
        // request needs besides the token is its secret, kept in the link's second slot.
        refresh: Some(access_secret),
        expires_in: None,
    };
    Ok((tokens, profile))
}

/// `verify_credentials` with `include_email=true`, signed with the access token.
async fn fetch_profile(
    rt: &Runtime,
    provider: &ProviderConfig,
    access: &str,
    access_secret: &str,
) -> Result<Profile> {
    let url = provider
        .userinfo_url
        .as_ref()
        .ok_or_else(|| Error::Internal(format!("{}: no profile URL", provider.spec.name)))?;
    let failed = |what: String| Error::ProfileFetch(format!("{}: {what}", url.path()));
    let mut builder = Builder::new(client(provider), HmacSha1::new());
    builder.token(Credentials::new(
        access.to_owned(),
        access_secret.to_owned(),
    ));
    let body = signed_call(
        rt,
        &builder,
        reqwest::Method::GET,
        url,
        &[("include_email", "true")],
    )
    .await
    .map_err(failed)?;
    let user: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| failed(format!("not JSON: {e}")))?;
    profiles::twitter(&user).map_err(|e| failed(e.to_owned()))
}

/// The consumer key and secret.
fn client(provider: &ProviderConfig) -> Credentials<String> {
    Credentials::new(
        provider.client_id.clone(),
        provider.client_secret.expose().to_owned(),
    )
}

type Signer<'a> = Builder<'a, HmacSha1, String>;

/// A signed request whose answer is a form (`oauth_token=…&oauth_token_secret=…`).
async fn signed_request(
    rt: &Runtime,
    builder: &Signer<'_>,
    method: reqwest::Method,
    url: &Url,
    extra: &[(&str, &str)],
) -> std::result::Result<Vec<(String, Secret)>, String> {
    let body = signed_call(rt, builder, method, url, extra).await?;
    Ok(url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), Secret::new(v.into_owned())))
        .collect())
}

/// Sends `method url` with `extra` and any query the URL has as query parameters, all of
/// them covered by the signature; returns the body of a 2xx answer. Errors name the status
/// or the failure, never a token.
async fn signed_call(
    rt: &Runtime,
    builder: &Signer<'_>,
    method: reqwest::Method,
    url: &Url,
    extra: &[(&str, &str)],
) -> std::result::Result<Vec<u8>, String> {
    // The signature covers the URL without its query, and every query parameter separately
    // (RFC 5849 §3.4.1): an overridden endpoint may carry a query of its own.
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let params = ParameterList::new(params);
    let authorization = builder.authorize(method.as_str(), base.as_str(), &params);
    let target = oauth1_request::to_query(base.as_str().to_owned(), &params);
    let response = rt
        .http
        .request(method, target)
        .header(reqwest::header::AUTHORIZATION, authorization)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(PROVIDER_TIMEOUT)
        .send()
        .await
        .map_err(describe)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("status {status}"));
    }
    read_limited(response, RESPONSE_LIMIT).await
}

/// A field of a form answer, if present and not empty.
fn field(form: &[(String, Secret)], name: &str) -> Option<Secret> {
    form.iter()
        .find(|(k, v)| k == name && !v.expose().is_empty())
        .map(|(_, v)| Secret::new(v.expose()))
}
