use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{AuditEntry, Timestamp, UserId};
use crate::store::{AuditStore, StoreError};

// Keyset paging on (created_at, id): stable under concurrent inserts, unlike OFFSET. A
// `before` id that is not the user's makes the row comparison NULL, so the page is empty.
const EVENTS_OF: &str = "
    SELECT id, created_at, event, ip, user_agent, detail
      FROM auth.audit_log
     WHERE user_id = $1
       AND ($2::timestamptz IS NULL OR created_at >= $2)
       AND ($3::uuid IS NULL OR (created_at, id) <
            (SELECT b.created_at, b.id FROM auth.audit_log b WHERE b.id = $3 AND b.user_id = $1))
  ORDER BY created_at DESC, id DESC
     LIMIT $4";
// Deletes by ctid: the batch's rows, locked and skipped by concurrent sweeps, are removed
// without joining back through the primary key.
pub(super) const SWEEP: &str = "
    DELETE FROM auth.audit_log WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM auth.audit_log WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))";

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: Uuid,
    created_at: Timestamp,
    event: String,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<Json<serde_json::Value>>,
}

impl From<EntryRow> for AuditEntry {
    fn from(r: EntryRow) -> Self {
        AuditEntry {
            id: r.id,
            created_at: r.created_at,
            event: r.event,
            ip: r.ip,
            user_agent: r.user_agent,
            detail: r.detail.map_or(serde_json::Value::Null, |Json(d)| d),
        }
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn audit_events_of(
        &self,
        user_id: UserId,
        before: Option<Uuid>,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<EntryRow> = sqlx::query_as(EVENTS_OF)
            .bind(user_id.as_uuid())
            .bind(since)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    async fn sweep_audit_log(&self, cutoff: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(SWEEP)
            .bind(cutoff)
            .bind(i64::from(batch))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}
