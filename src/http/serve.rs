//! The HTTP/1.1 listener loop. `axum::serve` cannot cap header size or time out slow
//! clients, so connections are served with hyper directly, with the limits from
//! `LimitsConfig` and the peer address (`ConnectInfo`) the rate limiter needs.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::config::{LimitsConfig, MIN_HEADER_BYTES};

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and waits
/// for the requests in flight (idle keep-alive connections are closed at once). The caller
/// bounds that wait (`LATCHKEY_SHUTDOWN_TIMEOUT`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &LimitsConfig,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // Also closes keep-alive connections idle for this long: hyper times the wait for
        // every request head, not only the first.
        .header_read_timeout(limits.header_read_timeout)
        // A request line and headers above the cap get 431 from hyper.
        .max_header_size(limits.max_header_bytes)
        // Bounds the per-connection read buffer too. Config validation keeps the value at or
        // above hyper's minimum (which it asserts); `max` makes sure of it.
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Resets, timeouts and malformed requests end one connection: nothing to report
            // above debug (hyper has already answered 4xx where HTTP allows).
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
