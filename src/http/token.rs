//! POST /token, /token/verify, /signout.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::dto::Session;
use super::error::ApiError;
use super::extract::{Client, Json, JsonOrEmpty, MaybeBearer};
use crate::auth::Error;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshTokenRequest {
    refresh_token: String,
}

/// POST /token: rotates the refresh token; answers a bare `Session`.
pub async fn refresh(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<RefreshTokenRequest>,
) -> Result<AxumJson<Session>, ApiError> {
    // The spec's UUID pattern: anything else cannot be a token we issued.
    if Uuid::parse_str(&body.refresh_token).is_err() {
        return Err(ApiError::invalid_request());
    }
    let session = app.auth.refresh(&ctx, &body.refresh_token).await?;
    Ok(AxumJson(session.into()))
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyTokenRequest {
    token: Option<String>,
}

/// POST /token/verify: a token in the body is checked cryptographically only; without one,
/// the bearer is checked and its user must still be allowed in.
pub async fn verify(
    State(app): State<AppState>,
    bearer: Result<MaybeBearer, ApiError>,
    JsonOrEmpty(body): JsonOrEmpty<VerifyTokenRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    if let Some(token) = body.token.filter(|t| !t.is_empty()) {
        app.auth
            .verify_access_token(&token)
            .map_err(|_| ApiError::invalid_request())?;
        return Ok(AxumJson("OK"));
    }
    let Ok(MaybeBearer(Some(claims))) = bearer else {
        return Err(ApiError::invalid_request());
    };
    app.auth.user_from_claims(&claims, false).await?;
    Ok(AxumJson("OK"))
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignOutRequest {
    refresh_token: Option<String>,
    #[serde(default)]
    all: bool,
}

/// POST /signout: one session by refresh token, or every session of the bearer (`all`).
pub async fn sign_out(
    State(app): State<AppState>,
    bearer: Result<MaybeBearer, ApiError>,
    JsonOrEmpty(body): JsonOrEmpty<SignOutRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    if body.all {
        let Ok(MaybeBearer(Some(claims))) = bearer else {
            return Err(Error::Unauthenticated.into());
        };
        app.auth.sign_out_everywhere(claims.user_id).await?;
    } else {
        let token = body
            .refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::invalid_request)?;
        app.auth.sign_out(&token).await?;
    }
    Ok(AxumJson("OK"))
}
