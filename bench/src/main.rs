//! `latchkey-bench`: drives a running Latchkey over HTTP with many concurrent software
//! passkeys, measures the machine's crypto and database floor in the same run, and writes
//! `<date>-<store>.{md,json,png}`. `scripts/bench` starts the database and the server.
//!
//! `latchkey-bench compare` instead drives two Nhost-compatible servers through their public
//! API only, in interleaved windows, and writes `<date>-compare.{md,json,png}`
//! (`scripts/bench-compare` starts both).

// The e2e tests' software authenticator (1Password's passkey crates behind a JSON "browser"),
// shared rather than copied: the benchmark's users are the tests' users.
#[path = "../../tests/e2e/support/authenticator.rs"]
mod authenticator;
mod client;
mod compare;
mod floor;
mod load;
mod procstat;
mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tokio::sync::Mutex as AsyncMutex;

use client::{Api, BenchUser, Op};
use latchkey::model::UserId;
use load::Target;
use procstat::Proc;
use report::Report;

#[derive(Parser)]
#[command(
    name = "latchkey-bench",
    about = "Passkey ceremonies per second against the machine's floor",
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    url: String,
    /// The WebAuthn origin the server accepts (its `AUTH_CLIENT_URL`).
    #[arg(long, default_value = "http://localhost:3000")]
    origin: String,
    /// Process id of the server, for its CPU time and memory.
    #[arg(long, required_unless_present = "render")]
    server_pid: Option<u32>,
    /// The server's database, for the database floor (`postgres://…` or `sqlite://…`).
    #[arg(long, required_unless_present = "render", default_value = "")]
    database_url: String,
    /// Store label used in the file names (`postgres`, `sqlite`).
    #[arg(long, required_unless_present = "render", default_value = "")]
    store: String,
    /// Describes the server build in the report.
    #[arg(long, default_value = "release build")]
    build: String,
    /// Directory for the results.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Date in the file names (default: today, UTC).
    #[arg(long)]
    date: Option<String>,
    /// Seconds per closed-loop window (and per open-loop window).
    #[arg(long, default_value_t = 2.5)]
    window: f64,
    /// Client counts of the sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    concurrency: Vec<usize>,
    /// Only these operations (default: all), e.g. `--ops sign-in,elevate` while profiling.
    #[arg(long, value_delimiter = ',')]
    ops: Vec<Op>,
    /// Writes the Markdown and PNG again from a JSON report (no server needed), e.g. after
    /// a change to how the report is laid out.
    #[arg(long, value_name = "JSON")]
    render: Option<PathBuf>,
    /// A few seconds in all: short windows, two concurrency levels (checks that it runs).
    #[arg(long)]
    smoke: bool,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Two Nhost-compatible servers side by side, through their public API only.
    Compare(Box<compare::Args>),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut cli = Cli::parse();
    if let Some(Command::Compare(args)) = cli.command.take() {
        return compare::main(*args).await;
    }
    if let Some(json) = &cli.render {
        let text =
            std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
        let report: Report = serde_json::from_str(&text).context("not a benchmark report")?;
        std::fs::write(json.with_extension("md"), report::markdown(&report))?;
        report::plot(&report, &json.with_extension("png"))?;
        eprintln!("wrote {}", json.with_extension("md").display());
        return Ok(());
    }
    if cli.smoke {
        cli.window = 0.3;
        cli.concurrency = vec![1, 4];
    }
    cli.concurrency.retain(|c| *c > 0);
    if cli.ops.is_empty() {
        cli.ops = Op::ALL.to_vec();
    }
    let ops: Vec<Op> = Op::ALL
        .into_iter()
        .filter(|op| cli.ops.contains(op))
        .collect();
    let users_needed = cli
        .concurrency
        .iter()
        .copied()
        .max()
        .context("no concurrency levels")?;
    let window = Duration::from_secs_f64(cli.window);
    let crypto_window = Duration::from_secs_f64((cli.window / 5.0).min(0.5));
    let date = cli
        .date
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());

    let server = Proc::new(Some(cli.server_pid.context("--server-pid is required")?));
    let bench = Proc::new(None);
    let server_idle = server.memory()?;
    let load_before = procstat::machine_load();
    let api = Api::new(&cli.url, &cli.origin)?;

    eprintln!("signing up {users_needed} users through the API");
    let users = sign_up_users(&api, users_needed).await?;
    let db_users: Vec<floor::DbUser> = users
        .iter()
        .map(|u| {
            Ok(floor::DbUser {
                id: UserId::from_uuid(u.user_id.parse()?),
                email: u.email.clone(),
            })
        })
        .collect::<anyhow::Result<_>>()?;

    eprintln!("crypto floor");
    let store = floor::open(&cli.database_url).await?;
    let first = db_users.first().context("no users")?;
    let first_user = users.first().context("no users")?;
    let sample = Arc::new(floor::Sample::capture(&api, &*store, first_user, first.id).await?);
    let crypto = tokio::task::block_in_place(|| floor::crypto(&sample.user, crypto_window))?;

    eprintln!("database floor");
    let mut db = Vec::new();
    for op in ops.iter().copied().filter(|op| floor::has_db_floor(*op)) {
        for &c in &cli.concurrency {
            let floor = floor::db(store.clone(), &db_users, sample.clone(), op, c, window / 2);
            db.push(floor.await?);
        }
    }

    floor::settle(&cli.database_url)
        .await
        .context("vacuuming after the database floor")?;

    let target = Target {
        api,
        users: Arc::new(users.into_iter().map(AsyncMutex::new).collect()),
        server,
        bench,
    };
    // Warm-up (connections, caches); not recorded.
    target
        .closed_loop(Op::SignIn, 4.min(users_needed), Duration::from_millis(300))
        .await?;

    let mut sweep = Vec::new();
    let mut open_loop = Vec::new();
    for &op in &ops {
        for &c in &cli.concurrency {
            let w = target.closed_loop(op, c, window).await?;
            if op == Op::AddKey {
                floor::prune_added_keys(&*store, &db_users).await?;
            }
            eprintln!(
                "{:>12} c={c:<3} {:>8.0}/s p99 {:>7.2} ms errors {}",
                op.key(),
                w.throughput,
                w.p99_ms,
                w.errors
            );
            sweep.push(w);
        }
        let best = sweep
            .iter()
            .filter(|w| w.op == op)
            .map(|w| w.throughput)
            .fold(0.0, f64::max);
        let w = target.open_loop(op, (best / 2.0).max(1.0), window).await?;
        if op == Op::AddKey {
            floor::prune_added_keys(&*store, &db_users).await?;
        }
        eprintln!(
            "{:>12} open {:>6.0}/s p99 {:>7.2} ms errors {}",
            op.key(),
            w.target_rate.unwrap_or_default(),
            w.p99_ms,
            w.errors
        );
        open_loop.push(w);
    }

    let summary = ops
        .iter()
        .copied()
        .filter_map(|op| report::summarise(op, &sweep, &open_loop, &crypto, &db))
        .collect();
    let report = Report {
        date: date.clone(),
        store: cli.store.clone(),
        machine: procstat::machine(),
        build: cli.build.clone(),
        load_average_before: load_before,
        load_average_after: procstat::machine_load(),
        window_seconds: cli.window,
        users: users_needed,
        server_idle,
        server_after: target.server.memory()?,
        server_cpu_seconds: target.server.cpu_seconds()?,
        bench_cpu_seconds: target.bench.cpu_seconds()?,
        crypto,
        db,
        sweep,
        open_loop,
        summary,
    };

    std::fs::create_dir_all(&cli.out).with_context(|| format!("creating {}", cli.out.display()))?;
    let stem = cli.out.join(format!("{date}-{}", cli.store));
    let md = stem.with_extension("md");
    std::fs::write(&md, report::markdown(&report)).context("writing the Markdown report")?;
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_vec_pretty(&report)?,
    )
    .context("writing the JSON report")?;
    report::plot(&report, &stem.with_extension("png"))?;
    eprintln!("wrote {}", md.display());
    let errors: u64 = report.summary.iter().map(|s| s.errors).sum();
    anyhow::ensure!(errors == 0, "{errors} requests failed (see the report)");
    Ok(())
}

/// Signs up `n` users through the API, a few at a time.
async fn sign_up_users(api: &Api, n: usize) -> anyhow::Result<Vec<BenchUser>> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut users = Vec::with_capacity(n);
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(8) {
        let mut tasks = Vec::new();
        for i in chunk {
            let api = api.clone();
            let email = format!("bench-{run}-{i}@example.com");
            tasks.push(tokio::spawn(async move { api.sign_up(&email).await }));
        }
        for task in tasks {
            users.push(task.await??);
        }
    }
    Ok(users)
}
