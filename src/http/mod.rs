//! HTTP transport: the route table, middleware, and one module per endpoint family.
//! Handlers parse, make one domain call, and map the result.

mod audit;
mod body_limit;
mod book;
mod dto;
mod elevate;
pub mod error;
mod extract;
mod form_post;
mod graphql;
mod idtoken;
mod keys;
mod meta;
pub mod metrics;
mod mfa;
mod password;
mod passwordless;
mod pats;
mod playground;
mod provider_tokens;
mod providers;
mod ratelimit;
mod redirect;
mod serve;
mod signin;
mod signup;
mod sms;
mod token;
mod user;
mod verify;

pub use body_limit::BODY_LIMIT;
pub use serve::serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::{Span, error, info_span};

use crate::auth::Auth;
use error::{ErrorCause, ErrorCode, error_response};

#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<Auth>,
}

/// An HTTP method the route table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Head,
    Post,
    Patch,
    Delete,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Head => MethodFilter::HEAD,
            Verb::Post => MethodFilter::POST,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    /// Lower case, as OpenAPI writes operations.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Head => "head",
            Verb::Post => "post",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
        }
    }
}

/// One row of the route table. The router is built from these rows and nothing else, so
/// the list `route_table` gives (and the OpenAPI test checks) cannot drift from what is
/// served.
pub struct Route {
    pub verb: Verb,
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// Hands the handler a value through `axum::Extension`.
    fn with_extension<E: Clone + Send + Sync + 'static>(mut self, value: E) -> Self {
        self.handler = self.handler.layer(axum::Extension(value));
        self
    }
}

fn route<H, T>(verb: Verb, path: &'static str, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        verb,
        path,
        handler: on(verb.filter(), handler),
    }
}

/// Every route under `AUTH_API_PREFIX`, in OpenAPI order. `/metrics` is here unless it has
/// its own listener (`LATCHKEY_METRICS_ADDR`).
fn api_routes(metrics_on_api: bool) -> Vec<Route> {
    use Verb::*;
    let mut routes = vec![
        route(Get, "/.well-known/jwks.json", meta::jwks),
        route(Get, "/.well-known/webauthn", meta::well_known_webauthn),
        route(Post, "/change-env", meta::change_env),
        route(Post, "/elevate/webauthn", elevate::webauthn),
        route(Post, "/elevate/webauthn/verify", elevate::webauthn_verify),
        route(Post, "/graphql", graphql::handle).with_extension(graphql::schema()),
        route(Get, "/healthz", meta::healthz),
        route(Head, "/healthz", meta::healthz_head),
        route(Get, "/mfa/totp/generate", mfa::generate),
        route(Post, "/link/idtoken", idtoken::link),
        route(Get, "/openapi.json", meta::openapi),
        route(Post, "/pat", pats::create),
        route(Get, "/readyz", meta::readyz),
        route(Post, "/signin/anonymous", signin::anonymous),
        route(Post, "/signin/email-password", password::sign_in),
        route(Post, "/signin/mfa/totp", mfa::sign_in),
        route(Post, "/signin/idtoken", idtoken::sign_in),
        route(Post, "/signin/otp/email", passwordless::email_otp),
        route(
            Post,
            "/signin/otp/email/verify",
            passwordless::email_otp_verify,
        ),
        route(Post, "/signin/passwordless/email", passwordless::magic_link),
        route(Post, "/signin/passwordless/sms", sms::passwordless_sms),
        route(
            Post,
            "/signin/passwordless/sms/otp",
            sms::passwordless_sms_otp,
        ),
        route(Post, "/signin/pat", pats::sign_in),
        route(Get, "/signin/provider/{provider}", providers::sign_in),
        route(
            Get,
            "/signin/provider/{provider}/callback",
            providers::callback,
        ),
        route(
            Post,
            "/signin/provider/{provider}/callback",
            providers::callback_post,
        ),
        route(
            Get,
            "/signin/provider/{provider}/callback/tokens",
            provider_tokens::take,
        ),
        route(Post, "/signin/webauthn", signin::webauthn),
        route(Post, "/signin/webauthn/verify", signin::webauthn_verify),
        route(Post, "/signout", token::sign_out),
        route(Post, "/signup/email-password", password::sign_up),
        route(Post, "/signup/webauthn", signup::webauthn),
        route(Post, "/signup/webauthn/verify", signup::webauthn_verify),
        route(Post, "/token", token::refresh),
        route(Post, "/token/provider/{provider}", provider_tokens::refresh),
        route(Post, "/token/verify", token::verify),
        route(Get, "/user", user::get_user),
        route(Get, "/user/audit", audit::list),
        route(Post, "/user/deanonymize", password::deanonymize),
        route(Post, "/user/email/change", password::change_email),
        route(
            Post,
            "/user/email/send-verification-email",
            user::send_verification_email,
        ),
        route(Get, "/user/mfa", mfa::status),
        route(Post, "/user/mfa", mfa::change),
        route(Post, "/user/mfa/recovery-codes", mfa::recovery_codes),
        route(Post, "/user/password", password::change),
        route(Post, "/user/password/reset", password::reset),
        route(
            Post,
            "/user/provider/tokens",
            provider_tokens::refresh_stored,
        ),
        route(Get, "/user/pats", pats::list),
        route(Delete, "/user/pats/{id}", pats::delete),
        route(Post, "/user/webauthn/add", user::webauthn_add),
        route(Get, "/user/webauthn/keys", keys::list),
        route(Patch, "/user/webauthn/keys/{id}", keys::rename),
        route(Delete, "/user/webauthn/keys/{id}", keys::delete),
        route(Get, "/user/webauthn/signals", keys::signals),
        route(Post, "/user/webauthn/verify", user::webauthn_verify),
        route(Get, "/verify", verify::verify),
        route(Get, "/version", meta::version),
    ];
    if metrics_on_api {
        routes.push(route(Get, "/metrics", metrics::render));
    }
    routes
}

/// `(method, path)` of every route under the API prefix, `/metrics` included.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    api_routes(true)
        .iter()
        .map(|r| (r.verb.name(), r.path))
        .collect()
}

/// Where Nhost serves its auth API; served as well when `AUTH_API_PREFIX` is empty.
const NHOST_API_PATH: &str = "/v1";

/// A request path relative to the API: without `AUTH_API_PREFIX`, or without `/v1` when
/// there is no prefix.
pub(crate) fn api_path<'a>(path: &'a str, prefix: &str) -> &'a str {
    let prefix = if prefix.is_empty() {
        NHOST_API_PATH
    } else {
        prefix
    };
    match path.strip_prefix(prefix) {
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// Every route, under `AUTH_API_PREFIX`.
pub fn router(state: AppState) -> Router {
    // Installed before the first request, so nothing recorded is lost.
    let _ = metrics::handle();
    let prefix = state.auth.runtime().config.api_prefix.clone();
    let metrics_on_api = state
        .auth
        .runtime()
        .config
        .operations
        .metrics_addr
        .is_none();
    // Rows with the same path merge into one method router.
    let api = api_routes(metrics_on_api)
        .into_iter()
        .fold(Router::new(), |api, r| api.route(r.path, r.handler));
    // The playground and its book live at the root whatever the prefix (404 when disabled).
    let playground = Router::new()
        .route("/", get(playground::index))
        .route("/playground/app.js", get(playground::script))
        .route("/playground/inbox", get(playground::inbox))
        .route("/book/", get(book::index))
        .route("/book/{*path}", get(book::page));
    let routes = if prefix.is_empty() {
        // Nhost serves its auth API under `/v1`, and nhost-js v4 depends on it: it knows its
        // own refresh call only by a URL ending in `/v1/token`. Without a prefix the API
        // answers at both, so an SDK app works with the defaults.
        api.clone().nest(NHOST_API_PATH, api).merge(playground)
    } else {
        Router::new()
            .nest(&prefix, api)
            .route(
                "/healthz",
                get(meta::healthz_unprefixed).head(meta::healthz_head),
            )
            // Browsers fetch it from the RP ID's root, whatever the API prefix.
            .route("/.well-known/webauthn", get(meta::well_known_webauthn))
            .merge(playground)
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
        .layer(middleware::from_fn(body_limit::refuse_large_bodies))
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
