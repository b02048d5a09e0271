//! The `latchkey` command line: `serve` (default), `migrate`, `--version`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use latchkey::auth::SystemClock;
use latchkey::config::Config;
use latchkey::mail::LogMailer;

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LATCHKEY_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let config = match Config::from_vars(vars.clone()) {
        Ok(config) => config,
        Err(errors) => {
            for problem in &errors.0 {
                eprintln!("latchkey: bad configuration: {problem}");
            }
            return std::process::ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, vars).await,
        Command::Migrate => latchkey::open_store(&config.database).await.map(|_| {
            tracing::info!(database = %config.database.redacted(), "migrations applied");
        }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("latchkey: {err:#}");
            std::process::ExitCode::FAILURE
        }
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
    let store = latchkey::open_store(&config.database).await?;
    let addr = SocketAddr::from(([0, 0, 0, 0], config.port));
    let prefix = config.api_prefix.clone();
    let app = latchkey::build(
        config,
        vars,
        store,
        Arc::new(SystemClock),
        Arc::new(LogMailer),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!(
        "Latchkey listening on http://localhost:{}{prefix}",
        addr.port()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            return;
        }
    }
    let _ = ctrl_c.await;
}
