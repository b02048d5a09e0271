//! POST /pat, POST /signin/pat; beyond upstream GET /user/pats and DELETE /user/pats/{id}.

use axum::Json as AxumJson;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::dto::SessionPayload;
use super::error::ApiError;
use super::extract::{Bearer, Client, Json, Path};
use crate::model::{PatInfo, RefreshTokenId};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePatRequest {
    expires_at: DateTime<Utc>,
    metadata: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePatResponse {
    id: String,
    personal_access_token: String,
}

/// POST /pat: a personal access token for the bearer, shown once.
pub async fn create(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Json(body): Json<CreatePatRequest>,
) -> Result<AxumJson<CreatePatResponse>, ApiError> {
    let pat = app
        .auth
        .create_pat(&ctx, &claims, body.expires_at, body.metadata)
        .await?;
    Ok(AxumJson(CreatePatResponse {
        id: pat.id.to_string(),
        personal_access_token: pat.token.expose().to_owned(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInPatRequest {
    personal_access_token: String,
}

/// POST /signin/pat: `{session}` for a live personal access token.
pub async fn sign_in(
    State(app): State<AppState>,
    Client(ctx): Client,
    Json(body): Json<SignInPatRequest>,
) -> Result<AxumJson<SessionPayload>, ApiError> {
    let session = app
        .auth
        .sign_in_with_pat(&ctx, &body.personal_access_token)
        .await?;
    Ok(AxumJson(SessionPayload::of(Some(session))))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pat {
    id: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    metadata: Option<Value>,
}

impl From<PatInfo> for Pat {
    fn from(p: PatInfo) -> Self {
        Pat {
            id: p.id.to_string(),
            created_at: p.created_at,
            expires_at: p.expires_at,
            last_used_at: p.last_used_at,
            metadata: p.metadata,
        }
    }
}

/// GET /user/pats: the bearer's personal access tokens, newest first, never the tokens.
pub async fn list(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<Vec<Pat>>, ApiError> {
    let pats = app.auth.list_pats(&claims).await?;
    Ok(AxumJson(pats.into_iter().map(Pat::from).collect()))
}

/// DELETE /user/pats/{id}: revokes one of the bearer's personal access tokens.
pub async fn delete(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Path(id): Path<Uuid>,
) -> Result<AxumJson<&'static str>, ApiError> {
    app.auth
        .revoke_pat(&ctx, &claims, RefreshTokenId::from_uuid(id))
        .await?;
    Ok(AxumJson("OK"))
}
