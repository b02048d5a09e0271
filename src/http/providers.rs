//! GET /signin/provider/{provider}: sign-in with an OAuth or OpenID provider starts here.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Path, Query};
use super::redirect::{Found, RedirectError};
use crate::auth::SignUpOptions;
use crate::auth::providers::{ProviderFailure, ProviderSignIn};
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

impl From<ProviderFailure> for RedirectError {
    fn from(failure: ProviderFailure) -> Self {
        RedirectError {
            to: failure.redirect_to,
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
