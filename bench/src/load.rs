//! Closed-loop (N clients back to back) and open-loop (fixed arrival rate) load.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Mutex as AsyncMutex;

use crate::client::{Api, BenchUser, Op};
use crate::procstat::Proc;

pub type Users = Arc<Vec<AsyncMutex<BenchUser>>>;

/// One measured window.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Window {
    pub op: Op,
    /// Clients (closed loop) or the cap on requests in flight (open loop).
    pub concurrency: usize,
    /// Arrivals per second for an open-loop window; `None` for closed loop.
    pub target_rate: Option<f64>,
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Server CPU seconds per second of wall time (2.0 = both cores busy on 2 cores).
    pub server_cpu: f64,
    /// Load generator CPU seconds per second of wall time.
    pub bench_cpu: f64,
}

/// Latencies in microseconds plus errors, merged over tasks.
pub struct Tally {
    pub hist: Histogram<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            hist: Histogram::new_with_bounds(1, 600_000_000, 3)?,
            errors: 0,
            first_error: None,
        })
    }

    pub fn record(&mut self, latency: Duration, outcome: anyhow::Result<()>) {
        match outcome {
            Ok(()) => {
                let us = u64::try_from(latency.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                self.hist.saturating_record(us);
            }
            Err(err) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{err:#}"));
                }
            }
        }
    }

    pub fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        self.hist.add(&other.hist)?;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }
}

/// What a window needs to run and to be measured.
pub struct Target {
    pub api: Api,
    pub users: Users,
    pub server: Proc,
    pub bench: Proc,
}

impl Target {
    fn finish(
        &self,
        op: Op,
        concurrency: usize,
        target_rate: Option<f64>,
        tally: Tally,
        started: Instant,
        cpu_before: (f64, f64),
    ) -> anyhow::Result<Window> {
        let seconds = started.elapsed().as_secs_f64();
        let (server_before, bench_before) = cpu_before;
        let ms = |q: f64| tally.hist.value_at_quantile(q) as f64 / 1000.0;
        let ops = tally.hist.len();
        Ok(Window {
            op,
            concurrency,
            target_rate,
            ops,
            errors: tally.errors,
            first_error: tally.first_error.clone(),
            seconds,
            throughput: ops as f64 / seconds,
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: tally.hist.max() as f64 / 1000.0,
            server_cpu: (self.server.cpu_seconds()? - server_before) / seconds,
            bench_cpu: (self.bench.cpu_seconds()? - bench_before) / seconds,
        })
    }

    fn cpu_now(&self) -> anyhow::Result<(f64, f64)> {
        Ok((self.server.cpu_seconds()?, self.bench.cpu_seconds()?))
    }

    /// `concurrency` clients, each with its own user, running `op` back to back for `length`.
    pub async fn closed_loop(
        &self,
        op: Op,
        concurrency: usize,
        length: Duration,
    ) -> anyhow::Result<Window> {
        let cpu_before = self.cpu_now()?;
        let started = Instant::now();
        let deadline = started + length;
        let mut tasks = Vec::with_capacity(concurrency);
        for slot in 0..concurrency {
            let api = self.api.clone();
            let users = self.users.clone();
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::new()?;
                let Some(user) = users.get(slot % users.len().max(1)) else {
                    anyhow::bail!("no pre-registered users");
                };
                let mut user = user.lock().await;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let outcome = api.run(op, &mut user).await;
                    tally.record(t0.elapsed(), outcome);
                }
                Ok(tally)
            }));
        }
        let mut total = Tally::new()?;
        for task in tasks {
            total.merge(task.await??)?;
        }
        self.finish(op, concurrency, None, total, started, cpu_before)
    }

    /// Arrivals at `rate` per second for `length`, each taking a free user (at most one request
    /// per user in flight). Latency counts from the scheduled arrival, so queueing shows.
    pub async fn open_loop(&self, op: Op, rate: f64, length: Duration) -> anyhow::Result<Window> {
        let concurrency = self.users.len();
        let free: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new((0..concurrency).collect()));
        let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let tally = Arc::new(Mutex::new(Tally::new()?));
        let cpu_before = self.cpu_now()?;
        let started = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
        let mut tasks = Vec::new();
        let mut k: u32 = 0;
        loop {
            let due = started + interval * k;
            if due >= started + length {
                break;
            }
            k = k.saturating_add(1);
            tokio::time::sleep_until(due.into()).await;
            let (api, users, free, slots, tally) = (
                self.api.clone(),
                self.users.clone(),
                free.clone(),
                slots.clone(),
                tally.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let outcome = async {
                    let _permit = slots.acquire().await?;
                    let slot = pop(&free).ok_or_else(|| anyhow::anyhow!("no free user"))?;
                    let outcome = match users.get(slot) {
                        Some(user) => api.run(op, &mut *user.lock().await).await,
                        None => Err(anyhow::anyhow!("no user {slot}")),
                    };
                    push(&free, slot);
                    outcome
                }
                .await;
                if let Ok(mut t) = tally.lock() {
                    t.record(due.elapsed(), outcome);
                }
            }));
        }
        for task in tasks {
            task.await?;
        }
        let total = std::mem::replace(
            &mut *tally.lock().map_err(|_| anyhow::anyhow!("poisoned"))?,
            Tally::new()?,
        );
        self.finish(op, concurrency, Some(rate), total, started, cpu_before)
    }
}

fn pop(free: &Mutex<Vec<usize>>) -> Option<usize> {
    free.lock().ok()?.pop()
}

fn push(free: &Mutex<Vec<usize>>, slot: usize) {
    if let Ok(mut f) = free.lock() {
        f.push(slot);
    }
}
