//! E-mail and password: POST /signup/email-password, /signin/email-password,
//! /user/password, /user/password/reset, /user/email/change, /user/deanonymize.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::dto::{Session, SessionPayload, SignUpOptions};
use super::error::ApiError;
use super::extract::{Bearer, Client, Json, MaybeBearer};
use super::user::OptionsRedirectTo;
use crate::auth::{DeanonymizeMethod, PasswordSignIn};
use crate::model::Secret;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpEmailPasswordRequest {
    email: String,
    password: String,
    options: Option<SignUpOptions>,
}

/// POST /signup/email-password: `{session}`, or `{}` when the e-mail must be verified.
pub async fn sign_up(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignUpEmailPasswordRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let options = body.options.unwrap_or_default().into();
    let session = app
        .auth
        .sign_up_with_password(&ctx, &body.email, Secret::new(body.password), options)
        .await?;
    Ok(AxumJson(SessionPayload::of(session)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInEmailPasswordRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub struct MfaChallengePayload {
    ticket: String,
}

#[derive(Serialize)]
pub struct SignInEmailPasswordResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa: Option<MfaChallengePayload>,
}

/// POST /signin/email-password: `{session}`, or `{mfa: {ticket}}` when TOTP is active.
pub async fn sign_in(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInEmailPasswordRequest>,
) -> Result<AxumJson<SignInEmailPasswordResponse>, ApiError> {
    let signed_in = app
        .auth
        .sign_in_with_password(&ctx, &body.email, Secret::new(body.password))
        .await?;
    Ok(AxumJson(match signed_in {
        PasswordSignIn::Session(s) => SignInEmailPasswordResponse {
            session: Some((*s).into()),
            mfa: None,
        },
        PasswordSignIn::Mfa(ticket) => SignInEmailPasswordResponse {
            session: None,
            mfa: Some(MfaChallengePayload {
                ticket: ticket.expose().to_owned(),
            }),
        },
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPasswordRequest {
    new_password: String,
    ticket: Option<String>,
}

/// POST /user/password: the bearer's own password, or a reset with a mailed ticket.
pub async fn change(
    State(app): State<AppState>,
    Client(ctx): Client,
    MaybeBearer(claims): MaybeBearer,
    Json(body): Json<UserPasswordRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    app.auth
        .change_password(
            &ctx,
            claims.as_ref(),
            Secret::new(body.new_password),
            body.ticket.as_deref(),
        )
        .await?;
    Ok(AxumJson("OK"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPasswordResetRequest {
    email: String,
    options: Option<OptionsRedirectTo>,
}

/// POST /user/password/reset: `"OK"` whatever the address; a mail only for a real user.
pub async fn reset(
    State(app): State<AppState>,
    Json(body): Json<UserPasswordResetRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let redirect_to = body.options.unwrap_or_default().redirect_to;
    app.auth
        .send_password_reset(&body.email, redirect_to)
        .await?;
    Ok(AxumJson("OK"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserEmailChangeRequest {
    new_email: String,
    options: Option<OptionsRedirectTo>,
}

/// POST /user/email/change: mails a confirmation link to the new address.
pub async fn change_email(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<UserEmailChangeRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let redirect_to = body.options.unwrap_or_default().redirect_to;
    app.auth
        .change_email(&claims, &body.new_email, redirect_to)
        .await?;
    Ok(AxumJson("OK"))
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignInMethod {
    EmailPassword,
    Passwordless,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserDeanonymizeRequest {
    sign_in_method: SignInMethod,
    email: String,
    password: Option<String>,
    /// Deprecated upstream and ignored.
    #[allow(dead_code)]
    connection: Option<String>,
    options: Option<SignUpOptions>,
}

/// POST /user/deanonymize: the anonymous bearer becomes an e-mail and password user.
pub async fn deanonymize(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<UserDeanonymizeRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let method = match body.sign_in_method {
        SignInMethod::EmailPassword => DeanonymizeMethod::EmailPassword,
        SignInMethod::Passwordless => DeanonymizeMethod::Passwordless,
    };
    let options = body.options.unwrap_or_default().into();
    app.auth
        .deanonymize(
            &claims,
            method,
            &body.email,
            body.password.map(Secret::new),
            options,
        )
        .await?;
    Ok(AxumJson("OK"))
}
