//! The passkey playground at `/` (`AUTH_PLAYGROUND_ENABLED`): a small page built with the
//! `@nhost/nhost-js` v4 SDK (sources in `playground/src`, bundle in `playground/dist`,
//! rebuilt and checked by `scripts/test-browser`), embedded so that no Node runs at runtime.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

const INDEX_HTML: &str = include_str!("../../playground/dist/index.html");
const APP_JS: &str = include_str!("../../playground/dist/app.js");

/// GET /: the page, told the API prefix so that it finds the API on this origin.
pub async fn index(State(app): State<AppState>) -> Response {
    let rt = app.auth.runtime();
    if !rt.config.playground_enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    let prefix = html_attribute(&rt.config.api_prefix);
    Html(INDEX_HTML.replace("__LATCHKEY_API_PREFIX__", &prefix)).into_response()
}

/// GET /playground/app.js: the bundled script.
pub async fn script(State(app): State<AppState>) -> Response {
    if !app.auth.runtime().config.playground_enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_JS,
    )
        .into_response()
}

/// Escapes text for a double-quoted HTML attribute.
fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
