//! Latchkey: an authentication server speaking the Nhost Auth HTTP API, passkeys first.

pub mod auth;
pub mod config;
pub mod http;
pub mod mail;
pub mod model;
mod outgoing;
pub mod sms;
pub mod store;

use std::sync::Arc;

use anyhow::Context as _;

use auth::{Auth, Clock};
use config::{Config, DatabaseUrl, LimitsConfig};
use mail::Mailer;
use store::Store;
use store::postgres::PgStore;
use store::sqlite::SqliteStore;

/// Opens the configured database with the pool bounds of `limits` and runs its migrations.
pub async fn open_store(
    database: &DatabaseUrl,
    limits: &LimitsConfig,
) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match database {
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(url, limits.db_max_connections, limits.db_acquire_timeout)
                .await
                .context("connecting to PostgreSQL")?;
            store.migrate().await.context("migrating PostgreSQL")?;
            Arc::new(store)
        }
        DatabaseUrl::Sqlite(url) => {
            let store = SqliteStore::connect(url, limits.db_acquire_timeout)
                .await
                .context("opening SQLite")?;
            store.migrate().await.context("migrating SQLite")?;
            Arc::new(store)
        }
    })
}

/// The application built over an opened store: the router, and the domain it serves (whose
/// outbox worker the caller starts: `auth::OutboxWorker::start(app.auth.clone())`).
pub struct App {
    pub router: axum::Router,
    pub auth: Arc<Auth>,
}

/// Builds the whole application over an opened store: used by `main` and by tests. `mailer`
/// replaces the one the configuration selects (SMTP, or files without `AUTH_SMTP_HOST`).
pub async fn build(
    config: Config,
    vars: Vec<(String, String)>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Option<Arc<dyn Mailer>>,
) -> anyhow::Result<App> {
    let auth = Arc::new(
        Auth::new(config, vars, store, clock, mailer)
            .await
            .map_err(anyhow::Error::msg)?,
    );
    let router = http::router(http::AppState { auth: auth.clone() });
    Ok(App { router, auth })
}
