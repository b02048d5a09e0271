//! `latchkey-bench compare`: two Nhost-compatible servers, A and B, measured side by side in
//! one run through their public API only (no database reads, no Latchkey-only endpoint), so
//! an Nhost user can compare before migrating. For each operation and client count, rounds of
//! closed-loop windows alternate between the servers so both see the same machine conditions
//! (run.rs); PostgreSQL is observed read-only from the side, never through a server (pg.rs).
//! Writes `<date>-compare.{md,json,png}`; `scripts/bench-compare` starts everything.

mod ops;
mod pg;
mod plot;
mod report;
mod run;
mod server;
mod window;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::procstat;
use ops::CompareOp;
use report::{CompareReport, ServerInfo, Status};
use server::{Server, Spec};

/// Side-by-side throughput and latency of two Nhost-compatible servers (A, B).
#[derive(clap::Args)]
pub struct Args {
    /// Name of server A in the report.
    #[arg(long, default_value = "latchkey")]
    a_name: String,
    /// Base URL of server A: the root its Nhost paths hang off (`<url>/signin/webauthn`).
    #[arg(long, required_unless_present = "render")]
    a_url: Option<String>,
    /// Process id of server A, for its CPU time and memory.
    #[arg(long)]
    a_pid: Option<u32>,
    /// What A is (build, commit), for the report.
    #[arg(long, default_value = "")]
    a_build: String,
    /// PostgreSQL cluster of A to observe read-only, through a database other than A's own
    /// (e.g. `postgres://postgres@127.0.0.1:5432/postgres`): needs pg_stat_statements.
    #[arg(long, requires = "a_pg_db")]
    a_pg_url: Option<String>,
    /// A's database in that cluster.
    #[arg(long, requires = "a_pg_url")]
    a_pg_db: Option<String>,
    /// Shell command restarting A after a crash; the last line it prints is A's new pid.
    #[arg(long)]
    a_restart_cmd: Option<String>,
    /// Name of server B in the report.
    #[arg(long, default_value = "upstream")]
    b_name: String,
    /// Base URL of server B.
    #[arg(long, required_unless_present = "render")]
    b_url: Option<String>,
    /// Process id of server B.
    #[arg(long)]
    b_pid: Option<u32>,
    /// What B is, for the report.
    #[arg(long, default_value = "")]
    b_build: String,
    /// PostgreSQL cluster of B to observe (see --a-pg-url).
    #[arg(long, requires = "b_pg_db")]
    b_pg_url: Option<String>,
    /// B's database in that cluster.
    #[arg(long, requires = "b_pg_url")]
    b_pg_db: Option<String>,
    /// Shell command restarting B after a crash (see --a-restart-cmd).
    #[arg(long)]
    b_restart_cmd: Option<String>,
    /// The WebAuthn origin both servers accept (their `AUTH_CLIENT_URL`).
    #[arg(long, default_value = "http://localhost:3000")]
    origin: String,
    /// Seconds per window [default: 5; with --smoke 0.3].
    #[arg(long)]
    window: Option<f64>,
    /// Windows per server for each operation and client count [default: 3; with --smoke 2].
    #[arg(long)]
    rounds: Option<usize>,
    /// Client counts [default: 1,16,64; with --smoke 1,4].
    #[arg(long, value_delimiter = ',')]
    clients: Vec<usize>,
    /// Only these operations (default: all).
    #[arg(long, value_delimiter = ',')]
    ops: Vec<CompareOp>,
    /// Seconds of quiet before each cell's commit counters are read (PostgreSQL backends
    /// publish them up to 10 s late); only when a database is observed [default: 11; with
    /// --smoke 1].
    #[arg(long)]
    settle: Option<f64>,
    /// Seconds of unrecorded warm-up per operation and server, with one client [default: 1;
    /// with --smoke 0.2].
    #[arg(long)]
    warmup: Option<f64>,
    /// Seconds before a request counts as failed.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Throughput ratio A ÷ B the report checks for (with A's p99 no worse).
    #[arg(long, default_value_t = 1.5)]
    target_ratio: f64,
    /// Directory for the results.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Date in the file names (default: today, UTC).
    #[arg(long)]
    date: Option<String>,
    /// A few seconds in all: other defaults for the window, rounds, clients, settle and
    /// warm-up (explicit values still apply).
    #[arg(long)]
    smoke: bool,
    /// Exit with an error when any operation failed or a server crashed.
    #[arg(long)]
    strict: bool,
    /// Writes the Markdown and PNG again from a JSON report (no servers needed).
    #[arg(long, value_name = "JSON")]
    render: Option<PathBuf>,
}

impl Args {
    fn spec(&self, b: bool) -> anyhow::Result<Spec> {
        let pick = |a: &Option<String>, b_: &Option<String>| if b { b_.clone() } else { a.clone() };
        let (db_url, db) = (
            pick(&self.a_pg_url, &self.b_pg_url),
            pick(&self.a_pg_db, &self.b_pg_db),
        );
        Ok(Spec {
            name: if b { &self.b_name } else { &self.a_name }.clone(),
            build: if b { &self.b_build } else { &self.a_build }.clone(),
            url: pick(&self.a_url, &self.b_url).context("--a-url and --b-url are required")?,
            pid: if b { self.b_pid } else { self.a_pid },
            pg: db_url.zip(db),
            restart_cmd: pick(&self.a_restart_cmd, &self.b_restart_cmd),
        })
    }
}

pub async fn main(args: Args) -> anyhow::Result<()> {
    if let Some(json) = &args.render {
        let text =
            std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
        let report: CompareReport = serde_json::from_str(&text).context("not a compare report")?;
        return write(&report, &json.with_extension(""));
    }
    let smoke = args.smoke;
    let pick = |value: Option<f64>, full: f64, short: f64| {
        value.unwrap_or(if smoke { short } else { full })
    };
    let (window, settle) = (pick(args.window, 5.0, 0.3), pick(args.settle, 11.0, 1.0));
    let warmup = pick(args.warmup, 1.0, 0.2);
    let rounds = args.rounds.unwrap_or(if smoke { 2 } else { 3 });
    let mut clients = match (args.clients.is_empty(), smoke) {
        (false, _) => args.clients.clone(),
        (true, false) => vec![1, 16, 64],
        (true, true) => vec![1, 4],
    };
    clients.retain(|c| *c > 0);
    anyhow::ensure!(
        rounds > 0 && window > 0.0,
        "--rounds and --window must be positive"
    );
    let users = clients.iter().copied().max().context("no client counts")?;
    let ops: Vec<CompareOp> = CompareOp::ALL
        .into_iter()
        .filter(|op| args.ops.is_empty() || args.ops.contains(op))
        .collect();
    let date = args
        .date
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());
    let timeout = Duration::from_secs_f64(args.timeout);
    let load_before = procstat::machine_load();

    let mut servers = [
        Server::connect(args.spec(false)?, &args.origin, timeout).await?,
        Server::connect(args.spec(true)?, &args.origin, timeout).await?,
    ];
    for server in &mut servers {
        eprintln!("{}: signing up {users} users through the API", server.name);
        server.sign_up_clients(users).await?;
    }
    let plan = run::Plan {
        ops,
        clients: clients.clone(),
        rounds,
        window: Duration::from_secs_f64(window),
        settle: Duration::from_secs_f64(settle.max(0.0)),
        warmup: Duration::from_secs_f64(warmup.max(0.0)),
    };
    let cells = (plan.ops.len() * plan.clients.len()) as f64;
    let observed = servers.iter().any(|s| s.observer.is_some());
    let settles = if observed {
        cells + plan.ops.len() as f64
    } else {
        0.0
    };
    eprintln!(
        "about {:.0} s of windows and {:.0} s of quiet for PostgreSQL's counters",
        cells * (plan.rounds * 2) as f64 * window,
        settles * plan.settle.as_secs_f64()
    );
    let outcome = run::run(&plan, &mut servers).await?;

    let report = CompareReport {
        date: date.clone(),
        machine: procstat::machine(),
        load_average_before: load_before,
        load_average_after: procstat::machine_load(),
        origin: args.origin.clone(),
        window_seconds: window,
        rounds,
        clients,
        settle_seconds: settle,
        warmup_seconds: warmup,
        users,
        target_ratio: args.target_ratio,
        servers: servers.iter().map(info).collect(),
        cells: outcome.cells,
        top_statements: outcome.top_statements,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let stem = args.out.join(format!("{date}-compare"));
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_vec_pretty(&report)?,
    )
    .context("writing the JSON report")?;
    write(&report, &stem)?;

    let sides = report.cells.iter().flat_map(|c| &c.sides);
    let errors: u64 = sides.clone().map(|s| s.errors).sum();
    let crashes = sides.filter(|s| !matches!(s.status, Status::Ok)).count();
    anyhow::ensure!(
        !args.strict || (errors == 0 && crashes == 0),
        "{errors} operations failed, {crashes} cells crashed or down (see the report)"
    );
    Ok(())
}

/// Writes `<stem>.md` and `<stem>.png`.
fn write(report: &CompareReport, stem: &std::path::Path) -> anyhow::Result<()> {
    let md = stem.with_extension("md");
    std::fs::write(&md, report::markdown(report)).context("writing the Markdown report")?;
    plot::plot(report, &stem.with_extension("png"))?;
    eprintln!("wrote {}", md.display());
    Ok(())
}

fn info(s: &Server) -> ServerInfo {
    ServerInfo {
        name: s.name.clone(),
        build: s.build.clone(),
        url: s.url.clone(),
        pid: s.pid,
        observed_database: s.observer.as_ref().map(|o| o.db.clone()),
        idle: s.idle,
        after: s.memory(),
        restarts: s.restarts.clone(),
        down: s.down.clone(),
    }
}
