//! POST /signin/anonymous, /signin/webauthn, /signin/webauthn/verify.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::dto::{CredentialAssertionResponse, SessionPayload};
use super::error::ApiError;
use super::extract::{Client, Json, JsonOrEmpty};

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInAnonymousRequest {
    display_name: Option<String>,
    locale: Option<String>,
    metadata: Option<serde_json::Map<String, Value>>,
}

/// POST /signin/anonymous.
pub async fn anonymous(
    State(app): State<AppState>,
    Client(ctx): Client,
    JsonOrEmpty(body): JsonOrEmpty<SignInAnonymousRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let metadata = body.metadata.map(Value::Object);
    let session = app
        .auth
        .sign_in_anonymous(&ctx, body.display_name, body.locale, metadata)
        .await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInWebauthnRequest {
    email: Option<String>,
}

/// POST /signin/webauthn: request options; with no e-mail, for a discoverable credential.
pub async fn webauthn(
    State(app): State<AppState>,
    JsonOrEmpty(body): JsonOrEmpty<SignInWebauthnRequest>,
) -> Result<AxumJson<Value>, ApiError> {
    let email = body.email.filter(|e| !e.is_empty());
    let options = app.auth.begin_passkey_signin(email.as_deref()).await?;
    Ok(AxumJson(options.0))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInWebauthnVerifyRequest {
    credential: CredentialAssertionResponse,
    /// Deprecated upstream and ignored: the challenge names the user.
    #[allow(dead_code)]
    email: Option<String>,
}

/// POST /signin/webauthn/verify.
pub async fn webauthn_verify(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInWebauthnVerifyRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let session = app
        .auth
        .finish_passkey_signin(&ctx, body.credential.try_into()?)
        .await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}
