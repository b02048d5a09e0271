use async_trait::async_trait;
use sqlx::types::Json;

use super::{PgStore, db};
use crate::model::{Timestamp, UserId};
use crate::store::{AuditEvent, PoolStats, ServerStore, StoreError};

const INIT_SETTING: &str =
    "INSERT INTO auth.latchkey_settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const GET_SETTING: &str = "SELECT value FROM auth.latchkey_settings WHERE name = $1";
const INSERT_EVENT: &str = "INSERT INTO auth.audit_log (created_at, event, user_id, detail, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)";
const COUNT_HIT: &str = "
    INSERT INTO auth.rate_limit_hits (bucket, client, window_start, hits, expires_at)
    VALUES ($1, $2, $3, 1, $4)
    ON CONFLICT (bucket, client, window_start) DO UPDATE SET hits = rate_limit_hits.hits + 1
 RETURNING hits";
pub(super) const SWEEP_HITS: &str = "
    DELETE FROM auth.rate_limit_hits WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM auth.rate_limit_hits WHERE expires_at <= $1
         LIMIT $2 FOR UPDATE SKIP LOCKED))";
const COUNT_EVENTS: &str = "SELECT count(*) FROM auth.audit_log WHERE event = $1 AND user_id = $2";

#[async_trait]
impl ServerStore for PgStore {
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
        sqlx::query(INSERT_EVENT)
            .bind(e.now)
            .bind(e.event)
            .bind(e.user_id.map(|u| u.as_uuid()))
            .bind(Json(&e.detail))
            .bind(e.context.as_ref().map(|c| c.ip.as_str()))
            .bind(e.context.as_ref().and_then(|c| c.user_agent.as_deref()))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
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
        self.pool.stats()
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
            .bind(window_start)
            .bind(expires_at)
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(hits.unsigned_abs())
    }

    async fn sweep_rate_limits(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(SWEEP_HITS)
            .bind(now)
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
