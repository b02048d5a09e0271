//! The PostgreSQL connection pool.
//!
//! sqlx's own pool pings every connection as it comes back (sqlx-core 0.9,
//! `Floating::return_to_pool`): one more round trip, and one more wake-up of the PostgreSQL
//! backend, after every statement. Here a returned connection is only drained when a
//! statement on it was interrupted (its request was dropped mid-statement, or a transaction
//! was dropped without committing, which queues a ROLLBACK): sqlx's `flush` finishes at once,
//! without I/O, on a connection that is ready. A connection idle for a while is pinged before
//! it is handed out again, and one that fails is closed, never reused.

use std::future::Future as _;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::store::{PoolStats, StoreError};

/// An idle connection older than this is pinged before it is handed out.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(10);
/// How long an interrupted statement may take to drain before its connection is closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    options: PgConnectOptions,
    max: u32,
    acquire_timeout: Duration,
    /// One permit per connection handed out (or being opened): at most `max`.
    permits: Arc<Semaphore>,
    /// Ready connections, the most recently used last.
    idle: Mutex<Vec<Idle>>,
    /// Connections open now, idle or not. Shared with the connections themselves, which must
    /// not hold the pool (an idle connection holding it would keep it alive forever).
    open: Arc<AtomicU32>,
    closed: AtomicBool,
}

struct Idle {
    conn: Counted,
    since: Instant,
}

/// A connection that counts itself in `Inner::open` while it lives.
struct Counted {
    conn: PgConnection,
    open: Arc<AtomicU32>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection handed out by the pool; it goes back when dropped.
pub struct PooledConnection {
    conn: Option<Counted>,
    permit: Option<OwnedSemaphorePermit>,
    pool: Arc<Inner>,
}

impl Pool {
    /// A pool of at most `max` connections; opens one now, so a bad URL or an unreachable
    /// server is reported at start.
    pub async fn connect(
        options: PgConnectOptions,
        max: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let pool = Pool {
            inner: Arc::new(Inner {
                // Named in pg_stat_activity, for operators (and the test that the pool closes).
                options: options.application_name("latchkey"),
                max,
                acquire_timeout,
                permits: Arc::new(Semaphore::new(max.max(1) as usize)),
                idle: Mutex::new(Vec::new()),
                open: Arc::new(AtomicU32::new(0)),
                closed: AtomicBool::new(false),
            }),
        };
        drop(pool.acquire().await?);
        Ok(pool)
    }

    /// A ready connection: an idle one, or a new one while fewer than `max` are open. A
    /// caller that waits longer than the acquire timeout gets `Unavailable`.
    pub async fn acquire(&self) -> Result<PooledConnection, StoreError> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now() + inner.acquire_timeout;
        let permit =
            match tokio::time::timeout_at(deadline, inner.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(StoreError::from_sqlx(sqlx::Error::PoolClosed)),
                Err(_) => return Err(StoreError::from_sqlx(sqlx::Error::PoolTimedOut)),
            };
        loop {
            let idle = inner.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
            let Some(Idle { mut conn, since }) = idle else {
                break;
            };
            if since.elapsed() < IDLE_CHECK_AFTER {
                return Ok(self.hand_out(conn, permit));
            }
            match tokio::time::timeout_at(deadline, conn.conn.ping()).await {
                Ok(Ok(())) => return Ok(self.hand_out(conn, permit)),
                // Broken (the server restarted, a proxy dropped it): closed, try the next.
                Ok(Err(_)) => continue,
                Err(_) => return Err(StoreError::from_sqlx(sqlx::Error::PoolTimedOut)),
            }
        }
        let opened = tokio::time::timeout_at(deadline, inner.options.connect()).await;
        match opened {
            Ok(Ok(conn)) => {
                inner.open.fetch_add(1, Ordering::Relaxed);
                let conn = Counted {
                    conn,
                    open: inner.open.clone(),
                };
                Ok(self.hand_out(conn, permit))
            }
            Ok(Err(err)) => Err(StoreError::from_sqlx(err)),
            Err(_) => Err(StoreError::from_sqlx(sqlx::Error::PoolTimedOut)),
        }
    }

    pub fn stats(&self) -> PoolStats {
        let idle = self.inner.idle.lock().map(|idle| idle.len()).unwrap_or(0);
        PoolStats {
            size: self.inner.open.load(Ordering::Relaxed),
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max: self.inner.max,
        }
    }

    /// Refuses new acquisitions and closes the idle connections; connections in use are
    /// closed when they come back.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Relaxed);
        self.inner.permits.close();
        let idle = self
            .inner
            .idle
            .lock()
            .map(|mut idle| std::mem::take(&mut *idle))
            .unwrap_or_default();
        // Dropping a connection closes its socket; the server ends the backend.
        drop(idle);
    }
}

impl Pool {
    fn hand_out(&self, conn: Counted, permit: OwnedSemaphorePermit) -> PooledConnection {
        PooledConnection {
            conn: Some(conn),
            permit: Some(permit),
            pool: self.inner.clone(),
        }
    }
}

impl Deref for PooledConnection {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        match &self.conn {
            Some(counted) => &counted.conn,
            None => unreachable!("only drop takes the connection out"),
        }
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.conn {
            Some(counted) => &mut counted.conn,
            None => unreachable!("only drop takes the connection out"),
        }
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let (Some(mut conn), Some(permit)) = (self.conn.take(), self.permit.take()) else {
            return;
        };
        let pool = self.pool.clone();
        if pool.closed.load(Ordering::Relaxed) {
            return;
        }
        // Ready (the usual case): no I/O, back at once. Interrupted: drained off the request
        // path, holding its permit, then back; closed if that fails.
        let polled = {
            let mut flush = std::pin::pin!(sqlx::Connection::flush(&mut conn.conn));
            flush.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        };
        match polled {
            Poll::Ready(Ok(())) => release(&pool, conn, permit),
            Poll::Ready(Err(_)) => {}
            // Outside a runtime (at exit) there is nothing to drain it with: it is closed.
            Poll::Pending => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                runtime.spawn(async move {
                    let drained = tokio::time::timeout(
                        DRAIN_TIMEOUT,
                        sqlx::Connection::flush(&mut conn.conn),
                    )
                    .await;
                    if matches!(drained, Ok(Ok(()))) {
                        release(&pool, conn, permit);
                    }
                });
            }
        }
    }
}

/// Puts a ready connection back, before its permit is released, so a waiting caller finds it
/// rather than opening another.
fn release(pool: &Inner, conn: Counted, permit: OwnedSemaphorePermit) {
    if let Ok(mut idle) = pool.idle.lock() {
        idle.push(Idle {
            conn,
            since: Instant::now(),
        });
    }
    drop(permit);
}
