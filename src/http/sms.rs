//! POST /signin/passwordless/sms and /signin/passwordless/sms/otp.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::dto::{SessionPayload, SignUpOptions};
use super::error::ApiError;
use super::extract::{Client, Json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInPasswordlessSmsRequest {
    phone_number: String,
    options: Option<SignUpOptions>,
}

/// POST /signin/passwordless/sms: `"OK"`, and a 6-digit code on the phone.
pub async fn passwordless_sms(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInPasswordlessSmsRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let options = body.options.unwrap_or_default().into();
    app.auth
        .send_sms_code(&ctx, &body.phone_number, options)
        .await?;
    Ok(AxumJson("OK"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInPasswordlessSmsOtpRequest {
    phone_number: String,
    otp: String,
}

/// POST /signin/passwordless/sms/otp: `{session}` for a right, live code.
pub async fn passwordless_sms_otp(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInPasswordlessSmsOtpRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let session = app
        .auth
        .verify_sms_code(&ctx, &body.phone_number, &body.otp)
        .await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}
