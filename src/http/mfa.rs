//! TOTP multi-factor authentication: GET /mfa/totp/generate, POST /user/mfa,
//! POST /signin/mfa/totp; beyond upstream POST /user/mfa/recovery-codes and GET /user/mfa.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::dto::SessionPayload;
use super::error::ApiError;
use super::extract::{Bearer, Client, Json};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpGenerateResponse {
    image_url: String,
    totp_secret: String,
}

/// GET /mfa/totp/generate: a new TOTP secret for the bearer and its QR code.
pub async fn generate(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<TotpGenerateResponse>, ApiError> {
    let setup = app.auth.generate_totp(&claims).await?;
    Ok(AxumJson(TotpGenerateResponse {
        image_url: setup.image_url.expose().to_owned(),
        totp_secret: setup.secret.expose().to_owned(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserMfaRequest {
    code: String,
    active_mfa_type: Option<String>,
}

/// POST /user/mfa: `activeMfaType: "totp"` turns TOTP on, `""` or none turns it off; both
/// with a code of the secret.
pub async fn change(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Json(body): Json<UserMfaRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let activate = match body.active_mfa_type.as_deref() {
        Some("totp") => true,
        None | Some("") => false,
        // Upstream's schema allows only these.
        Some(_) => return Err(ApiError::invalid_request()),
    };
    app.auth
        .change_mfa(&ctx, &claims, &body.code, activate)
        .await?;
    Ok(AxumJson("OK"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInMfaTotpRequest {
    ticket: String,
    otp: String,
}

/// POST /signin/mfa/totp: `{session}` for the ticket of a password sign-in and a TOTP (or
/// recovery) code.
pub async fn sign_in(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInMfaTotpRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let session = app
        .auth
        .sign_in_with_totp(&ctx, &body.ticket, &body.otp)
        .await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodesResponse {
    recovery_codes: Vec<String>,
}

/// POST /user/mfa/recovery-codes: ten new single-use recovery codes, shown once.
pub async fn recovery_codes(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
) -> Result<AxumJson<RecoveryCodesResponse>, ApiError> {
    let codes = app.auth.new_recovery_codes(&ctx, &claims).await?;
    Ok(AxumJson(RecoveryCodesResponse {
        recovery_codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMfaResponse {
    active_mfa_type: Option<String>,
    recovery_codes_left: u32,
}

/// GET /user/mfa: the bearer's second factor and how many recovery codes remain.
pub async fn status(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<UserMfaResponse>, ApiError> {
    let status = app.auth.mfa_status(&claims).await?;
    Ok(AxumJson(UserMfaResponse {
        active_mfa_type: status.active_mfa_type,
        recovery_codes_left: status.recovery_codes_left,
    }))
}
