//! The provider's own tokens after sign-in: `POST /user/provider/tokens` (admin, the
//! TypeScript server's route), and the newer server's bearer routes
//! `GET /signin/provider/{provider}/callback/tokens` and `POST /token/provider/{provider}`.

use axum::Json as AxumJson;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{Bearer, Client, Json, Path};
use crate::auth::providers::ProviderSession;
use crate::model::UserId;

/// `X-Hasura-Admin-Secret` equal to `HASURA_GRAPHQL_ADMIN_SECRET`, compared in constant
/// time. With no secret configured nobody is admitted.
pub struct AdminSecret;

impl FromRequestParts<AppState> for AdminSecret {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get("x-hasura-admin-secret")
            .and_then(|v| v.to_str().ok());
        let runtime = app.auth.runtime();
        match (&runtime.config.admin_secret, presented) {
            (Some(secret), Some(presented)) if secret.ct_eq(presented) => Ok(AdminSecret),
            _ => {
                tracing::warn!(
                    event = "admin_secret.refused",
                    "wrong or missing admin secret"
                );
                Err(ApiError::invalid_admin_secret())
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserProviderTokensRequest {
    provider_id: String,
    user_id: Uuid,
}

/// POST /user/provider/tokens: refreshes the user's stored provider tokens; `"OK"`.
pub async fn refresh_stored(
    State(app): State<AppState>,
    _admin: AdminSecret,
    Client(ctx): Client,
    Json(body): Json<UserProviderTokensRequest>,
) -> Result<AxumJson<&'static str>, ApiError> {
    let user_id = UserId::from_uuid(body.user_id);
    app.auth
        .refresh_stored_provider_tokens(&ctx, user_id, &body.provider_id)
        .await?;
    Ok(AxumJson("OK"))
}

/// Nhost's `ProviderSession`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSessionBody {
    access_token: String,
    expires_in: u64,
    /// RFC 3339, as Go writes a `time.Time`.
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl From<ProviderSession> for ProviderSessionBody {
    fn from(s: ProviderSession) -> Self {
        ProviderSessionBody {
            access_token: s.access_token.expose().to_owned(),
            expires_in: s.expires_in,
            expires_at: s
                .expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            refresh_token: s.refresh_token.map(|t| t.expose().to_owned()),
        }
    }
}

/// GET /signin/provider/{provider}/callback/tokens: the provider tokens of the sign-in that
/// created the caller's session, once.
pub async fn take(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
    Path(provider): Path<String>,
) -> Result<AxumJson<ProviderSessionBody>, ApiError> {
    let session = app.auth.take_provider_session(&claims, &provider).await?;
    Ok(AxumJson(session.into()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshProviderTokenRequest {
    refresh_token: String,
}

/// POST /token/provider/{provider}: new provider tokens for the app's provider refresh token.
pub async fn refresh(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
    Path(provider): Path<String>,
    Json(body): Json<RefreshProviderTokenRequest>,
) -> Result<AxumJson<ProviderSessionBody>, ApiError> {
    let session = app
        .auth
        .refresh_provider_session(claims.user_id, &provider, &body.refresh_token)
        .await?;
    Ok(AxumJson(session.into()))
}
