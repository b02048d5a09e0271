//! POST /signup/webauthn and /signup/webauthn/verify.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::dto::{CredentialCreationResponse, SessionPayload, SignUpOptions};
use super::error::ApiError;
use super::extract::{Client, Json};
use crate::auth::SignUpOptions as DomainSignUpOptions;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpWebauthnRequest {
    email: String,
    options: Option<SignUpOptions>,
}

/// POST /signup/webauthn: creation options for a new account.
pub async fn webauthn(
    State(app): State<AppState>,
    Json(body): Json<SignUpWebauthnRequest>,
) -> Result<AxumJson<Value>, ApiError> {
    let options = body.options.unwrap_or_default().into();
    let creation = app.auth.begin_passkey_signup(&body.email, options).await?;
    Ok(AxumJson(creation.0))
}

/// Sign-up options at verify. hasura-auth-js v2 sends `nickname` inside `options`, which
/// upstream rejects; accepting it as an alias of the top-level `nickname` costs nothing.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySignUpOptions {
    allowed_roles: Option<Vec<String>>,
    default_role: Option<String>,
    display_name: Option<String>,
    locale: Option<String>,
    metadata: Option<Value>,
    redirect_to: Option<String>,
    nickname: Option<String>,
}

impl From<VerifySignUpOptions> for DomainSignUpOptions {
    fn from(o: VerifySignUpOptions) -> Self {
        DomainSignUpOptions {
            allowed_roles: o.allowed_roles,
            default_role: o.default_role,
            display_name: o.display_name,
            locale: o.locale,
            metadata: o.metadata,
            redirect_to: o.redirect_to,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpWebauthnVerifyRequest {
    credential: CredentialCreationResponse,
    options: Option<VerifySignUpOptions>,
    nickname: Option<String>,
}

/// POST /signup/webauthn/verify: `{session}`, or `{}` when the e-mail must be verified.
pub async fn webauthn_verify(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignUpWebauthnVerifyRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let credential = body.credential.try_into()?;
    let inner_nickname = body.options.as_ref().and_then(|o| o.nickname.clone());
    let options = body.options.map(DomainSignUpOptions::from);
    let nickname = body.nickname.or(inner_nickname);
    let session = app
        .auth
        .finish_passkey_signup(&ctx, credential, options, nickname)
        .await?;
    Ok(AxumJson(SessionPayload::of(session)))
}
