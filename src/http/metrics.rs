//! Prometheus metrics: request counts and latencies per route template, plus the domain's
//! counters (WebAuthn ceremonies, sessions, reuse) recorded with the `metrics` macros.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;

/// Request latency buckets, seconds: an auth server should answer in milliseconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Pool wait buckets, seconds: an idle pool hands out a connection in microseconds.
const ACQUIRE_BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide recorder. `metrics` records into one global recorder by design, so
/// it is installed once per process (tests build many apps in one process).
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The handle that renders `/metrics`; `None` if another recorder was installed first.
pub fn handle() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("latchkey_http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("latchkey_db_pool_acquire_seconds".into()),
                    ACQUIRE_BUCKETS,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            // The recorder keeps every histogram sample until they are folded into buckets,
            // which only upkeep (or a scrape) does: without it, memory grew with the number of
            // requests served while nothing scraped (68 MiB after the comparison benchmark's
            // 1.9 million requests, issue #20). A thread, not a task: it outlives any runtime.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .clone()
}

/// Counts and times each request by method, route template and status. Never the raw path:
/// label values must stay few, and paths can carry tokens.
pub async fn observe(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("latchkey_http_requests_total", &labels).increment(1);
    metrics::histogram!("latchkey_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// GET /metrics in Prometheus text format, with the database pool sampled now.
pub async fn render(State(app): State<AppState>) -> Response {
    let pool = app.auth.store().pool_stats();
    metrics::gauge!("latchkey_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("latchkey_db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.size.saturating_sub(pool.idle)));
    metrics::gauge!("latchkey_db_pool_max_connections").set(f64::from(pool.max));
    let body = handle().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
