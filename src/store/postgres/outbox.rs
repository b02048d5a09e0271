//! The mail outbox on PostgreSQL: claims lock with `FOR UPDATE SKIP LOCKED`, so replicas
//! claiming at once neither wait for each other nor get the same row.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{MailId, OutboxMail, Secret, Timestamp, UserId};
use crate::store::{OutboxStore, StoreError};

// The insert of one mail bound as a single jsonb value (`MailJson`), so the statements that
// store a ticket add their mail with one placeholder; a NULL inserts nothing. `$from` names
// the CTE the mail depends on (the user row just written), with a trailing comma, or "".
macro_rules! insert_mail {
    ($from:literal, $mail:literal) => {
        concat!(
            "INSERT INTO auth.latchkey_mail_outbox (id, user_id, template, mail_from, rcpt_to,
                subject, headers, body, created_at, expires_at, next_attempt_at, attempts)
             SELECT m.id, m.user_id, m.template, m.mail_from, m.rcpt_to, m.subject, m.headers,
                    m.body, m.created_at, m.expires_at, m.next_attempt_at, m.attempts
               FROM ",
            $from,
            " jsonb_populate_record(NULL::auth.latchkey_mail_outbox, ",
            $mail,
            "::jsonb) m WHERE ",
            $mail,
            "::jsonb IS NOT NULL"
        )
    };
}
pub(super) use insert_mail;

pub(super) const INSERT_MAIL: &str = insert_mail!("", "$1");

/// `OutboxMail` as the jsonb value `insert_mail!` reads, field names = column names.
#[derive(serde::Serialize)]
pub(super) struct MailJson<'a> {
    id: Uuid,
    user_id: Uuid,
    template: &'a str,
    mail_from: &'a str,
    rcpt_to: &'a str,
    subject: &'a str,
    headers: &'a [(String, String)],
    body: &'a str,
    created_at: Timestamp,
    expires_at: Timestamp,
    next_attempt_at: Timestamp,
    attempts: i64,
}

/// The value to bind for `insert_mail!`'s placeholder.
pub(super) fn mail_json(mail: Option<&OutboxMail>) -> Option<Json<MailJson<'_>>> {
    mail.map(|m| {
        Json(MailJson {
            id: m.id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            template: &m.template,
            mail_from: &m.from,
            rcpt_to: &m.to,
            subject: &m.subject,
            headers: &m.headers,
            body: m.body.expose(),
            created_at: m.created_at,
            expires_at: m.expires_at,
            next_attempt_at: m.next_attempt_at,
            attempts: i64::from(m.attempts),
        })
    })
}

const CLAIM: &str = "
    WITH due AS MATERIALIZED (
        SELECT id FROM auth.latchkey_mail_outbox
         WHERE next_attempt_at <= $1
         ORDER BY next_attempt_at
         LIMIT $3
           FOR UPDATE SKIP LOCKED
    )
    UPDATE auth.latchkey_mail_outbox o SET next_attempt_at = $2, attempts = o.attempts + 1
      FROM due WHERE o.id = due.id
 RETURNING o.id, o.user_id, o.template, o.mail_from, o.rcpt_to, o.subject, o.headers, o.body,
           o.created_at, o.expires_at, o.next_attempt_at, o.attempts";
const DELETE: &str = "DELETE FROM auth.latchkey_mail_outbox WHERE id = $1";
const RETRY_AT: &str = "
    UPDATE auth.latchkey_mail_outbox SET next_attempt_at = $3, last_error = $4
     WHERE id = $1 AND attempts = $2";
const DEPTH: &str = "SELECT count(*) FROM auth.latchkey_mail_outbox";

#[derive(sqlx::FromRow)]
struct MailRow {
    id: Uuid,
    user_id: Uuid,
    template: String,
    mail_from: String,
    rcpt_to: String,
    subject: String,
    headers: Json<Vec<(String, String)>>,
    body: String,
    created_at: Timestamp,
    expires_at: Timestamp,
    next_attempt_at: Timestamp,
    attempts: i32,
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
            headers: r.headers.0,
            body: Secret::new(r.body),
            created_at: r.created_at,
            expires_at: r.expires_at,
            next_attempt_at: r.next_attempt_at,
            attempts: u32::try_from(r.attempts)
                .map_err(|e| StoreError::corrupt("latchkey_mail_outbox", e))?,
        })
    }
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn claim_due_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query_as::<_, MailRow>(CLAIM)
            .bind(now)
            .bind(lease_until)
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
        next_attempt_at: Timestamp,
        last_error: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RETRY_AT)
            .bind(id.as_uuid())
            .bind(i64::from(attempts))
            .bind(next_attempt_at)
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
