use async_trait::async_trait;
use sqlx::types::Json;

use super::{PgStore, db};
use crate::model::UserId;
use crate::store::{AuditEvent, PoolStats, ServerStore, StoreError};

const INIT_SETTING: &str =
    "INSERT INTO auth.latchkey_settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const GET_SETTING: &str = "SELECT value FROM auth.latchkey_settings WHERE name = $1";
const INSERT_EVENT: &str =
    "INSERT INTO auth.audit_log (created_at, event, user_id, detail) VALUES ($1, $2, $3, $4)";
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
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }
}
