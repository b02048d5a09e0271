use async_trait::async_trait;
use uuid::Uuid;

use super::{SqliteStore, db, millis};
use crate::model::{Timestamp, UserId};
use crate::store::{AuditEvent, PoolStats, ServerStore, StoreError};

const INIT_SETTING: &str =
    "INSERT INTO latchkey_settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const GET_SETTING: &str = "SELECT value FROM latchkey_settings WHERE name = $1";
const INSERT_EVENT: &str = "INSERT INTO audit_log (id, created_at, event, user_id, detail, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const COUNT_HIT: &str = "
    INSERT INTO rate_limit_hits (bucket, client, window_start, hits, expires_at)
    VALUES ($1, $2, $3, 1, $4)
    ON CONFLICT (bucket, client, window_start) DO UPDATE SET hits = rate_limit_hits.hits + 1
 RETURNING hits";
const SWEEP_HITS: &str = "
    DELETE FROM rate_limit_hits WHERE rowid IN (
        SELECT rowid FROM rate_limit_hits WHERE expires_at <= $1 LIMIT $2)";
const COUNT_EVENTS: &str = "SELECT count(*) FROM audit_log WHERE event = $1 AND user_id = $2";

/// Records an audit event, in the caller's transaction when it has one.
pub(super) async fn insert_event(
    conn: &mut sqlx::SqliteConnection,
    e: &AuditEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_EVENT)
        .bind(Uuid::new_v4())
        .bind(millis(e.now))
        .bind(e.event)
        .bind(e.user_id.map(|u| u.as_uuid()))
        .bind(e.detail.to_string())
        .bind(e.context.as_ref().map(|c| c.ip.as_str()))
        .bind(e.context.as_ref().and_then(|c| c.user_agent.as_deref()))
        .execute(conn)
        .await
        .map(|_| ())
}

/// `insert_event` for an optional event.
pub(super) async fn insert_event_if(
    conn: &mut sqlx::SqliteConnection,
    e: Option<&AuditEvent>,
) -> Result<(), sqlx::Error> {
    match e {
        Some(e) => insert_event(conn, e).await,
        None => Ok(()),
    }
}

#[async_trait]
impl ServerStore for SqliteStore {
    async fn setting_or_init(&self, name: &str, candidate: &str) -> Result<String, StoreError> {
        sqlx::query(INIT_SETTING)
            .bind(name)
            .bind(candidate)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        sqlx::query_scalar(GET_SETTING)
            .bind(name)
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)
    }

    async fn record_event(&self, e: &AuditEvent) -> Result<(), StoreError> {
        insert_event(&mut *self.conn().await?, e).await.map_err(db)
    }

    async fn count_events(&self, event: &str, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_EVENTS)
            .bind(event)
            .bind(user_id.as_uuid())
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(n.unsigned_abs())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn count_hit(
        &self,
        bucket: &str,
        client: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError> {
        let hits: i32 = sqlx::query_scalar(COUNT_HIT)
            .bind(bucket)
            .bind(client)
            .bind(millis(window_start))
            .bind(millis(expires_at))
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(hits.unsigned_abs())
    }

    async fn sweep_rate_limits(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(SWEEP_HITS)
            .bind(millis(now))
            .bind(i64::from(crate::store::SWEEP_BATCH))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }
}
