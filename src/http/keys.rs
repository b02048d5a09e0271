//! GET /user/webauthn/keys, PATCH and DELETE /user/webauthn/keys/{id}: the bearer's keys;
//! GET /user/webauthn/signals: what the page tells its authenticators about them.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::dto::{KeySignals, SecurityKey};
use super::error::ApiError;
use super::extract::{Bearer, Client, Json, Path, Query};
use crate::model::SecurityKeyId;

/// GET /user/webauthn/signals: the arguments for the WebAuthn Signal API, ready to pass.
pub async fn signals(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<KeySignals>, ApiError> {
    let signals = app.auth.key_signals(&claims).await?;
    Ok(AxumJson(KeySignals::from_domain(signals)))
}

/// GET /user/webauthn/keys: the bearer's keys, oldest first.
pub async fn list(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<AxumJson<Vec<SecurityKey>>, ApiError> {
    let keys = app.auth.list_keys(&claims).await?;
    Ok(AxumJson(
        keys.into_iter().map(SecurityKey::from_domain).collect(),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSecurityKeyRequest {
    nickname: String,
}

/// PATCH /user/webauthn/keys/{id}: renames one of the bearer's keys.
pub async fn rename(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateSecurityKeyRequest>,
) -> Result<AxumJson<SecurityKey>, ApiError> {
    let key = app
        .auth
        .rename_key(&ctx, &claims, SecurityKeyId::from_uuid(id), body.nickname)
        .await?;
    Ok(AxumJson(SecurityKey::from_domain(key)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeleteSecurityKeyQuery {
    #[serde(default)]
    force: bool,
}

/// DELETE /user/webauthn/keys/{id}: deletes one of the bearer's keys; `?force=true` also
/// deletes the user's last way to sign in.
pub async fn delete(
    State(app): State<AppState>,
    Client(ctx): Client,
    Bearer(claims): Bearer,
    Path(id): Path<Uuid>,
    Query(query): Query<DeleteSecurityKeyQuery>,
) -> Result<AxumJson<&'static str>, ApiError> {
    app.auth
        .delete_key(&ctx, &claims, SecurityKeyId::from_uuid(id), query.force)
        .await?;
    Ok(AxumJson("OK"))
}
