//! Health, version, JWKS, and the test-only `/change-env`.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::Json;

/// GET /healthz: "OK" while the process serves (Nhost's meaning: liveness). Readiness,
/// which needs the database, is `/readyz`.
pub async fn healthz() -> AxumJson<&'static str> {
    AxumJson("OK")
}

/// HEAD /healthz.
pub async fn healthz_head() -> StatusCode {
    StatusCode::OK
}

/// Unprefixed GET /healthz when `AUTH_API_PREFIX` is set, as upstream.
pub async fn healthz_unprefixed() -> AxumJson<Value> {
    AxumJson(json!({ "status": "ok" }))
}

/// GET /version.
pub async fn version() -> AxumJson<Value> {
    AxumJson(json!({ "version": env!("CARGO_PKG_VERSION") }))
}

/// GET /.well-known/webauthn: `{"origins": [...]}`, for browsers checking a related origin
/// (WebAuthn L3); served on the RP ID's host by proxying this path to Latchkey.
pub async fn well_known_webauthn(State(app): State<AppState>) -> AxumJson<Value> {
    AxumJson(json!({ "origins": app.auth.related_origins() }))
}

/// GET /.well-known/jwks.json: the RSA public key; empty for HMAC keys.
pub async fn jwks(State(app): State<AppState>) -> Response {
    let rt = app.auth.runtime();
    AxumJson(rt.tokens.jwks().clone()).into_response()
}

/// POST /change-env (only with `AUTH_ENABLE_CHANGE_ENV=true`, for test suites): applies the
/// given variables live.
pub async fn change_env(
    State(app): State<AppState>,
    Json(body): Json<serde_json::Map<String, Value>>,
) -> Result<Response, ApiError> {
    if !app.auth.runtime().config.enable_change_env {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let vars = body
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, value)
        })
        .collect();
    app.auth.change_env(vars).await?;
    Ok(AxumJson(json!({ "message": "environment updated" })).into_response())
}

/// GET /readyz: for load balancers. 200 when the database answers, 503 when it does not.
/// (`/healthz` keeps Nhost's meaning: the process is up.)
pub async fn readyz(State(app): State<AppState>) -> Response {
    let database_ok = app.auth.store().ping().await.is_ok();
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::Map::new();
    body.insert(
        "status".into(),
        json!(if database_ok { "ok" } else { "unavailable" }),
    );
    body.insert(
        "database".into(),
        json!(if database_ok { "ok" } else { "unreachable" }),
    );
    // SMTP is a warning only: sign-ins work without it, and mails are retried.
    if let Some(smtp_ok) = app.auth.runtime().mailer.reachable().await {
        body.insert(
            "smtp".into(),
            json!(if smtp_ok { "ok" } else { "unreachable" }),
        );
    }
    (status, AxumJson(Value::Object(body))).into_response()
}
