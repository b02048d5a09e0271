//! PostgreSQL backend over Nhost's `auth` schema: the production store, shared by replicas.

mod audit;
mod challenges;
mod keys;
mod passwords;
mod server;
mod sessions;
mod tickets;
mod users;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use super::StoreError;

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Connects without running migrations. At most `max_connections` are opened; a caller
    /// that waits longer than `acquire_timeout` for one gets `StoreError::Unavailable`.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A sign-in should fail fast with 503 rather than queue for sqlx's default 30 s.
            .acquire_timeout(acquire_timeout)
            .connect(url)
            .await
            .map_err(StoreError::db)?;
        Ok(Self::new(pool))
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(StoreError::db)
    }
}

impl PgStore {
    /// A pooled connection, timing the wait for it: a growing wait means the pool is too
    /// small for the load (`latchkey_db_pool_acquire_seconds`).
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, StoreError> {
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
