//! Sign-in with OAuth and OpenID Connect providers (issue 19): the redirect to the provider
//! and, on its callback, the user found, linked or created.
//!
//! Safer than upstream: the state names a single-use database row (options, PKCE verifier,
//! `connect` user) rather than carrying them signed through the provider, and it only
//! finishes in the browser that started it (a cookie whose hash the row holds).

mod apis;
mod apple;
mod callback;
mod client;
mod discovery;
mod idclaims;
mod idtoken;
mod oauth1;
mod oidc;
mod oidc_profiles;
mod profiles;
mod tokens;

pub(crate) use callback::sealed_id_token_link;
pub use callback::{ProviderCallback, ProviderDone};
pub use discovery::OidcCache;
pub use idtoken::IdTokenSignIn;
pub use profiles::Profile;
pub use tokens::{HANDOVER_TTL, ProviderSession};

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use url::Url;

use super::Auth;
use super::error::Error;
use super::signup::{SignUpOptions, checked_redirect, validate_options};
use crate::config::providers::{self as specs, Protocol, ProviderConfig};
use crate::model::{ProviderFlow, RedirectUrl, Secret};

/// How long a flow may take from the redirect to the callback.
pub const FLOW_TTL: Duration = Duration::from_secs(600);

/// A failed provider request: what went wrong, and where to redirect with it. `None` means
/// answer with the error itself (an unknown provider, a `redirectTo` not allowed).
#[derive(Debug)]
pub struct ProviderFailure {
    pub redirect_to: Option<RedirectUrl>,
    pub error: Error,
}

/// Where to send the browser, and the value of its binding cookie.
#[derive(Debug)]
pub struct ProviderRedirect {
    pub authorize_url: Url,
    /// The random value the browser must bring back to the callback.
    pub browser_binding: Secret,
}

/// What `GET /signin/provider/{provider}` asked for.
#[derive(Debug, Default)]
pub struct ProviderSignIn {
    pub options: SignUpOptions,
    /// `connect`: an access token; the provider account is linked to its user.
    pub connect: Option<String>,
    /// The binding cookie the browser already has, reused so flows in two tabs both finish.
    pub browser_binding: Option<String>,
    /// Nhost's `providerSpecificParams`, sent by both SDKs as plain query parameters.
    pub selectors: ProviderSelectors,
}

/// Which of a provider's connections to sign in with, chosen per request: WorkOS's
/// `connection` and `organization` (Nhost's `providerSpecificParams`). Other providers take
/// none and ignore them.
#[derive(Debug, Default)]
pub struct ProviderSelectors {
    pub connection: Option<String>,
    pub organization: Option<String>,
}

/// The most a selector may hold; WorkOS's ids are about thirty characters.
const SELECTOR_LIMIT: usize = 256;

impl ProviderSelectors {
    /// The authorization parameters these become for `provider`: those it takes (its
    /// `Quirks::selectors`); an empty, overlong or control-character value is refused before
    /// the browser leaves.
    fn params(&self, provider: &ProviderConfig) -> Result<Vec<(&'static str, String)>, Error> {
        let taken = apis::quirks(provider.spec.name).selectors;
        let named = [
            ("connection", &self.connection),
            ("organization", &self.organization),
        ];
        let mut params = Vec::new();
        for (name, value) in named {
            let Some(value) = value.as_ref().filter(|_| taken.contains(&name)) else {
                continue;
            };
            if value.is_empty()
                || value.len() > SELECTOR_LIMIT
                || value.chars().any(char::is_control)
            {
                return Err(Error::InvalidRequest("invalid provider parameter"));
            }
            params.push((name, value.clone()));
        }
        Ok(params)
    }
}

impl Auth {
    /// Starts a sign-in with `provider`: checks everything that can be checked before the
    /// browser leaves, stores the flow, and returns the provider's authorization URL.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn start_provider_signin(
        &self,
        provider: &str,
        request: ProviderSignIn,
    ) -> std::result::Result<ProviderRedirect, ProviderFailure> {
        let runtime = self.runtime();
        let config = &runtime.config;
        let json_error = |error| ProviderFailure {
            redirect_to: None,
            error,
        };
        if specs::spec(provider).is_none() {
            return Err(json_error(Error::InvalidRequest("unknown provider")));
        }
        let redirect_to =
            checked_redirect(config, request.options.redirect_to.clone()).map_err(json_error)?;
        let back = RedirectUrl::parse(&redirect_to);
        let fail = |error| ProviderFailure {
            redirect_to: back.clone(),
            error,
        };
        let Some(provider) = config.providers.get(provider) else {
            return Err(fail(Error::EndpointDisabled));
        };
        // Nhost: checks the options only on the way back; a bad role would cost the user a
        // round trip through the provider first.
        validate_options(config, "", &request.options).map_err(fail)?;
        let selectors = request.selectors.params(provider).map_err(fail)?;
        let connect_user = match &request.connect {
            Some(token) => Some(self.verify_access_token(token).map_err(fail)?.user_id),
            None => None,
        };
        let binding = request
            .browser_binding
            .filter(|b| is_binding(b))
            .unwrap_or_else(random_token);
        let state = random_token();
        let state_hash = sha256_hex(&state);
        let mut request_token = None;
        let (start, nonce) = match provider.spec.protocol {
            Protocol::OAuth2 => (
                client::authorize(&runtime, provider, &state, &selectors).map_err(fail)?,
                None,
            ),
            Protocol::OpenIdConnect => {
                let nonce = random_token();
                let start = oidc::authorize(&runtime, provider, self.now(), &state, &nonce).await;
                (start.map_err(fail)?, Some(Secret::new(nonce)))
            }
            Protocol::OAuth1 => {
                let start = oauth1::authorize(&runtime, provider, &state, &state_hash)
                    .await
                    .map_err(fail)?;
                request_token = Some(start.request_token);
                // OAuth 1.0a has no PKCE: the verifier column stays empty.
                let start = client::Authorize {
                    url: start.url,
                    pkce_verifier: Secret::new(""),
                };
                (start, None)
            }
        };
        let now = self.now();
        // The callback redirects where the flow said, even if the allow-list changes meanwhile.
        let options = SignUpOptions {
            redirect_to: Some(redirect_to),
            ..request.options
        };
        let options = serde_json::to_value(&options)
            .map_err(|e| fail(Error::Internal(format!("provider options: {e}"))))?;
        let flow = ProviderFlow {
            state_hash,
            provider: provider.spec.name.to_owned(),
            browser_hash: sha256_hex(&binding),
            options,
            pkce_verifier: start.pkce_verifier,
            nonce,
            connect_user,
            request_token,
            created_at: now,
            expires_at: now + FLOW_TTL,
        };
        self.store
            .insert_provider_flow(&flow)
            .await
            .map_err(|e| fail(e.into()))?;
        Ok(ProviderRedirect {
            authorize_url: start.url,
            browser_binding: Secret::new(binding),
        })
    }
}

/// The callback URL registered at the provider.
pub(crate) fn callback_url(server_url: &Url, provider: &ProviderConfig) -> String {
    format!(
        "{}/signin/provider/{}/callback",
        server_url.as_str().trim_end_matches('/'),
        provider.spec.name
    )
}

/// 32 random bytes, base64url: states and browser bindings.
fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(super::random_bytes::<32>())
}

/// A value `random_token` could have made.
fn is_binding(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}
