//! Extractors: JSON bodies that fail as Nhost errors, and bearer tokens.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::{AccessClaims, Error};
use crate::model::RequestContext;

/// The raw body, read up to `BODY_LIMIT`: a larger one is 413 with Nhost's error JSON (a
/// declared `Content-Length` over the limit was already refused, unread, by the router).
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::body_too_large())
            }
            Err(_) => Err(ApiError::invalid_request()),
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`, as providers post with `form_post`);
/// a wrong content type or malformed body is Nhost's 400 `invalid-request`, too large is 413.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(ApiError::invalid_request());
        }
        let Body(bytes) = Body::from_request(req, state).await?;
        refuse_nul(&bytes)?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|_| ApiError::invalid_request())
    }
}

/// A JSON body; anything malformed, mistyped, with unknown fields or of the wrong content
/// type is Nhost's 400 `invalid-request`, never axum's plain-text rejection; too large is 413.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::invalid_request());
        }
        let Body(bytes) = Body::from_request(req, state).await?;
        refuse_nul(&bytes)?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|_| ApiError::invalid_request())
    }
}

/// Refuses a JSON body with U+0000 in any string or key. PostgreSQL's `text` and `jsonb`
/// cannot hold it, so it would otherwise fail in the database as a 500 (found by
/// schemathesis); no legitimate value contains it. JSON must escape it as `\u0000`, so a
/// body without that sequence is passed without a second parse.
pub(super) fn refuse_nul(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    fn has_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(has_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(k, v)| k.contains('\0') || has_nul(v))
            }
            _ => false,
        }
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) if has_nul(&value) => Err(ApiError::invalid_request()),
        _ => Ok(()),
    }
}

/// An optional JSON body: no body at all reads as `T::default()` (Nhost's SDKs call some
/// endpoints with none); a body that is present must be valid.
pub struct JsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Body(bytes) = Body::from_request(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonOrEmpty(T::default()));
        }
        refuse_nul(&bytes)?;
        serde_json::from_slice(&bytes)
            .map(JsonOrEmpty)
            .map_err(|_| ApiError::invalid_request())
    }
}

/// Path parameters; a malformed one (say, a key id that is not a UUID) is Nhost's 400
/// `invalid-request` JSON, not axum's plain-text rejection.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_| ApiError::invalid_request())
    }
}

/// Query parameters, failing like `Path`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|_| ApiError::invalid_request())
    }
}

/// A valid bearer access token (`Authorization: Bearer <jwt>`, exactly).
pub struct Bearer(pub AccessClaims);

/// A bearer token if one was sent; a malformed or invalid one is still an error.
pub struct MaybeBearer(pub Option<AccessClaims>);

pub(super) fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::from(Error::Unauthenticated))?;
    match value.split_once(' ') {
        Some(("Bearer", token)) if !token.is_empty() => Ok(Some(token)),
        _ => Err(Error::Unauthenticated.into()),
    }
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?.ok_or(Error::Unauthenticated)?;
        Ok(Bearer(app.auth.verify_access_token(token)?))
    }
}

impl FromRequestParts<AppState> for MaybeBearer {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        match bearer_token(parts)? {
            None => Ok(MaybeBearer(None)),
            Some(token) => Ok(MaybeBearer(Some(app.auth.verify_access_token(token)?))),
        }
    }
}

/// Who sent the request (address after trusted proxies, user agent), for the audit log.
pub struct Client(pub RequestContext);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        let trusted = &app.auth.runtime().config.rate_limits.trusted_proxies;
        Ok(Client(super::ratelimit::request_context(
            &parts.extensions,
            &parts.headers,
            trusted,
        )))
    }
}
