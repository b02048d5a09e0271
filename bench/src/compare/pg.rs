//! Read-only observation of the PostgreSQL behind a server, from the side, never through the
//! server. The observer connects to another database of the same cluster (e.g. `postgres`), so
//! its own queries land there and not in the observed counts, and reads for the observed
//! database: `pg_stat_statements` (statements, immediately), `pg_stat_database.xact_commit`
//! (commits, which backends publish up to ~10 s late: see `run::settle`), the CPU of its client
//! backends from `/proc/<pid>/stat`, and the data segments their sockets received (`ss -ti`),
//! one per request flush of the server: its round trips.
//!
//! Backend CPU and segments are per process: a backend that starts in a window counts fully,
//! one that ends in it loses what it did since the last snapshot (`backends_ended` says so).
//! Both need the cluster on this machine (a loopback URL) and `ss -p` needs root.

use std::collections::HashMap;

use anyhow::Context as _;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::procstat::{self, Proc};

pub struct Observer {
    pool: PgPool,
    pub db: String,
    dbid: i64,
    /// The cluster's TCP port when it runs on this machine; `None`: no CPU or segments.
    local_port: Option<u16>,
    hz: f64,
}

/// Counters at one instant.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// queryid → (calls, total execution ms).
    statements: HashMap<i64, (i64, f64)>,
    backends: HashMap<i32, Backend>,
}

#[derive(Debug, Clone, Copy)]
struct Backend {
    cpu_s: Option<f64>,
    segments_in: Option<u64>,
}

/// What the database did between two snapshots (summed over windows with `add`).
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub statements: i64,
    pub exec_ms: f64,
    pub cpu_s: Option<f64>,
    pub round_trips: Option<u64>,
    pub backends_new: usize,
    pub backends_ended: usize,
    /// queryid → calls.
    pub per_query: HashMap<i64, i64>,
}

impl Usage {
    /// Nothing yet, everything known: where a sum over windows starts.
    pub fn zero() -> Self {
        Self {
            cpu_s: Some(0.0),
            round_trips: Some(0),
            ..Self::default()
        }
    }

    pub fn add(&mut self, other: &Usage) {
        self.statements += other.statements;
        self.exec_ms += other.exec_ms;
        self.cpu_s = sum(self.cpu_s, other.cpu_s);
        self.round_trips = sum(self.round_trips, other.round_trips);
        self.backends_new += other.backends_new;
        self.backends_ended += other.backends_ended;
        for (id, calls) in &other.per_query {
            *self.per_query.entry(*id).or_default() += calls;
        }
    }
}

/// Adds two optional measures: unknown in one window makes the sum unknown.
fn sum<T: std::ops::Add<Output = T>>(a: Option<T>, b: Option<T>) -> Option<T> {
    Some(a? + b?)
}

const STATEMENTS: &str = "
    SELECT queryid, sum(calls)::int8, sum(total_exec_time)::float8
      FROM pg_stat_statements(false)
     WHERE dbid::int8 = $1 AND queryid IS NOT NULL
  GROUP BY queryid";

const BACKENDS: &str = "
    SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'";

impl Observer {
    /// Connects to `url` to observe database `db` of the same cluster.
    pub async fn connect(url: &str, db: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .with_context(|| format!("connecting the observer to {url}"))?;
        let current: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&pool)
            .await?;
        anyhow::ensure!(
            current != db,
            "observe {db} from another database of its cluster (e.g. postgres): the observer's own queries would count"
        );
        let dbid: i64 = sqlx::query_scalar("SELECT oid::int8 FROM pg_database WHERE datname = $1")
            .bind(db)
            .fetch_optional(&pool)
            .await?
            .with_context(|| format!("no database {db} in that cluster"))?;
        sqlx::query("SELECT 1 FROM pg_stat_statements(false) LIMIT 1")
            .execute(&pool)
            .await
            .with_context(|| {
                format!(
                    "pg_stat_statements is not readable from {current}: the cluster needs \
                     shared_preload_libraries = pg_stat_statements and CREATE EXTENSION \
                     pg_stat_statements in {current}"
                )
            })?;
        let utility: String =
            sqlx::query_scalar("SELECT current_setting('pg_stat_statements.track_utility')")
                .fetch_one(&pool)
                .await?;
        if utility != "on" {
            eprintln!(
                "warning: pg_stat_statements.track_utility is off: BEGIN and COMMIT are not counted as statements"
            );
        }
        Ok(Self {
            pool,
            db: db.to_owned(),
            dbid,
            local_port: local_port(url),
            hz: procstat::ticks_per_second(),
        })
    }

    pub async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let rows: Vec<(i64, i64, f64)> = sqlx::query_as(STATEMENTS)
            .bind(self.dbid)
            .fetch_all(&self.pool)
            .await
            .context("reading pg_stat_statements")?;
        let statements = rows
            .into_iter()
            .map(|(id, calls, ms)| (id, (calls, ms)))
            .collect();
        let pids: Vec<i32> = sqlx::query_scalar(BACKENDS)
            .bind(&self.db)
            .fetch_all(&self.pool)
            .await
            .context("reading pg_stat_activity")?;
        let segments = self.local_port.and_then(segments_by_pid);
        let backends = pids
            .into_iter()
            .map(|pid| {
                let local = self.local_port.is_some();
                let cpu_s = u32::try_from(pid)
                    .ok()
                    .filter(|_| local)
                    .and_then(|p| Proc::with_ticks(Some(p), self.hz).cpu_seconds().ok());
                let segments_in = segments.as_ref().map(|s| s.get(&pid).copied().unwrap_or(0));
                (pid, Backend { cpu_s, segments_in })
            })
            .collect();
        Ok(Snapshot {
            statements,
            backends,
        })
    }

    /// Committed transactions of the database so far, as published by its backends.
    pub async fn commits(&self) -> anyhow::Result<i64> {
        sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
            .bind(&self.db)
            .fetch_one(&self.pool)
            .await
            .context("reading pg_stat_database")
    }

    /// The normalised text of these statements (one line, at most 160 characters).
    pub async fn texts(&self, ids: &[i64]) -> anyhow::Result<HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT DISTINCT ON (queryid) queryid, query FROM pg_stat_statements
              WHERE dbid::int8 = $1 AND queryid = ANY($2)",
        )
        .bind(self.dbid)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, q)| {
                let mut one_line = q.split_whitespace().collect::<Vec<_>>().join(" ");
                if one_line.chars().count() > 160 {
                    one_line = one_line.chars().take(157).collect::<String>() + "...";
                }
                (id, one_line)
            })
            .collect())
    }
}

/// The work between `before` and `after`.
pub fn usage(before: &Snapshot, after: &Snapshot) -> Usage {
    let mut u = Usage::default();
    for (id, (calls, ms)) in &after.statements {
        let (c0, ms0) = before.statements.get(id).copied().unwrap_or((0, 0.0));
        // A statement evicted and re-entered (pg_stat_statements.max) restarts from zero.
        let (calls, ms) = if *calls >= c0 {
            (calls - c0, ms - ms0)
        } else {
            (*calls, *ms)
        };
        if calls > 0 {
            u.statements += calls;
            u.exec_ms += ms;
            u.per_query.insert(*id, calls);
        }
    }
    let mut cpu = Some(0.0);
    let mut segments = Some(0);
    for (pid, b) in &after.backends {
        let old = before.backends.get(pid);
        if old.is_none() {
            u.backends_new += 1;
        }
        let cpu0 = old.map_or(Some(0.0), |o| o.cpu_s);
        cpu = match (cpu, b.cpu_s, cpu0) {
            (Some(total), Some(now), Some(then)) => Some(total + (now - then).max(0.0)),
            _ => None,
        };
        let seg0 = old.map_or(Some(0), |o| o.segments_in);
        segments = match (segments, b.segments_in, seg0) {
            (Some(total), Some(now), Some(then)) => Some(total + now.saturating_sub(then)),
            _ => None,
        };
    }
    u.cpu_s = cpu;
    u.round_trips = segments;
    u.backends_ended = before
        .backends
        .keys()
        .filter(|pid| !after.backends.contains_key(pid))
        .count();
    u
}

/// The port of a TCP URL to this machine's loopback, else `None`.
fn local_port(url: &str) -> Option<u16> {
    let url = url::Url::parse(url).ok()?;
    let loopback = matches!(url.host_str()?, "127.0.0.1" | "localhost" | "::1" | "[::1]");
    loopback.then(|| url.port().unwrap_or(5432))
}

/// Data segments received so far by each process's TCP sockets on `port` (PostgreSQL's
/// side of the connections): `ss -tinp` lists them with `data_segs_in` and the owning pid.
/// `None` when `ss` is missing or may not show other users' processes.
fn segments_by_pid(port: u16) -> Option<HashMap<i32, u64>> {
    let filter = format!("sport = :{port}");
    let out = std::process::Command::new("ss")
        .args(["-tinpH", "state", "established", &filter])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut by_pid: HashMap<i32, u64> = HashMap::new();
    let mut pid = None;
    let mut sockets = 0;
    for line in text.lines() {
        // A socket's line starts in column 0; its `-i` details follow, indented.
        if !line.starts_with(char::is_whitespace) {
            sockets += 1;
            pid = line
                .split("pid=")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|p| p.parse::<i32>().ok());
        }
        let Some(pid) = pid else { continue };
        for token in line.split_whitespace() {
            if let Some(n) = token.strip_prefix("data_segs_in:") {
                *by_pid.entry(pid).or_default() += n.parse::<u64>().unwrap_or(0);
            }
        }
    }
    // Sockets but no owners: not allowed to see them (not root).
    (sockets == 0 || !by_pid.is_empty()).then_some(by_pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_backends_count_fully_and_ended_ones_are_noted() {
        let backend = |cpu: f64, seg: u64| Backend {
            cpu_s: Some(cpu),
            segments_in: Some(seg),
        };
        let before = Snapshot {
            statements: HashMap::from([(1, (10, 5.0)), (2, (3, 1.0))]),
            backends: HashMap::from([(100, backend(1.0, 50)), (101, backend(2.0, 7))]),
        };
        let after = Snapshot {
            statements: HashMap::from([(1, (14, 6.0)), (2, (3, 1.0)), (3, (2, 0.5))]),
            backends: HashMap::from([(100, backend(1.5, 60)), (102, backend(0.25, 4))]),
        };
        let u = usage(&before, &after);
        assert_eq!(u.statements, 6);
        assert_eq!(u.per_query, HashMap::from([(1, 4), (3, 2)]));
        assert_eq!(u.cpu_s, Some(0.75));
        assert_eq!(u.round_trips, Some(14));
        assert_eq!((u.backends_new, u.backends_ended), (1, 1));
    }

    #[test]
    fn only_loopback_clusters_are_local() {
        assert_eq!(
            local_port("postgres://u@127.0.0.1:6000/postgres"),
            Some(6000)
        );
        assert_eq!(local_port("postgres://u@localhost/postgres"), Some(5432));
        assert_eq!(
            local_port("postgres://u@db.example.com:6000/postgres"),
            None
        );
    }
}
