//! POST /elevate/webauthn and /elevate/webauthn/verify.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::dto::{CredentialAssertionResponse, SessionPayload};
use super::error::ApiError;
use super::extract::{Bearer, Client, Json};

/// POST /elevate/webauthn: request options for the bearer's own keys (any body is ignored;
/// hasura-auth-js v2 sends the e-mail).
pub async fn webauthn(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<Value>, ApiError> {
    let options = app.auth.begin_elevation(&claims).await?;
    Ok(AxumJson(options.0))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElevateWebauthnVerifyRequest {
    credential: CredentialAssertionResponse,
    /// Sent by older SDKs; ignored, the bearer names the user.
    #[allow(dead_code)]
    email: Option<String>,
}

/// POST /elevate/webauthn/verify: a new session with the elevated claim.
pub async fn webauthn_verify(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Json(body): Json<ElevateWebauthnVerifyRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let session = app
        .auth
        .finish_elevation(&ctx, &claims, body.credential.try_into()?)
        .await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}
