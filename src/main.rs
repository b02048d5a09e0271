//! The `latchkey` command line: `serve` (default), `migrate`, `check-config`, `--version`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use latchkey::auth::SystemClock;
use latchkey::config::{Config, ConfigErrors, OperationsConfig};

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Nhost-compatible auth server, passkeys first"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (runs migrations first).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Print the effective configuration (secrets redacted) and every problem; exit 2 on errors.
    CheckConfig,
}

fn main() -> ExitCode {
    // The blocking pool runs bcrypt and the passkey signature checks: CPU work that threads
    // beyond a few per core only queue. Tokio allows 512, and every extra thread keeps a
    // malloc arena of its own: resident memory that grew with the number of clients.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads((4 * cores).max(8))
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("latchkey: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let config = Config::from_vars(vars.clone());
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::CheckConfig = command {
        return check_config(config);
    }
    let config = match config {
        Ok(config) => config,
        Err(errors) => return report(&errors),
    };
    init_logs(&config.operations);
    let result = match command {
        Command::Migrate => latchkey::open_store(&config.database, &config.limits)
            .await
            .map(|_| {
                tracing::info!(database = %config.database.redacted(), "migrations applied");
            }),
        _ => serve(config, vars).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "stopped");
            eprintln!("latchkey: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn report(errors: &ConfigErrors) -> ExitCode {
    for problem in &errors.0 {
        eprintln!("latchkey: bad configuration: {problem}");
    }
    ExitCode::from(2)
}

fn check_config(config: Result<Config, ConfigErrors>) -> ExitCode {
    match config {
        Ok(config) => {
            println!("configuration ok\n{}", config.summary().replace(' ', "\n"));
            ExitCode::SUCCESS
        }
        Err(errors) => report(&errors),
    }
}

/// JSON lines by default (for log pipelines), text with `AUTH_LOG_FORMAT_TEXT`; `RUST_LOG`
/// wins over `AUTH_DEBUG`. Other crates stay at info even with `AUTH_DEBUG`: their debug
/// output can carry request data.
fn init_logs(ops: &OperationsConfig) {
    let default = if ops.debug {
        "info,latchkey=debug"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if ops.log_text {
        builder.init();
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init();
    }
}

async fn serve(config: Config, vars: Vec<(String, String)>) -> anyhow::Result<()> {
    tracing::info!(config = %config.summary(), "starting");
    if config.jwt_secret.is_none() {
        tracing::warn!(
            "HASURA_GRAPHQL_JWT_SECRET is not set: using a generated development key stored in \
             the database. Set it in production."
        );
    }
    if config.encryption_key.is_none() {
        tracing::warn!(
            "AUTH_ENCRYPTION_KEY is not set: secrets kept at rest (TOTP secrets, provider \
             tokens) are encrypted with a generated development key stored in the database. \
             Set it in production."
        );
    }
    let store = latchkey::open_store(&config.database, &config.limits).await?;
    let addr = config.listen_addr();
    let prefix = config.api_prefix.clone();
    let ops = config.operations.clone();
    let limits = config.limits.clone();
    let auth = latchkey::auth::Auth::new(config, vars, store.clone(), Arc::new(SystemClock), None)
        .await
        .map_err(anyhow::Error::msg)?;
    let state = latchkey::http::AppState {
        auth: Arc::new(auth),
    };
    if let Some(metrics_addr) = ops.metrics_addr {
        let listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("binding LATCHKEY_METRICS_ADDR {metrics_addr}"))?;
        let metrics = latchkey::http::metrics_router(state.clone());
        tokio::spawn(async move { axum::serve(listener, metrics).await });
    }
    // Every replica delivers the outbox; it starts before the listener, so mails left by a
    // stopped or crashed process go out even before the first request.
    let outbox = latchkey::auth::OutboxWorker::start(state.auth.clone());
    let app = latchkey::http::router(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    // On every interface, `localhost` is the address to click; otherwise the one bound.
    let shown = if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    };
    tracing::info!(address = %addr, "listening");
    println!("Latchkey listening on http://{shown}{prefix}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = latchkey::http::serve(listener, app, &limits, async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = stop_tx.send(true);
    });
    // In-flight requests get `LATCHKEY_SHUTDOWN_TIMEOUT`; a stuck client cannot hold the
    // process (and a rolling deploy) forever.
    let deadline = async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(ops.shutdown_timeout).await;
    };
    tokio::select! {
        () = server => {}
        () = deadline => tracing::warn!("shutdown timeout reached with requests still open"),
    }
    // After the requests: their own attempts are done. A mail in hand is finished (at most
    // LATCHKEY_MAIL_SEND_TIMEOUT); the rest stays in the outbox for the other replicas.
    outbox.stop().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
