//! POST /signin/idtoken and POST /link/idtoken: an ID token the app got from Apple or Google
//! itself, to sign in with or to link to the signed-in user.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::dto::{SessionPayload, SignUpOptions};
use super::error::ApiError;
use super::extract::{Bearer, Client, Json};
use crate::auth::providers::IdTokenSignIn;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInIdTokenRequest {
    provider: String,
    id_token: String,
    nonce: Option<String>,
    options: Option<SignUpOptions>,
}

/// POST /signin/idtoken: `{session}` for the account the verified ID token names.
pub async fn sign_in(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInIdTokenRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let request = IdTokenSignIn {
        provider: body.provider,
        id_token: body.id_token,
        nonce: body.nonce,
        options: body.options.map(Into::into).unwrap_or_default(),
    };
    let session = app.auth.sign_in_with_id_token(&ctx, request).await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkIdTokenRequest {
    provider: String,
    id_token: String,
    nonce: Option<String>,
}

/// POST /link/idtoken: `"OK"` once the account is linked to the bearer.
pub async fn link(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Json(body): Json<LinkIdTokenRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    app.auth
        .link_with_id_token(
            &ctx,
            &claims,
            &body.provider,
            &body.id_token,
            body.nonce.as_deref(),
        )
        .await?;
    Ok(AxumJson("OK"))
}
