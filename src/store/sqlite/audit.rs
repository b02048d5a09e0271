use async_trait::async_trait;
use uuid::Uuid;

use super::{SqliteStore, db, from_millis, millis};
use crate::model::{AuditEntry, Timestamp, UserId};
use crate::store::{AuditStore, StoreError};

// Keyset paging on (created_at, id): stable under concurrent inserts, unlike OFFSET. A
// `before` id that is not the user's makes the row comparison NULL, so the page is empty.
const EVENTS_OF: &str = "
    SELECT id, created_at, event, ip, user_agent, detail
      FROM audit_log
     WHERE user_id = $1
       AND ($2 IS NULL OR created_at >= $2)
       AND ($3 IS NULL OR (created_at, id) <
            (SELECT b.created_at, b.id FROM audit_log b WHERE b.id = $3 AND b.user_id = $1))
  ORDER BY created_at DESC, id DESC
     LIMIT $4";
const SWEEP: &str = "
    DELETE FROM audit_log
     WHERE id IN (SELECT id FROM audit_log WHERE created_at < $1 LIMIT $2)";

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: Uuid,
    created_at: i64,
    event: String,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

impl TryFrom<EntryRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: EntryRow) -> Result<Self, StoreError> {
        let detail = match r.detail {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| StoreError::corrupt("audit_log", e))?
            }
            None => serde_json::Value::Null,
        };
        Ok(AuditEntry {
            id: r.id,
            created_at: from_millis("audit_log", r.created_at)?,
            event: r.event,
            ip: r.ip,
            user_agent: r.user_agent,
            detail,
        })
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_events_of(
        &self,
        user_id: UserId,
        before: Option<Uuid>,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<EntryRow> = sqlx::query_as(EVENTS_OF)
            .bind(user_id.as_uuid())
            .bind(since.map(millis))
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn sweep_audit_log(&self, cutoff: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(SWEEP)
            .bind(millis(cutoff))
            .bind(i64::from(batch))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}
