//! Sign-in with an OAuth or OpenID provider: `GET /signin/provider/{provider}` starts it,
//! the provider's redirect to `.../callback` (a POST for Apple's `form_post`) ends it.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Client, Form, Path, Query};
use super::redirect::{Found, RedirectError, with_query};
use crate::auth::providers::{
    ProviderCallback, ProviderFailure, ProviderSelectors, ProviderSignIn,
};
use crate::auth::{self, SignUpOptions};
use crate::model::{RedirectUrl, Secret};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInProviderQuery {
    redirect_to: Option<String>,
    /// Comma-separated (OpenAPI `style: form, explode: false`).
    allowed_roles: Option<String>,
    default_role: Option<String>,
    display_name: Option<String>,
    locale: Option<String>,
    /// A JSON object, encoded in the query.
    metadata: Option<String>,
    connect: Option<String>,
    /// Nhost's `providerSpecificParams` (`style: form, explode: true`): WorkOS's.
    connection: Option<String>,
    organization: Option<String>,
}

/// GET /signin/provider/{provider}: 302 to the provider, with the browser-binding cookie.
pub async fn sign_in(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    Query(query): Query<SignInProviderQuery>,
    headers: HeaderMap,
) -> Result<Response, RedirectError> {
    // Text that is not JSON stays a string, which the domain refuses like any non-object
    // (redirecting back with the error, once `redirectTo` is known to be allowed).
    let metadata = query
        .metadata
        .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)));
    let options = SignUpOptions {
        allowed_roles: query
            .allowed_roles
            .map(|roles| roles.split(',').map(|r| r.trim().to_owned()).collect()),
        default_role: query.default_role,
        display_name: query.display_name,
        locale: query.locale,
        metadata,
        redirect_to: query.redirect_to,
    };
    let secure = app.auth.runtime().config.server_url.scheme() == "https";
    let request = ProviderSignIn {
        options,
        connect: query.connect,
        browser_binding: read_cookie(&headers, cookie_name(secure)),
        selectors: ProviderSelectors {
            connection: query.connection,
            organization: query.organization,
        },
    };
    let start = app.auth.start_provider_signin(&provider, request).await?;
    let location =
        RedirectUrl::parse(start.authorize_url.as_str()).ok_or_else(|| RedirectError {
            to: None,
            error: ApiError::invalid_request(),
        })?;
    let cookie = binding_cookie(&start.browser_binding, secure);
    Ok(([(header::SET_COOKIE, cookie)], Found(location)).into_response())
}

/// What the provider sends back, in the query (GET) or a form body (POST, `form_post`).
#[derive(Deserialize, Default)]
pub struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    error_uri: Option<String>,
    /// OAuth 1.0a (Twitter).
    oauth_token: Option<String>,
    oauth_verifier: Option<String>,
    denied: Option<String>,
    /// Apple's `user` (JSON with the name, first sign-in only).
    user: Option<String>,
}

impl CallbackParams {
    /// The fields by their wire names, for the form-post relay page.
    pub(super) fn fields(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("state", self.state.as_deref()),
            ("code", self.code.as_deref()),
            ("error", self.error.as_deref()),
            ("error_description", self.error_description.as_deref()),
            ("error_uri", self.error_uri.as_deref()),
            ("user", self.user.as_deref()),
        ]
    }
}

/// GET /signin/provider/{provider}/callback: 302 to the flow's `redirectTo` with
/// `refreshToken` (nothing else added, as upstream), or with the error.
pub async fn callback(
    State(app): State<AppState>,
    Client(ctx): Client,
    Path(provider): Path<String>,
    Query(params): Query<CallbackParams>,
    headers: HeaderMap,
) -> Result<Found, RedirectError> {
    finish(app, ctx, provider, params, &headers).await
}

/// POST /signin/provider/{provider}/callback: the same, for providers that post the result
/// (Apple's `response_mode=form_post`); see `form_post.rs` for the browser binding.
pub async fn callback_post(
    state: State<AppState>,
    client: Client,
    path: Path<String>,
    headers: HeaderMap,
    form: Form<super::form_post::PostedCallback>,
) -> Result<Response, RedirectError> {
    super::form_post::callback(state, client, path, headers, form).await
}

pub(super) async fn finish(
    app: AppState,
    ctx: crate::model::RequestContext,
    provider: String,
    params: CallbackParams,
    headers: &HeaderMap,
) -> Result<Found, RedirectError> {
    let secure = app.auth.runtime().config.server_url.scheme() == "https";
    let callback = ProviderCallback {
        state: params.state,
        code: params.code,
        error: params.error,
        error_description: params.error_description,
        error_uri: params.error_uri,
        browser_binding: read_cookie(headers, cookie_name(secure)),
        apple_user: params.user,
        oauth_token: params.oauth_token,
        oauth_verifier: params.oauth_verifier,
        denied: params.denied,
    };
    let done = app
        .auth
        .finish_provider_signin(&ctx, &provider, callback)
        .await?;
    Ok(Found(match done.refresh_token {
        Some(token) => with_query(done.redirect_to, &[("refreshToken", token.expose())]),
        None => done.redirect_to,
    }))
}

impl From<ProviderFailure> for RedirectError {
    fn from(failure: ProviderFailure) -> Self {
        // The provider's own words go with the error, into this flow's redirect only.
        // Nhost: writes them into its shared client URL, so later redirects carry them too.
        let to = match (&failure.error, failure.redirect_to) {
            (
                auth::Error::ProviderReported {
                    error,
                    description,
                    uri,
                },
                Some(to),
            ) => {
                let mut extra = vec![("provider_error", error.as_str())];
                if let Some(d) = description {
                    extra.push(("provider_error_description", d));
                }
                if let Some(u) = uri {
                    extra.push(("provider_error_url", u));
                }
                Some(with_query(to, &extra))
            }
            (_, to) => to,
        };
        RedirectError {
            to,
            error: ApiError::from(failure.error),
        }
    }
}

/// The browser-binding cookie's name: with `__Host-` (Secure, whole host, no Domain) when
/// the server is reached over https; browsers refuse Secure cookies on plain http, so on
/// `http://localhost` development servers it goes without.
pub(crate) fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-latchkey-provider"
    } else {
        "latchkey-provider"
    }
}

/// Lax, so the provider's top-level redirect back carries it, and HttpOnly: no script needs it.
fn binding_cookie(value: &Secret, secure: bool) -> HeaderValue {
    let max_age = crate::auth::providers::FLOW_TTL.as_secs();
    let secure_attr = if secure { "; Secure" } else { "" };
    let text = format!(
        "{}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure_attr}",
        cookie_name(secure),
        value.expose()
    );
    // The value is base64url and the rest is ASCII, so this cannot fail.
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of the cookie `name` from the request's `Cookie` headers.
pub(crate) fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; latchkey-provider=xyz"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(
            read_cookie(&headers, "latchkey-provider").as_deref(),
            Some("xyz")
        );
        assert_eq!(read_cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(read_cookie(&headers, "__Host-latchkey-provider"), None);
    }

    #[test]
    fn the_binding_cookie_is_host_only_on_https() {
        let value = Secret::new("v");
        let https = binding_cookie(&value, true);
        assert_eq!(
            https,
            "__Host-latchkey-provider=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure"
        );
        let http = binding_cookie(&value, false);
        assert_eq!(
            http,
            "latchkey-provider=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax"
        );
    }
}
