use async_trait::async_trait;
use sqlx::Connection as _;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{PgStore, db, is_unique_violation};
use crate::model::{OutboxMail, Timestamp, UserId};
use crate::store::{Conflict, Deanonymize, Inserted, PasswordStore, Revoke, StoreError};

// `updated_at` is set by Nhost's trigger on auth.users.
const PASSWORD_HASH_OF: &str = "SELECT password_hash FROM auth.users WHERE id = $1";
const SET_PASSWORD: &str = "UPDATE auth.users SET password_hash = $2 WHERE id = $1";
const DELETE_SESSIONS_BUT: &str = "
    DELETE FROM auth.refresh_tokens
     WHERE user_id = $1 AND type = 'regular' AND ($2::uuid IS NULL OR id <> $2)";
// Single use: the row lock taken by UPDATE makes a concurrent reset wait and then miss.
const RESET_WITH_TICKET: &str = "
    UPDATE auth.users SET ticket = NULL, ticket_expires_at = $3, password_hash = $2
     WHERE ticket = $1 AND ticket_expires_at > $3 AND NOT disabled
 RETURNING id";
// The ticket and the mail carrying it, in one statement: no mail without its ticket.
const SET_NEW_EMAIL: &str = concat!(
    "WITH ticketed AS (
        UPDATE auth.users SET new_email = $2, ticket = $3, ticket_expires_at = $4 WHERE id = $1
     RETURNING id
    ), queued AS (",
    super::outbox::insert_mail!("ticketed,", "$5"),
    ") SELECT count(*) FROM ticketed"
);
const DEANONYMIZE: &str = "
    UPDATE auth.users SET email = $2, password_hash = $3, display_name = $4, avatar_url = $5,
                          locale = $6, default_role = $7, metadata = $8, ticket = $9,
                          ticket_expires_at = COALESCE($10, $11), is_anonymous = false,
                          email_verified = false
     WHERE id = $1 AND is_anonymous";
const DELETE_ROLES: &str = "DELETE FROM auth.user_roles WHERE user_id = $1";
const INSERT_ROLE: &str = "INSERT INTO auth.user_roles (user_id, role) VALUES ($1, $2)";

async fn revoke(
    conn: &mut PgConnection,
    user_id: UserId,
    keep: Option<Uuid>,
) -> Result<(), StoreError> {
    sqlx::query(DELETE_SESSIONS_BUT)
        .bind(user_id.as_uuid())
        .bind(keep)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

#[async_trait]
impl PasswordStore for PgStore {
    async fn password_hash_of(&self, user_id: UserId) -> Result<Option<String>, StoreError> {
        let hash: Option<Option<String>> = sqlx::query_scalar(PASSWORD_HASH_OF)
            .bind(user_id.as_uuid())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(hash.flatten())
    }

    async fn set_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        revoke_sessions: Revoke,
        _now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        let done = sqlx::query(SET_PASSWORD)
            .bind(user_id.as_uuid())
            .bind(password_hash)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Revoke::AllBut(keep) = revoke_sessions {
            revoke(&mut tx, user_id, keep.map(|k| k.as_uuid())).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn reset_password_with_ticket(
        &self,
        ticket_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        let user_id: Option<Uuid> = sqlx::query_scalar(RESET_WITH_TICKET)
            .bind(ticket_hash)
            .bind(password_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(user_id) = user_id.map(UserId::from_uuid) else {
            return Ok(None);
        };
        revoke(&mut tx, user_id, None).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(user_id))
    }

    async fn set_new_email(
        &self,
        user_id: UserId,
        new_email: &str,
        ticket_hash: &str,
        expires_at: Timestamp,
        _now: Timestamp,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError> {
        let updated: i64 = sqlx::query_scalar(SET_NEW_EMAIL)
            .bind(user_id.as_uuid())
            .bind(new_email)
            .bind(ticket_hash)
            .bind(expires_at)
            .bind(super::outbox::mail_json(mail))
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(updated > 0)
    }

    async fn deanonymize(
        &self,
        user_id: UserId,
        d: &Deanonymize,
    ) -> Result<Inserted<bool>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        let (ticket, ticket_expires_at) = match &d.ticket {
            Some((t, e)) => (Some(t.as_str()), Some(*e)),
            None => (None, None),
        };
        let updated = sqlx::query(DEANONYMIZE)
            .bind(user_id.as_uuid())
            .bind(&d.email)
            .bind(&d.password_hash)
            .bind(&d.display_name)
            .bind(&d.avatar_url)
            .bind(&d.locale)
            .bind(&d.default_role)
            .bind(d.metadata.as_ref().map(Json))
            .bind(ticket)
            .bind(ticket_expires_at)
            .bind(d.now)
            .execute(&mut *tx)
            .await;
        let updated = match updated {
            Err(err) if is_unique_violation(&err) => {
                return Ok(Inserted::Conflict(Conflict::Email));
            }
            other => other.map_err(db)?,
        };
        if updated.rows_affected() == 0 {
            return Ok(Inserted::New(false));
        }
        sqlx::query(DELETE_ROLES)
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for role in &d.roles {
            sqlx::query(INSERT_ROLE)
                .bind(user_id.as_uuid())
                .bind(role)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        if d.revoke_sessions {
            revoke(&mut tx, user_id, None).await?;
        }
        if d.mail.is_some() {
            sqlx::query(super::outbox::INSERT_MAIL)
                .bind(super::outbox::mail_json(d.mail.as_ref()))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(Inserted::New(true))
    }
}
