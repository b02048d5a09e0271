//! Redirect responses for `/verify` (and later the OAuth providers): 302 Found as Nhost sends
//! them, with errors as `error` and `errorDescription` query parameters from the same table
//! as the JSON errors.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCause, ErrorCode, error_response};
use crate::auth::TicketError;
use crate::model::RedirectUrl;

/// 302 Found to this URL (axum's `Redirect` offers 303, 307 and 308 only).
#[derive(Debug)]
pub struct Found(pub RedirectUrl);

impl IntoResponse for Found {
    fn into_response(self) -> Response {
        // A serialised `Url` is ASCII, so this cannot fail; a 500 is the answer if it did.
        match HeaderValue::try_from(self.0.to_string()) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => error_response(ErrorCode::InternalServerError),
        }
    }
}

/// An error for a redirecting endpoint: a 302 to `to` carrying the error, or, with no usable
/// target, the JSON error itself.
#[derive(Debug)]
pub struct RedirectError {
    pub to: Option<RedirectUrl>,
    pub error: ApiError,
}

/// Left on redirect-error responses for the error middleware, which conceals sensitive codes
/// (`AUTH_CONCEAL_ERRORS`) by redirecting again with `invalid-request`.
#[derive(Clone)]
pub struct RedirectedError {
    pub to: RedirectUrl,
    pub code: ErrorCode,
}

impl From<TicketError> for RedirectError {
    fn from(err: TicketError) -> Self {
        RedirectError {
            to: err.redirect_to,
            error: ApiError::from(err.error),
        }
    }
}

impl IntoResponse for RedirectError {
    fn into_response(self) -> Response {
        let Some(to) = self.to else {
            return self.error.into_response();
        };
        let mut response = redirect_with_error(to.clone(), self.error.code);
        response.extensions_mut().insert(RedirectedError {
            to,
            code: self.error.code,
        });
        if let Some(cause) = self.error.cause {
            response
                .extensions_mut()
                .insert(ErrorCause(Arc::new(cause)));
        }
        response
    }
}

/// 302 to `to` with `error=<code>&errorDescription=<message>` set in its query.
pub fn redirect_with_error(to: RedirectUrl, code: ErrorCode) -> Response {
    let (_, message) = code.status_and_message();
    let name = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Found(with_query(
        to,
        &[("error", &name), ("errorDescription", message)],
    ))
    .into_response()
}

/// Sets these query parameters (replacing any of the same name) and sorts the query by key,
/// as Go's `url.Values.Encode` does in Nhost.
pub fn with_query(mut url: RedirectUrl, set: &[(&str, &str)]) -> RedirectUrl {
    let mut pairs: Vec<(String, String)> = url
        .url()
        .query_pairs()
        .filter(|(k, _)| !set.iter().any(|(name, _)| name == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .chain(set.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    url.url_mut().query_pairs_mut().clear().extend_pairs(pairs);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_set_and_sorted() {
        let url = RedirectUrl::parse("https://app.test/cb?z=1&type=old&a=x%20y#frag").unwrap();
        let url = with_query(url, &[("type", "verifyEmail"), ("refreshToken", "t")]);
        assert_eq!(
            url.to_string(),
            "https://app.test/cb?a=x+y&refreshToken=t&type=verifyEmail&z=1#frag"
        );
        // Nhost: Go's url.URL keeps an empty path empty, query or not.
        let bare = RedirectUrl::parse("http://localhost:3000").unwrap();
        let bare = with_query(bare, &[("type", "verifyEmail")]);
        assert_eq!(bare.to_string(), "http://localhost:3000?type=verifyEmail");
    }

    #[test]
    fn redirect_errors_carry_code_and_message() {
        let to = RedirectUrl::parse("https://app.test/cb").unwrap();
        let res = redirect_with_error(to, ErrorCode::InvalidTicket);
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(
            res.headers()[header::LOCATION],
            "https://app.test/cb?error=invalid-ticket&errorDescription=Invalid+ticket"
        );
    }
}
