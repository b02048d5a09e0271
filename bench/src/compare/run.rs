//! The run: for each operation and client count, rounds of interleaved windows on the two
//! servers (A B, then B A, ...), PostgreSQL snapshots around each window, and what happens
//! when a server stops answering: its cell says "crashed", its later windows of that cell are
//! skipped, and it is restarted (or leaves the run) before the next window.

use std::collections::HashMap;
use std::time::Duration;

use super::ops::CompareOp;
use super::pg::{self, Usage};
use super::report::{Cell, PgPerOp, Side, Status, TopRow, TopStatements};
use super::server::{Restart, Server};
use super::window;
use crate::load::Tally;

pub struct Plan {
    pub ops: Vec<CompareOp>,
    pub clients: Vec<usize>,
    pub rounds: usize,
    pub window: Duration,
    /// Quiet time before reading the commit counters (backends publish them late).
    pub settle: Duration,
    pub warmup: Duration,
}

/// Sessions older than this are renewed (untimed) before an operation that presents them:
/// access tokens live 15 minutes by default, upstream and here.
const SESSION_AGE: Duration = Duration::from_secs(300);

/// Statements listed per operation and server.
const TOP_STATEMENTS: usize = 8;

pub struct Outcome {
    pub cells: Vec<Cell>,
    pub top_statements: Vec<TopStatements>,
}

/// One server's windows of a cell, summed.
struct Acc {
    tally: Tally,
    seconds: f64,
    windows: usize,
    server_cpu_s: Option<f64>,
    pg: Usage,
    status: Status,
}

impl Acc {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            tally: Tally::new()?,
            seconds: 0.0,
            windows: 0,
            server_cpu_s: Some(0.0),
            pg: Usage::zero(),
            status: Status::Ok,
        })
    }
}

pub async fn run(plan: &Plan, servers: &mut [Server; 2]) -> anyhow::Result<Outcome> {
    // (operation, server) → the statements of all its windows and its operations.
    let mut per_op: HashMap<(CompareOp, usize), (Usage, u64)> = HashMap::new();
    let mut cells = Vec::new();
    for &op in &plan.ops {
        for server in servers.iter_mut() {
            prepare(server, op, plan.warmup).await?;
        }
        let mut commits = settle(servers, plan.settle).await?;
        for &clients in &plan.clients {
            let mut acc = [Acc::new()?, Acc::new()?];
            for round in 0..plan.rounds {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    if let (Some(server), Some(acc)) = (servers.get_mut(i), acc.get_mut(i)) {
                        measure(server, acc, op, clients, round + 1, plan.window).await?;
                    }
                }
            }
            let after = settle(servers, plan.settle).await?;
            let mut sides = Vec::with_capacity(2);
            for (i, acc) in acc.into_iter().enumerate() {
                let observed = servers.get(i).is_some_and(|s| s.observer.is_some());
                let commits = match (commits.get(i), after.get(i)) {
                    (Some(Some(before)), Some(Some(after))) => Some(after - before),
                    _ => None,
                };
                let entry = per_op.entry((op, i)).or_insert_with(|| (Usage::zero(), 0));
                entry.0.add(&acc.pg);
                entry.1 += acc.tally.hist.len();
                sides.push(side(acc, observed, commits));
            }
            print_cell(op, clients, &sides);
            cells.push(Cell { op, clients, sides });
            commits = after;
        }
    }
    let top_statements = top_statements(servers, &plan.ops, &per_op).await?;
    Ok(Outcome {
        cells,
        top_statements,
    })
}

/// Untimed, before an operation's first cell: fresh sessions when the operation presents
/// them, then a short warm-up (connections, prepared statements, caches) with one client.
async fn prepare(server: &mut Server, op: CompareOp, warmup: Duration) -> anyhow::Result<()> {
    if server.down.is_some() {
        return Ok(());
    }
    if op.presents_token()
        && let Err(err) = server.renew_sessions(SESSION_AGE).await
    {
        if server.is_up().await {
            return Err(err);
        }
        return recover(server, op, 0, 0, &format!("{err:#}")).await;
    }
    if warmup.is_zero() {
        return Ok(());
    }
    let w = window::closed_loop(server, op, 1, warmup).await?;
    if w.tally.errors > 0 && !server.is_up().await {
        let error = w.tally.first_error.unwrap_or_default();
        return recover(server, op, 0, 0, &error).await;
    }
    if w.tally.errors > 0
        && let Err(err) = server.renew_sessions(Duration::ZERO).await
    {
        eprintln!("warning: after the warm-up: {err:#}");
    }
    Ok(())
}

/// One window of `op` on `server`, added to `acc` (skipped when the server is out).
async fn measure(
    server: &mut Server,
    acc: &mut Acc,
    op: CompareOp,
    clients: usize,
    round: usize,
    length: Duration,
) -> anyhow::Result<()> {
    if server.down.is_some() {
        if matches!(acc.status, Status::Ok) {
            acc.status = Status::Down;
        }
        return Ok(());
    }
    if !matches!(acc.status, Status::Ok) {
        return Ok(());
    }
    let before = match &server.observer {
        Some(o) => Some(o.snapshot().await?),
        None => None,
    };
    let w = window::closed_loop(server, op, clients, length).await?;
    if let (Some(o), Some(before)) = (&server.observer, before) {
        acc.pg.add(&pg::usage(&before, &o.snapshot().await?));
    }
    let errors = w.tally.errors;
    let first_error = w.tally.first_error.clone();
    acc.tally.merge(w.tally)?;
    acc.seconds += w.seconds;
    acc.windows += 1;
    acc.server_cpu_s = acc.server_cpu_s.zip(w.server_cpu_s).map(|(a, b)| a + b);
    if errors == 0 {
        return Ok(());
    }
    if server.is_up().await {
        // A refresh that failed may have spent its token: every client gets a session again.
        match server.renew_sessions(Duration::ZERO).await {
            Ok(()) => return Ok(()),
            Err(err) if server.is_up().await => {
                eprintln!("warning: {err:#}");
                return Ok(());
            }
            Err(_) => {}
        }
    }
    let error = if w.transport_failed {
        first_error.unwrap_or_default()
    } else {
        format!(
            "no answer on /healthz after: {}",
            first_error.unwrap_or_default()
        )
    };
    acc.status = Status::Crashed {
        round,
        error: error.clone(),
    };
    recover(server, op, clients, round, &error).await
}

/// After a crash: restart the server, or take it out of the run when that fails.
async fn recover(
    server: &mut Server,
    op: CompareOp,
    clients: usize,
    round: usize,
    error: &str,
) -> anyhow::Result<()> {
    let short: String = error.chars().take(200).collect();
    eprintln!(
        "{} stopped answering ({} at {clients} clients, round {round}): {short}",
        server.name,
        op.key()
    );
    let outcome = match server.restart().await {
        Ok(()) => "restarted".to_owned(),
        Err(err) => {
            let reason = format!("{err:#}");
            server.down = Some(reason.clone());
            format!("not restarted ({reason}); out of the run")
        }
    };
    eprintln!("{}: {outcome}", server.name);
    server.restarts.push(Restart {
        op: op.key().to_owned(),
        clients,
        round,
        outcome,
    });
    Ok(())
}

/// Waits `wait` when any server is observed, then reads each observed database's commits.
async fn settle(servers: &[Server; 2], wait: Duration) -> anyhow::Result<[Option<i64>; 2]> {
    if servers.iter().any(|s| s.observer.is_some()) {
        tokio::time::sleep(wait).await;
    }
    let mut commits = [None, None];
    for (slot, server) in commits.iter_mut().zip(servers.iter()) {
        if let Some(o) = &server.observer {
            *slot = Some(o.commits().await?);
        }
    }
    Ok(commits)
}

fn side(acc: Acc, observed: bool, commits: Option<i64>) -> Side {
    let ops = acc.tally.hist.len();
    let per_op = |x: f64| x / ops as f64;
    let ms = |q: f64| acc.tally.hist.value_at_quantile(q) as f64 / 1000.0;
    let pg = (observed && ops > 0).then(|| PgPerOp {
        statements: per_op(acc.pg.statements as f64),
        round_trips: acc.pg.round_trips.map(|n| per_op(n as f64)),
        commits: commits.filter(|c| *c >= 0).map(|c| per_op(c as f64)),
        cpu_ms: acc.pg.cpu_s.map(|s| per_op(s * 1000.0)),
        exec_ms: per_op(acc.pg.exec_ms),
        backends_new: acc.pg.backends_new,
        backends_ended: acc.pg.backends_ended,
    });
    let measured = ops > 0 && acc.seconds > 0.0;
    Side {
        status: acc.status,
        windows: acc.windows,
        ops,
        errors: acc.tally.errors,
        first_error: acc.tally.first_error.clone(),
        seconds: acc.seconds,
        throughput: if measured {
            ops as f64 / acc.seconds
        } else {
            0.0
        },
        p50_ms: if measured { ms(0.50) } else { 0.0 },
        p90_ms: if measured { ms(0.90) } else { 0.0 },
        p99_ms: if measured { ms(0.99) } else { 0.0 },
        max_ms: if measured {
            acc.tally.hist.max() as f64 / 1000.0
        } else {
            0.0
        },
        server_cpu_ms_per_op: acc
            .server_cpu_s
            .filter(|_| ops > 0)
            .map(|s| per_op(s * 1000.0)),
        pg,
    }
}

fn print_cell(op: CompareOp, clients: usize, sides: &[Side]) {
    let show = |s: &Side| match s.status {
        Status::Ok => format!(
            "{:>7.0}/s p99 {:>8.2} ms err {}",
            s.throughput, s.p99_ms, s.errors
        ),
        Status::Crashed { round, .. } => format!("CRASHED in round {round} ({} ops)", s.ops),
        Status::Down => "down".into(),
    };
    if let (Some(a), Some(b)) = (sides.first(), sides.get(1)) {
        let ratio = super::report::ratio(a, b, |s| s.throughput)
            .map_or("n/a".into(), |r| format!("{r:.2}"));
        eprintln!(
            "{:>16} c={clients:<3} A {} | B {} | A/B {ratio}",
            op.key(),
            show(a),
            show(b)
        );
    }
}

/// The busiest statements of each operation on each observed server, in calls per operation.
async fn top_statements(
    servers: &[Server; 2],
    ops: &[CompareOp],
    per_op: &HashMap<(CompareOp, usize), (Usage, u64)>,
) -> anyhow::Result<Vec<TopStatements>> {
    let mut out = Vec::new();
    for &op in ops {
        for (i, server) in servers.iter().enumerate() {
            let (Some(observer), Some((usage, n))) = (&server.observer, per_op.get(&(op, i)))
            else {
                continue;
            };
            if *n == 0 {
                continue;
            }
            let mut calls: Vec<(i64, i64)> =
                usage.per_query.iter().map(|(k, v)| (*k, *v)).collect();
            calls.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            calls.truncate(TOP_STATEMENTS);
            let ids: Vec<i64> = calls.iter().map(|(id, _)| *id).collect();
            let texts = observer.texts(&ids).await?;
            let rows = calls
                .iter()
                .map(|(id, c)| TopRow {
                    calls_per_op: *c as f64 / *n as f64,
                    query: texts
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| format!("queryid {id}")),
                })
                .collect();
            out.push(TopStatements {
                op,
                server: i,
                ops: *n,
                rows,
            });
        }
    }
    Ok(out)
}
