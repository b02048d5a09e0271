//! POST /signin/passwordless/email, /signin/otp/email and /signin/otp/email/verify.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::dto::{SessionPayload, SignUpOptions};
use super::error::ApiError;
use super::extract::{Client, Json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInEmailRequest {
    email: String,
    options: Option<SignUpOptions>,
}

/// POST /signin/passwordless/email: `"OK"`, and a magic link in the mailbox.
pub async fn magic_link(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInEmailRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let options = body.options.unwrap_or_default().into();
    app.auth.send_magic_link(&ctx, &body.email, options).await?;
    Ok(AxumJson("OK"))
}

/// POST /signin/otp/email: `"OK"`, and a 6-digit code in the mailbox.
pub async fn email_otp(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInEmailRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let options = body.options.unwrap_or_default().into();
    app.auth.send_email_otp(&ctx, &body.email, options).await?;
    Ok(AxumJson("OK"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyEmailOtpRequest {
    otp: String,
    email: String,
}

/// POST /signin/otp/email/verify: `{session}` for a right, live code.
pub async fn email_otp_verify(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<VerifyEmailOtpRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let session = app
        .auth
        .verify_email_otp(&ctx, &body.email, &body.otp)
        .await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}
