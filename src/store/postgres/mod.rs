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

use super::{AuditEvent, StoreError};

/// A CTE (`audited AS (...)`) that records an audit event in the statement that makes the change
/// it describes, so the event costs neither a round trip nor a commit of its own. The
/// arguments are the placeholders of: the time, then the five values `bind_event` binds. With
/// no event (its name bound as NULL) it inserts nothing.
macro_rules! audit_cte {
    ($at:literal, $event:literal, $user:literal, $detail:literal, $ip:literal, $agent:literal) => {
        concat!(
            "audited AS (
        INSERT INTO auth.audit_log (created_at, event, user_id, detail, ip, user_agent)
        SELECT ",
            $at,
            ", ",
            $event,
            "::text, ",
            $user,
            "::uuid, ",
            $detail,
            "::jsonb, ",
            $ip,
            "::text, ",
            $agent,
            "::text WHERE ",
            $event,
            "::text IS NOT NULL)"
        )
    };
}
pub(crate) use audit_cte;

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the five values of `audit_cte!` after its time: name, user, detail, address, agent.
fn bind_event<'q>(query: PgQuery<'q>, event: Option<&'q AuditEvent>) -> PgQuery<'q> {
    let context = event.and_then(|e| e.context.as_ref());
    query
        .bind(event.map(|e| e.event))
        .bind(event.and_then(|e| e.user_id).map(|u| u.as_uuid()))
        .bind(event.map(|e| sqlx::types::Json(&e.detail)))
        .bind(context.map(|c| c.ip.as_str()))
        .bind(context.and_then(|c| c.user_agent.as_deref()))
}

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// A pooled connection idle for longer than this is pinged before use.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(10);

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
            // sqlx pings every connection it hands out by default: a round trip before every
            // statement. Only a connection that sat idle a while is checked; one that broke
            // since fails its statement with `Unavailable` (503) and is dropped.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_CHECK_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
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

/// The constraint a unique violation hit, for statements that can hit more than one.
fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

fn db(err: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(err)
}
