//! The side-by-side report: JSON (everything) and Markdown (the tables); plot.rs draws the PNG.

use std::fmt::Write as _;

use serde::Serialize;

use super::ops::CompareOp;
use super::server::Restart;
use crate::procstat::Memory;

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct CompareReport {
    pub date: String,
    pub machine: String,
    pub load_average_before: f64,
    pub load_average_after: f64,
    pub origin: String,
    pub window_seconds: f64,
    pub rounds: usize,
    pub clients: Vec<usize>,
    pub settle_seconds: f64,
    pub warmup_seconds: f64,
    /// Users signed up on each server before the run (one per client).
    pub users: usize,
    /// The throughput ratio A ÷ B the target asks for (issue #20: 1.5).
    pub target_ratio: f64,
    pub servers: Vec<ServerInfo>,
    pub cells: Vec<Cell>,
    pub top_statements: Vec<TopStatements>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub build: String,
    pub url: String,
    pub pid: Option<u32>,
    pub observed_database: Option<String>,
    pub idle: Option<Memory>,
    pub after: Option<Memory>,
    pub restarts: Vec<Restart>,
    pub down: Option<String>,
}

/// One operation at one client count: A's and B's side, in that order.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Cell {
    pub op: CompareOp,
    pub clients: usize,
    pub sides: Vec<Side>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Status {
    Ok,
    /// Stopped answering in this round (1-based); its later windows of the cell were skipped.
    Crashed {
        round: usize,
        error: String,
    },
    /// Out of the run since an earlier crash: nothing measured.
    Down,
}

/// One server's windows of a cell, merged.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Side {
    pub status: Status,
    pub windows: usize,
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_cpu_ms_per_op: Option<f64>,
    pub pg: Option<PgPerOp>,
}

/// PostgreSQL work per successful operation (pg.rs says how each is measured).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PgPerOp {
    pub statements: f64,
    pub round_trips: Option<f64>,
    /// `None` when the commit counter went backwards or could not be read.
    pub commits: Option<f64>,
    pub cpu_ms: Option<f64>,
    pub exec_ms: f64,
    pub backends_new: usize,
    pub backends_ended: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TopStatements {
    pub op: CompareOp,
    /// 0 for A, 1 for B.
    pub server: usize,
    pub ops: u64,
    pub rows: Vec<TopRow>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TopRow {
    pub calls_per_op: f64,
    pub query: String,
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.digits$}"))
}

/// Throughput cell text: the number, or what happened instead.
fn rate(s: &Side) -> String {
    match &s.status {
        Status::Ok => format!("{:.0}", s.throughput),
        Status::Crashed { round, .. } => {
            format!("**crashed** in round {round}, after {} ops", s.ops)
        }
        Status::Down => "down".into(),
    }
}

/// A latency of a side that ran all its windows.
fn ms(s: &Side, v: f64) -> String {
    match s.status {
        Status::Ok if s.ops > 0 => format!("{v:.2}"),
        _ => "–".into(),
    }
}

/// A per-operation measure of one side; none for a side that crashed or was down, whose
/// counts include the restart (migrations, sessions signed in again).
fn measure(s: &Side, value: Option<f64>, digits: usize) -> String {
    match s.status {
        Status::Ok => num(value, digits),
        Status::Crashed { .. } => "crashed".into(),
        Status::Down => "down".into(),
    }
}

/// "A / B" for a PostgreSQL column.
fn pair(a: &Side, b: &Side, pick: impl Fn(&PgPerOp) -> Option<f64>, digits: usize) -> String {
    let one = |s: &Side| measure(s, s.pg.as_ref().and_then(&pick), digits);
    format!("{} / {}", one(a), one(b))
}

/// A ÷ B when both sides ran all their windows.
pub fn ratio(a: &Side, b: &Side, pick: fn(&Side) -> f64) -> Option<f64> {
    let complete = |s: &Side| matches!(s.status, Status::Ok) && s.ops > 0;
    (complete(a) && complete(b) && pick(b) > 0.0).then(|| pick(a) / pick(b))
}

/// Whether the cell meets the target: A at least `ratio` × B's throughput, p99 no worse.
fn verdict(a: &Side, b: &Side, ratio: f64) -> String {
    match (&a.status, &b.status) {
        (Status::Ok, Status::Ok) if a.ops > 0 && b.ops > 0 => {
            let met = a.throughput >= ratio * b.throughput && a.p99_ms <= b.p99_ms;
            (if met { "yes" } else { "**no**" }).into()
        }
        (Status::Ok, Status::Crashed { .. } | Status::Down) => "B crashed".into(),
        (Status::Crashed { .. } | Status::Down, _) => "**A crashed**".into(),
        _ => "n/a".into(),
    }
}

pub fn markdown(r: &CompareReport) -> String {
    let mut md = String::new();
    let (Some(a), Some(b)) = (r.servers.first(), r.servers.get(1)) else {
        return "no servers in this report\n".into();
    };
    let _ = writeln!(md, "# {} vs {}, side by side, {}\n", a.name, b.name, r.date);
    let _ = writeln!(
        md,
        "- Machine: {} (load average {:.2} before, {:.2} after; the load generator shares the cores)",
        r.machine, r.load_average_before, r.load_average_after
    );
    for (label, s) in [("A", a), ("B", b)] {
        let memory = match (s.idle, s.after) {
            (Some(i), Some(f)) => format!(
                "; RSS idle {:.1} MiB, peak {:.1} MiB",
                i.rss_mib, f.peak_rss_mib
            ),
            _ => String::new(),
        };
        let db = s
            .observed_database
            .as_deref()
            .map_or(String::new(), |d| format!("; database `{d}`"));
        let _ = writeln!(
            md,
            "- {label}: **{}**, {} at {}{db}{memory}",
            s.name, s.build, s.url
        );
    }
    let _ = writeln!(
        md,
        "- Method: for each operation and client count, {} rounds of one {:.1} s closed-loop window on each server, alternating which goes first (A B, B A, A B, ...), so both see the same machine. A server's throughput is its operations in all its windows ÷ their total time; percentiles come from one HDR histogram merged over its windows. Each client has its own user ({} signed up with passkeys through the API on each server, untimed); {:.1} s of warm-up per operation and server (1 client) is not recorded.",
        r.rounds, r.window_seconds, r.users, r.warmup_seconds
    );
    let _ = writeln!(
        md,
        "- Only the public Nhost API is used (no database reads, no Latchkey-only endpoint); one operation is the whole ceremony (options + verify for passkeys); WebAuthn origin {}.",
        r.origin
    );
    let mut seen: Vec<CompareOp> = r.cells.iter().map(|c| c.op).collect();
    seen.dedup();
    let ops: Vec<String> = seen
        .iter()
        .map(|op| format!("{} = {}", op.key(), op.label()))
        .collect();
    let _ = writeln!(md, "- Operations: {}.\n", ops.join("; "));

    let _ = writeln!(md, "## Throughput and latency\n");
    let _ = writeln!(
        md,
        "Target (issue #20): A ≥ {:.1} × B's throughput with a p99 no worse, in every cell.\n",
        r.target_ratio
    );
    let _ = writeln!(
        md,
        "| operation | clients | A ops/s | B ops/s | A ÷ B | A p50 ms | A p99 ms | B p50 ms | B p99 ms | errors A / B | target met |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for c in &r.cells {
        let (Some(sa), Some(sb)) = (c.sides.first(), c.sides.get(1)) else {
            continue;
        };
        let ratio = num(ratio(sa, sb, |s| s.throughput), 2);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {ratio} | {} | {} | {} | {} | {} / {} | {} |",
            c.op.key(),
            c.clients,
            rate(sa),
            rate(sb),
            ms(sa, sa.p50_ms),
            ms(sa, sa.p99_ms),
            ms(sb, sb.p50_ms),
            ms(sb, sb.p99_ms),
            sa.errors,
            sb.errors,
            verdict(sa, sb, r.target_ratio)
        );
    }

    pg_tables(&mut md, r);
    failures(&mut md, r, a, b);
    md
}

/// The PostgreSQL work per operation and the busiest statements.
fn pg_tables(md: &mut String, r: &CompareReport) {
    if !r
        .cells
        .iter()
        .flat_map(|c| &c.sides)
        .any(|s| s.pg.is_some())
    {
        return;
    }
    let _ = writeln!(md, "\n## Work per operation (A / B)\n");
    let _ = writeln!(
        md,
        "| operation | clients | statements | round trips | commits | PostgreSQL CPU ms | server CPU ms |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for c in &r.cells {
        let (Some(a), Some(b)) = (c.sides.first(), c.sides.get(1)) else {
            continue;
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} / {} |",
            c.op.key(),
            c.clients,
            pair(a, b, |p| Some(p.statements), 1),
            pair(a, b, |p| p.round_trips, 1),
            pair(a, b, |p| p.commits, 2),
            pair(a, b, |p| p.cpu_ms, 3),
            measure(a, a.server_cpu_ms_per_op, 3),
            measure(b, b.server_cpu_ms_per_op, 3)
        );
    }
    let _ = writeln!(
        md,
        "\nPer successful operation, from outside the servers: statements = `pg_stat_statements` calls in the server's database (BEGIN and COMMIT included, `track_utility` on); round trips = data segments PostgreSQL's sockets received from the server (one per request flush, so a pipelined batch counts once; a pool that checks connections, like sqlx's ping on release, adds its own); commits = `pg_stat_database.xact_commit`, read after {:.0} s of quiet before and after each cell (backends publish it up to 10 s late); PostgreSQL CPU = user + system time of the database's client backends (`/proc/<pid>/stat`); a backend that ends during a window loses its share (count below), one that starts counts fully. Server CPU = the server process's own CPU. Failed operations' work is included, divided among the successful ones.",
        r.settle_seconds
    );
    let ended: usize = r
        .cells
        .iter()
        .flat_map(|c| &c.sides)
        .filter_map(|s| s.pg.as_ref())
        .map(|p| p.backends_ended)
        .sum();
    let _ = writeln!(
        md,
        "Backends that ended during a window (CPU partly lost): {ended}."
    );

    if r.top_statements.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Statements per operation\n");
    let _ = writeln!(
        md,
        "The busiest statements of each operation over all its windows, in calls per operation (normalised text from `pg_stat_statements`).\n"
    );
    for t in r.top_statements.iter().filter(|t| !t.rows.is_empty()) {
        let name = r.servers.get(t.server).map_or("?", |s| s.name.as_str());
        let _ = writeln!(md, "**{}**, {name} ({} operations):\n", t.op.key(), t.ops);
        let _ = writeln!(md, "| calls / op | statement |\n|---:|---|");
        for row in &t.rows {
            let query = row.query.replace('|', "\\|");
            let _ = writeln!(md, "| {:.2} | `{query}` |", row.calls_per_op);
        }
        let _ = writeln!(md);
    }
}

/// Crashes, restarts and the first error of each cell.
fn failures(md: &mut String, r: &CompareReport, a: &ServerInfo, b: &ServerInfo) {
    let restarts: Vec<String> = [a, b]
        .iter()
        .flat_map(|s| {
            s.restarts.iter().map(|x| {
                let when = match x.round {
                    0 => "before its windows (sessions, warm-up)".to_owned(),
                    n => format!("at {} clients, round {n}", x.clients),
                };
                format!(
                    "- {} stopped answering in {} {when}: {}",
                    s.name, x.op, x.outcome
                )
            })
        })
        .chain([a, b].iter().filter_map(|s| {
            s.down
                .as_ref()
                .map(|d| format!("- {} left the run: {d}", s.name))
        }))
        .collect();
    if !restarts.is_empty() {
        let _ = writeln!(md, "\n## Crashes\n\n{}", restarts.join("\n"));
    }
    let errors: Vec<String> = r
        .cells
        .iter()
        .flat_map(|c| {
            c.sides
                .iter()
                .zip(["A", "B"])
                .filter_map(move |(s, label)| {
                    let crash = match &s.status {
                        Status::Crashed { error, .. } => Some(error.as_str()),
                        _ => None,
                    };
                    crash.or(s.first_error.as_deref()).map(|e| {
                        let e: String = e.chars().take(300).collect();
                        format!("- {label}, {} at {} clients: {e}", c.op.key(), c.clients)
                    })
                })
        })
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(md, "\n## First error per cell\n\n{}", errors.join("\n"));
    }
}
