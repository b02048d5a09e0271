//! HTTP transport: the route table, middleware, and one module per endpoint family.
//! Handlers parse, make one domain call, and map the result.

mod dto;
mod elevate;
pub mod error;
mod extract;
mod graphql;
mod keys;
mod meta;
pub mod metrics;
mod password;
mod ratelimit;
mod redirect;
mod serve;
mod signin;
mod signup;
mod token;
mod user;
mod verify;

pub use serve::serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::{Span, error, info_span};

use crate::auth::Auth;
use error::{ErrorCause, ErrorCode, error_response};

/// Request bodies above this are refused: the largest legitimate body (a registration with
/// attestation certificates) is a few KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<Auth>,
}

/// Every route, in OpenAPI order, under `AUTH_API_PREFIX`.
pub fn router(state: AppState) -> Router {
    // Installed before the first request, so nothing recorded is lost.
    let _ = metrics::handle();
    let prefix = state.auth.runtime().config.api_prefix.clone();
    let api = Router::new()
        .route("/.well-known/jwks.json", get(meta::jwks))
        .route("/.well-known/webauthn", get(meta::well_known_webauthn))
        .route("/change-env", post(meta::change_env))
        .route("/elevate/webauthn", post(elevate::webauthn))
        .route("/elevate/webauthn/verify", post(elevate::webauthn_verify))
        .route(
            "/graphql",
            post(graphql::handle).layer(axum::Extension(graphql::schema())),
        )
        .route("/healthz", get(meta::healthz).head(meta::healthz_head))
        .route("/readyz", get(meta::readyz))
        .route("/signin/anonymous", post(signin::anonymous))
        .route("/signin/email-password", post(password::sign_in))
        .route("/signin/webauthn", post(signin::webauthn))
        .route("/signin/webauthn/verify", post(signin::webauthn_verify))
        .route("/signout", post(token::sign_out))
        .route("/signup/email-password", post(password::sign_up))
        .route("/signup/webauthn", post(signup::webauthn))
        .route("/signup/webauthn/verify", post(signup::webauthn_verify))
        .route("/token", post(token::refresh))
        .route("/token/verify", post(token::verify))
        .route("/user", get(user::get_user))
        .route("/user/deanonymize", post(password::deanonymize))
        .route("/user/email/change", post(password::change_email))
        .route(
            "/user/email/send-verification-email",
            post(user::send_verification_email),
        )
        .route("/user/password", post(password::change))
        .route("/user/password/reset", post(password::reset))
        .route("/user/webauthn/add", post(user::webauthn_add))
        .route("/user/webauthn/keys", get(keys::list))
        .route(
            "/user/webauthn/keys/{id}",
            patch(keys::rename).delete(keys::delete),
        )
        .route("/user/webauthn/verify", post(user::webauthn_verify))
        .route("/verify", get(verify::verify))
        .route("/version", get(meta::version));
    // With LATCHKEY_METRICS_ADDR, `/metrics` is served on its own listener instead.
    let api = if state
        .auth
        .runtime()
        .config
        .operations
        .metrics_addr
        .is_none()
    {
        api.route("/metrics", get(metrics::render))
    } else {
        api
    };
    let routes = if prefix.is_empty() {
        api
    } else {
        Router::new()
            .nest(&prefix, api)
            .route(
                "/healthz",
                get(meta::healthz_unprefixed).head(meta::healthz_head),
            )
            // Browsers fetch it from the RP ID's root, whatever the API prefix.
            .route("/.well-known/webauthn", get(meta::well_known_webauthn))
    };
    routes
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), errors))
        .layer(middleware::from_fn_with_state(
            state.auth.runtime().config.limits.request_timeout,
            request_timeout,
        ))
        .layer(middleware::from_fn(metrics::observe))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(cors))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(|res: &Response, latency: Duration, span: &Span| {
                    let latency_ms = latency.as_secs_f64() * 1000.0;
                    span.record("status", res.status().as_u16());
                    span.record("latency_ms", latency_ms);
                    tracing::info!(status = res.status().as_u16(), latency_ms, "request");
                })
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// `/metrics` alone, for `LATCHKEY_METRICS_ADDR`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(state)
}

/// One span per request with the route template, never the raw URI: query strings carry
/// tickets and tokens.
fn request_span(req: &Request) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    info_span!(
        "request",
        method = %req.method(),
        route,
        request_id,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty
    )
}

/// Logs each 5xx once with its cause, and applies `AUTH_CONCEAL_ERRORS` in one place.
async fn errors(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>()
        && response.status().is_server_error()
    {
        error!(error = %cause, source = ?std::error::Error::source(cause.as_ref()), "request failed");
    }
    let conceal = app.auth.runtime().config.conceal_errors;
    if let Some(redirected) = response.extensions().get::<redirect::RedirectedError>()
        && conceal
        && redirected.code.is_sensitive()
    {
        return redirect::redirect_with_error(redirected.to.clone(), ErrorCode::InvalidRequest);
    }
    match response.extensions().get::<ErrorCode>() {
        Some(code) if conceal && code.is_sensitive() => error_response(ErrorCode::InvalidRequest),
        _ => response,
    }
}

/// Answers 408 `request-timeout` when the request (body upload included: extractors read it
/// inside) is not answered in time. Dropping the handler cancels its work; an unfinished
/// database transaction rolls back.
async fn request_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                event = "http.request_timeout",
                "request not answered in time, cancelled"
            );
            error_response(ErrorCode::RequestTimeout)
        }
    }
}

/// CORS as upstream: the request's origin is echoed with credentials allowed, and every
/// OPTIONS request is answered 204 before routing.
async fn cors(req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let requested_headers = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let mut response = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, GET, PATCH, DELETE"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Origin, Access-Control-Request-Method"),
        );
        if let Some(requested) = requested_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
    }
    response
}
