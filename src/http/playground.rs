//! The passkey playground at `/` (`AUTH_PLAYGROUND_ENABLED`): a small page built with the
//! `@nhost/nhost-js` v4 SDK (sources in `playground/src`, bundle in `playground/dist`,
//! rebuilt and checked by `scripts/test-browser`), embedded so that no Node runs at runtime.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::extract::Client;

/// How many messages the development inbox lists.
const INBOX_SIZE: usize = 20;

const INDEX_HTML: &str = include_str!("../../playground/dist/index.html");
const APP_JS: &str = include_str!("../../playground/dist/app.js");

/// GET /: the page, told the API prefix so that it finds the API on this origin.
pub async fn index(State(app): State<AppState>) -> Response {
    let rt = app.auth.runtime();
    if !rt.config.playground_enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    let prefix = html_attribute(&rt.config.api_prefix);
    // The enabled sign-in providers, for its "Continue with …" buttons.
    let providers: Vec<&str> = rt
        .config
        .providers
        .enabled
        .iter()
        .map(|p| p.spec.name)
        .collect();
    let providers = html_attribute(&providers.join(","));
    Html(
        INDEX_HTML
            .replace("__LATCHKEY_API_PREFIX__", &prefix)
            .replace("__LATCHKEY_PROVIDERS__", &providers),
    )
    .into_response()
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

/// GET /playground/inbox: the development inbox, newest first, so that a server without SMTP
/// can still be tried end to end (magic links, codes, verification). Its links sign their
/// holder in, so it is served only with the playground on, mail written to files (no SMTP),
/// and to a client on this machine; anything else is 404.
pub async fn inbox(State(app): State<AppState>, Client(client): Client) -> Response {
    if !app.auth.runtime().config.playground_enabled || !is_loopback(&client.ip) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match app.auth.dev_inbox(INBOX_SIZE).await {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(messages) => {
            ([(header::CACHE_CONTROL, "no-store")], axum::Json(messages)).into_response()
        }
    }
}

/// Whether the client address (after trusted proxies) is this machine.
fn is_loopback(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Escapes text for a double-quoted HTML attribute.
fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
