//! Health, version, JWKS, and the test-only `/change-env`.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::Json;
use crate::auth;
use crate::config::is_variable;

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

/// The OpenAPI document: upstream's, cut to the routes served here, plus Latchkey's own
/// (built by `scripts/openapi-build`; a test checks it against the route table).
pub const OPENAPI: &str = include_str!("../../openapi/latchkey.json");

/// GET /openapi.json, with `servers` naming this server's API prefix.
pub async fn openapi(State(app): State<AppState>) -> Response {
    let Ok(mut doc) = serde_json::from_str::<Value>(OPENAPI) else {
        return ApiError::from(auth::Error::Internal("openapi document".into())).into_response();
    };
    let prefix = app.auth.runtime().config.api_prefix.clone();
    let url = if prefix.is_empty() {
        "/".to_owned()
    } else {
        prefix
    };
    if let Some(doc) = doc.as_object_mut() {
        doc.insert("servers".into(), json!([{ "url": url }]));
    }
    AxumJson(doc).into_response()
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

/// POST /change-env (only with `AUTH_ENABLE_CHANGE_ENV=true`, for test suites): a partial
/// update of the live configuration, as upstream's test suites use it. Keys absent keep
/// their current value; keys that are not configuration variables are ignored; a bad value
/// is 400 naming the variable, and then nothing of the call is applied.
pub async fn change_env(
    State(app): State<AppState>,
    Json(body): Json<serde_json::Map<String, Value>>,
) -> Result<Response, ApiError> {
    if !app.auth.runtime().config.enable_change_env {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let result = match env_changes(body) {
        Ok(changes) => app.auth.change_env(changes).await,
        Err(bad) => Err(auth::Error::BadVariables(bad)),
    };
    match result {
        Ok(()) => Ok(AxumJson(json!({ "message": "environment updated" })).into_response()),
        // A test suite needs to know which variable it got wrong; the text is its own input.
        Err(auth::Error::BadVariables(problems)) => {
            let message = format!("The request payload is incorrect: {}", problems.join("; "));
            let body = json!({ "status": 400, "error": "invalid-request", "message": message });
            Ok((StatusCode::BAD_REQUEST, AxumJson(body)).into_response())
        }
        Err(err) => Err(err.into()),
    }
}

/// The body's configuration variables as text; other keys are ignored. `Err` names every
/// variable whose value no variable can hold.
fn env_changes(body: serde_json::Map<String, Value>) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut changes = Vec::new();
    let mut bad = Vec::new();
    for (name, value) in body {
        if !is_variable(&name) {
            tracing::debug!(variable = %name, "change-env: not a variable, ignored");
            continue;
        }
        match env_value(&value) {
            Some(text) => changes.push((name, text)),
            None => bad.push(format!(
                "{name}: expected a string, number, boolean or list"
            )),
        }
    }
    if bad.is_empty() {
        Ok(changes)
    } else {
        Err(bad)
    }
}

/// A JSON value as an environment variable's text. Lists may come as JSON arrays (upstream's
/// suite sends `AUTH_WEBAUTHN_RP_ORIGINS: []`) or comma strings; `null` and `""` mean the
/// default. `None` for a value no variable can hold (a list of lists or objects).
fn env_value(value: &Value) -> Option<String> {
    fn scalar(value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }
    match value {
        Value::Null => Some(String::new()),
        Value::Array(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .map(|items| items.join(",")),
        // A JSON object is text to the variables that take one (HASURA_GRAPHQL_JWT_SECRET).
        Value::Object(_) => Some(value.to_string()),
        other => scalar(other),
    }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::OPENAPI;
    use crate::http::route_table;

    /// The served document lists exactly the routes the router serves: a route added without
    /// documentation, or documentation for a route that is gone, fails here.
    #[test]
    fn openapi_matches_the_route_table() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let methods = ["get", "head", "post", "put", "patch", "delete", "options"];
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .filter(|m| methods.contains(&m.as_str()))
                    .map(move |m| (m.clone(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = route_table()
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && not_served.is_empty(),
            "run scripts/openapi-build; undocumented: {undocumented:?}, not served: {not_served:?}"
        );
    }

    /// Every operation of the document has an id and a response for errors, so clients
    /// generated from it handle Nhost's error JSON everywhere.
    #[test]
    fn every_operation_has_an_id_and_error_response() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                assert!(op["operationId"].is_string(), "{method} {path}");
                assert!(op["responses"]["default"].is_object(), "{method} {path}");
            }
        }
    }
}
