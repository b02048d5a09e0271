//! SQLite backend: the embedded default, one file, no setup. Same tables as PostgreSQL's
//! `auth` schema, without the schema prefix; timestamps are Unix milliseconds.

mod audit;
mod challenges;
mod codes;
mod keys;
mod mfa;
mod outbox;
mod passwords;
mod pats;
mod provider_tokens;
mod providers;
mod server;
mod sessions;
mod tickets;
mod users;

/// The lookup of a user by phone number (`$1`, E.164), for the test that checks it is planned
/// through migration 0012's index, not a scan.
pub use users::USER_BY_PHONE;

use std::str::FromStr;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;
use crate::model::Timestamp;

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// Transactions that read and then write start as writers: a deferred SQLite transaction
/// cannot always upgrade, and would fail under concurrency instead of waiting.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Opens (creating if missing) the database file in WAL mode, without migrating.
    pub async fn connect(url: &str, acquire_timeout: Duration) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await
            .map_err(StoreError::db)?;
        Ok(Self::new(pool))
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(StoreError::db)
    }
}

impl SqliteStore {
    /// A pooled connection, timing the wait for it: a growing wait means the pool is too
    /// small for the load (`latchkey_db_pool_acquire_seconds`).
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, StoreError> {
        let started = std::time::Instant::now();
        let conn = self.pool.acquire().await.map_err(db)?;
        metrics::histogram!("latchkey_db_pool_acquire_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(conn)
    }
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn db(err: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(err)
}

fn millis(ts: Timestamp) -> i64 {
    ts.timestamp_millis()
}

fn from_millis(table: &'static str, ms: i64) -> Result<Timestamp, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::corrupt(table, "timestamp"))
}
