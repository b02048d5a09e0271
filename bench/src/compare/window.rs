//! One closed-loop window on one server: N clients, each with its own user, running one
//! operation back to back. A transport failure (connection refused or reset, timeout) stops
//! the window early: the caller then checks whether the server is still there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::ops::CompareOp;
use super::server::Server;
use crate::load::Tally;

pub struct Outcome {
    /// Latencies of the successful operations, errors and the first error's text.
    pub tally: Tally,
    pub seconds: f64,
    /// Some request failed below HTTP (no answer): the server may be gone.
    pub transport_failed: bool,
    pub server_cpu_s: Option<f64>,
}

/// True when the error came from the HTTP client itself (refused, reset, timed out), not
/// from an answer: only then may the server be down.
fn is_transport(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<reqwest::Error>().is_some())
}

/// Runs `op` with `clients` clients on `server` for `length` (or until a transport failure).
pub async fn closed_loop(
    server: &Server,
    op: CompareOp,
    clients: usize,
    length: Duration,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        clients <= server.clients.len(),
        "{clients} clients but {} users",
        server.clients.len()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::with_capacity(clients);
    for slot in 0..clients {
        let (api, users, stop) = (server.api.clone(), server.clients.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::new()?;
            let Some(client) = users.get(slot) else {
                anyhow::bail!("no user for client {slot}");
            };
            let mut client = client.lock().await;
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                let outcome = op.run(&api, &mut client).await;
                if outcome.as_ref().is_err_and(is_transport) {
                    stop.store(true, Ordering::Relaxed);
                }
                tally.record(t0.elapsed(), outcome);
            }
            Ok(tally)
        }));
    }
    let mut total = Tally::new()?;
    for task in tasks {
        match task.await {
            Ok(tally) => total.merge(tally?)?,
            // A panic in the software authenticator (e.g. options it cannot parse) is one
            // failed operation, not the end of the run.
            Err(join) => total.record(Duration::ZERO, Err(anyhow::anyhow!("client task: {join}"))),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu_s = match (cpu_before, server.cpu_seconds()) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    Ok(Outcome {
        tally: total,
        seconds,
        transport_failed: stop.load(Ordering::Relaxed),
        server_cpu_s,
    })
}
