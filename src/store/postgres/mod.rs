//! PostgreSQL backend over Nhost's `auth` schema: the production store, shared by replicas.

mod audit;
mod challenges;
mod codes;
mod keys;
mod mfa;
mod outbox;
mod passwords;
mod pats;
mod pool;
mod provider_tokens;
mod providers;
mod server;
mod sessions;
mod tickets;
mod users;

/// The lookup of a user by phone number (`$1`, E.164), for the test that checks it is planned
/// through migration 0012's index, not a scan.
pub use users::USER_BY_PHONE;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;

pub use pool::{Pool, PooledConnection};

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

/// Every periodic delete, each taking `$1` (the time before which rows are old) and `$2` (the
/// batch size), with the index it must find its rows through: a test checks that PostgreSQL
/// plans each with that index.
pub const SWEEPS: &[(&str, &str)] = &[
    ("refresh_tokens_expires_at_idx", sessions::SWEEP_TOKENS),
    (
        "refresh_token_rotations_expires_at_idx",
        sessions::SWEEP_ROTATIONS,
    ),
    ("rate_limit_hits_expires_at_idx", server::SWEEP_HITS),
    ("audit_log_created_at_idx", audit::SWEEP),
    ("webauthn_challenges_expires_at_idx", challenges::SWEEP),
    ("latchkey_one_time_codes_expires_at_idx", codes::SWEEP),
    ("latchkey_provider_flows_expires_at_idx", providers::SWEEP),
];

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// A store on the database of a sqlx pool (as `sqlx::test` gives), with that pool's size
    /// and acquire timeout; the store opens its own connections (`Pool`).
    pub async fn new(pool: PgPool) -> Result<Self, StoreError> {
        let options = pool.options();
        let (max, timeout) = (options.get_max_connections(), options.get_acquire_timeout());
        let connect = pool.connect_options().as_ref().clone();
        Ok(Self {
            pool: Pool::connect(connect, max, timeout).await?,
        })
    }

    /// Connects without running migrations. At most `max_connections` are opened; a caller
    /// that waits longer than `acquire_timeout` for one gets `StoreError::Unavailable`.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(StoreError::db)?;
        Ok(Self {
            pool: Pool::connect(options, max_connections, acquire_timeout).await?,
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        MIGRATOR.run(&mut *conn).await.map_err(StoreError::db)
    }

    /// A connection of the store's pool, held until dropped (for tests and tools).
    pub async fn checkout(&self) -> Result<PooledConnection, StoreError> {
        self.pool.acquire().await
    }
}

impl PgStore {
    /// A pooled connection, timing the wait for it: a growing wait means the pool is too
    /// small for the load (`latchkey_db_pool_acquire_seconds`).
    async fn conn(&self) -> Result<PooledConnection, StoreError> {
        let started = std::time::Instant::now();
        let conn = self.pool.acquire().await?;
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
