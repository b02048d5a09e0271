//! Which rate-limit buckets a request falls in (by path, as upstream), and who the client is.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Extensions, HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use super::AppState;
use super::error::ApiError;
use crate::auth::ratelimit::Bucket;
use crate::model::RequestContext;

/// Endpoints that send e-mail (Nhost's e-mail bucket).
const EMAIL_PATHS: &[&str] = &[
    "/signup/email-password",
    "/signup/webauthn/verify",
    "/signin/passwordless/email",
    "/signin/otp/email",
    "/user/email/change",
    "/user/email/send-verification-email",
    "/user/password/reset",
    "/user/deanonymize",
];

/// Probes and scrapes are not client traffic.
const EXEMPT_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The buckets of a path (without `AUTH_API_PREFIX`).
pub fn buckets(path: &str) -> Vec<Bucket> {
    let mut buckets = vec![Bucket::Global];
    if EMAIL_PATHS.contains(&path) {
        buckets.push(Bucket::Email);
    }
    // Only the endpoint that texts; its `/otp` is guessing, counted in the brute-force bucket.
    if path == "/signin/passwordless/sms" {
        buckets.push(Bucket::Sms);
    }
    if path.starts_with("/signin") || path.ends_with("/verify") || path.ends_with("/otp") {
        buckets.push(Bucket::BruteForce);
    }
    if path.starts_with("/signup") {
        buckets.push(Bucket::Signups);
    }
    buckets
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy. Headers from anyone
/// else are ignored, or a client could pick its own bucket.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpNet]) -> String {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let hops = forwarded_for.unwrap_or_default().split(',').rev();
    for hop in hops {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => continue,
            Ok(ip) => return ip.to_string(),
            Err(_) => break,
        }
    }
    peer.to_string()
}

/// Who sent a request, for rate limits and the audit log.
pub fn request_context(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> RequestContext {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    RequestContext::new(client_ip(peer, forwarded, trusted), user_agent)
}

/// Counts the request in its buckets and answers 429 when one is full.
pub async fn limit(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let rt = app.auth.runtime();
    if !rt.config.rate_limits.enabled {
        return next.run(req).await;
    }
    let path = super::api_path(req.uri().path(), &rt.config.api_prefix);
    if EXEMPT_PATHS.contains(&path) {
        return next.run(req).await;
    }
    let ctx = request_context(
        req.extensions(),
        req.headers(),
        &rt.config.rate_limits.trusted_proxies,
    );
    match app.auth.rate_limit(&buckets(path), &ctx).await {
        Ok(()) => next.run(req).await,
        Err(err) => ApiError::from(err).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_paths_lose_the_prefix_or_v1() {
        use crate::http::api_path;
        assert_eq!(api_path("/v1/token", ""), "/token");
        assert_eq!(api_path("/token", ""), "/token");
        assert_eq!(api_path("/v1", ""), "/v1");
        assert_eq!(api_path("/v1x/token", ""), "/v1x/token");
        assert_eq!(api_path("/auth/token", "/auth"), "/token");
        assert_eq!(api_path("/authx/token", "/auth"), "/authx/token");
        assert_eq!(api_path("/v1/token", "/auth"), "/v1/token");
    }

    use super::*;

    #[test]
    fn paths_fall_in_nhost_buckets() {
        use Bucket::*;
        assert_eq!(buckets("/signin/webauthn"), [Global, BruteForce]);
        assert_eq!(
            buckets("/signup/webauthn/verify"),
            [Global, Email, BruteForce, Signups]
        );
        assert_eq!(
            buckets("/user/email/send-verification-email"),
            [Global, Email]
        );
        assert_eq!(buckets("/token"), [Global]);
        assert_eq!(buckets("/verify"), [Global, BruteForce]);
        assert_eq!(
            buckets("/signin/passwordless/sms"),
            [Global, Sms, BruteForce]
        );
        assert_eq!(
            buckets("/signin/passwordless/sms/otp"),
            [Global, BruteForce]
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy = Some("10.1.2.3".parse().unwrap());
        let stranger = Some("203.0.113.9".parse().unwrap());
        assert_eq!(
            client_ip(proxy, Some("198.51.100.7, 10.0.0.5"), &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            client_ip(stranger, Some("198.51.100.7"), &trusted),
            "203.0.113.9"
        );
        assert_eq!(client_ip(proxy, None, &trusted), "10.1.2.3");
        assert_eq!(client_ip(proxy, Some("garbage"), &trusted), "10.1.2.3");
        assert_eq!(client_ip(None, None, &trusted), "unknown");
    }
}
