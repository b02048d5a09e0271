//! The mail outbox on SQLite. One writer at a time: a claim is one UPDATE statement, so two
//! claims (even from two processes on one file) never get the same row.

use async_trait::async_trait;
use uuid::Uuid;

use super::{SqliteStore, db, from_millis, millis};
use crate::model::{MailId, OutboxMail, Secret, UserId};
use crate::store::{OutboxStore, StoreError};

const TABLE: &str = "latchkey_mail_outbox";

const INSERT: &str = "
    INSERT INTO latchkey_mail_outbox (id, user_id, template, mail_from, rcpt_to, subject,
        headers, body, created_at, expires_at, next_attempt_at, attempts)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const CLAIM: &str = "
    UPDATE latchkey_mail_outbox SET next_attempt_at = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM latchkey_mail_outbox WHERE next_attempt_at <= $1
                   ORDER BY next_attempt_at LIMIT $3)
 RETURNING id, user_id, template, mail_from, rcpt_to, subject, headers, body, created_at,
           expires_at, next_attempt_at, attempts";
const DELETE: &str = "DELETE FROM latchkey_mail_outbox WHERE id = $1";
const RETRY_AT: &str = "
    UPDATE latchkey_mail_outbox SET next_attempt_at = $3, last_error = $4
     WHERE id = $1 AND attempts = $2";
const DEPTH: &str = "SELECT count(*) FROM latchkey_mail_outbox";

/// Stores `mail`, if any, on the caller's connection (inside its transaction).
pub(super) async fn insert_mail_if(
    conn: &mut sqlx::SqliteConnection,
    mail: Option<&OutboxMail>,
) -> Result<(), StoreError> {
    let Some(m) = mail else {
        return Ok(());
    };
    let headers = serde_json::to_string(&m.headers).map_err(|e| StoreError::corrupt(TABLE, e))?;
    sqlx::query(INSERT)
        .bind(m.id.as_uuid())
        .bind(m.user_id.as_uuid())
        .bind(&m.template)
        .bind(&m.from)
        .bind(&m.to)
        .bind(&m.subject)
        .bind(headers)
        .bind(m.body.expose())
        .bind(millis(m.created_at))
        .bind(millis(m.expires_at))
        .bind(millis(m.next_attempt_at))
        .bind(i64::from(m.attempts))
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct MailRow {
    id: Uuid,
    user_id: Uuid,
    template: String,
    mail_from: String,
    rcpt_to: String,
    subject: String,
    headers: String,
    body: String,
    created_at: i64,
    expires_at: i64,
    next_attempt_at: i64,
    attempts: i64,
}

impl TryFrom<MailRow> for OutboxMail {
    type Error = StoreError;
    fn try_from(r: MailRow) -> Result<Self, StoreError> {
        Ok(OutboxMail {
            id: MailId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            template: r.template,
            from: r.mail_from,
            to: r.rcpt_to,
            subject: r.subject,
            headers: serde_json::from_str(&r.headers).map_err(|e| StoreError::corrupt(TABLE, e))?,
            body: Secret::new(r.body),
            created_at: from_millis(TABLE, r.created_at)?,
            expires_at: from_millis(TABLE, r.expires_at)?,
            next_attempt_at: from_millis(TABLE, r.next_attempt_at)?,
            attempts: u32::try_from(r.attempts).map_err(|e| StoreError::corrupt(TABLE, e))?,
        })
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_due_mail(
        &self,
        now: crate::model::Timestamp,
        lease_until: crate::model::Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query_as::<_, MailRow>(CLAIM)
            .bind(millis(now))
            .bind(millis(lease_until))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        rows.into_iter().map(OutboxMail::try_from).collect()
    }

    async fn delete_mail(&self, id: MailId) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE)
            .bind(id.as_uuid())
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn retry_mail_at(
        &self,
        id: MailId,
        attempts: u32,
        next_attempt_at: crate::model::Timestamp,
        last_error: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RETRY_AT)
            .bind(id.as_uuid())
            .bind(i64::from(attempts))
            .bind(millis(next_attempt_at))
            .bind(last_error)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn outbox_depth(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(DEPTH)
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
