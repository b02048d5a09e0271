//! GET /user and the key-adding endpoints under /user/webauthn.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::dto::{CredentialCreationResponse, User};
use super::error::ApiError;
use super::extract::{Bearer, Client, Json};

/// GET /user: the bearer's user.
pub async fn get_user(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<User>, ApiError> {
    let user = app.auth.user_from_claims(&claims, false).await?;
    Ok(AxumJson(User::from_domain(user, false)))
}

/// POST /user/webauthn/add: creation options for another key (any body is ignored).
pub async fn webauthn_add(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<Value>, ApiError> {
    let options = app.auth.begin_key_registration(&claims).await?;
    Ok(AxumJson(options.0))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyAddSecurityKeyRequest {
    credential: CredentialCreationResponse,
    nickname: Option<String>,
}

#[derive(Serialize)]
pub struct VerifyAddSecurityKeyResponse {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<String>,
}

/// POST /user/webauthn/verify: stores the new key of the bearer.
pub async fn webauthn_verify(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Json(body): Json<VerifyAddSecurityKeyRequest>,
) -> Result<AxumJson<VerifyAddSecurityKeyResponse>, ApiError> {
    let credential = body.credential.try_into()?;
    let key = app
        .auth
        .finish_key_registration(&ctx, &claims, credential, body.nickname)
        .await?;
    Ok(AxumJson(VerifyAddSecurityKeyResponse {
        id: key.id.to_string(),
        nickname: key.nickname,
    }))
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionsRedirectTo {
    pub redirect_to: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserEmailSendVerificationEmailRequest {
    email: String,
    options: Option<OptionsRedirectTo>,
}

/// POST /user/email/send-verification-email: `"OK"` whatever the address; a mail only for an
/// existing, unverified user.
pub async fn send_verification_email(
    State(app): State<AppState>,
    Json(body): Json<UserEmailSendVerificationEmailRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let redirect_to = body.options.unwrap_or_default().redirect_to;
    app.auth
        .send_verification_email(&body.email, redirect_to)
        .await?;
    Ok(AxumJson("OK"))
}
