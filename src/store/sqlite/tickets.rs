use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{BEGIN_WRITE, SqliteStore, db, is_unique_violation, millis};
use crate::model::{OutboxMail, Timestamp, UserId};
use crate::store::{
    NewRefreshToken, StoreError, TicketEffects, TicketRedemption, TicketSession, TicketStore,
};

const SET_TICKET: &str =
    "UPDATE users SET ticket = $2, ticket_expires_at = $3, updated_at = $4 WHERE id = $1";
// Single use: BEGIN IMMEDIATE serialises writers, so a second redemption finds no ticket.
const REDEEM: &str = "
    UPDATE users SET ticket = NULL, ticket_expires_at = $2, email_verified = 1, last_seen = $2,
                     updated_at = $2
     WHERE ticket = $1 AND ticket_expires_at > $2 AND disabled = 0
 RETURNING id";
// The ticket is taken by the same statement, so a failed swap (address taken) leaves it.
const REDEEM_SWAPPING_EMAIL: &str = "
    UPDATE users SET ticket = NULL, ticket_expires_at = $2, email_verified = 1, last_seen = $2,
                     updated_at = $2, email = new_email, new_email = NULL
     WHERE ticket = $1 AND ticket_expires_at > $2 AND disabled = 0 AND new_email IS NOT NULL
 RETURNING id";
const DELETE_SESSIONS: &str = "DELETE FROM refresh_tokens WHERE user_id = $1 AND type = 'regular'";
const HELD_BY_DISABLED: &str = "
    SELECT EXISTS (SELECT 1 FROM users WHERE ticket = $1 AND ticket_expires_at > $2 AND disabled = 1)";

#[async_trait]
impl TicketStore for SqliteStore {
    async fn set_ticket(
        &self,
        user_id: UserId,
        ticket_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError> {
        // The ticket and the mail carrying it, together: no mail without its ticket.
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let done = sqlx::query(SET_TICKET)
            .bind(user_id.as_uuid())
            .bind(ticket_hash)
            .bind(millis(expires_at))
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        super::outbox::insert_mail_if(&mut tx, mail).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn redeem_ticket(
        &self,
        ticket_hash: &str,
        effects: TicketEffects,
        session: &TicketSession,
    ) -> Result<TicketRedemption, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let now = millis(session.now);
        let statement = if effects.swap_email {
            REDEEM_SWAPPING_EMAIL
        } else {
            REDEEM
        };
        let redeemed: Result<Option<Uuid>, _> = sqlx::query_scalar(statement)
            .bind(ticket_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await;
        let redeemed = match redeemed {
            Err(err) if is_unique_violation(&err) => return Ok(TicketRedemption::EmailTaken),
            other => other.map_err(db)?,
        };
        let Some(user_id) = redeemed else {
            let disabled: bool = sqlx::query_scalar(HELD_BY_DISABLED)
                .bind(ticket_hash)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            return Ok(if disabled {
                TicketRedemption::UserDisabled
            } else {
                TicketRedemption::Invalid
            });
        };
        if effects.revoke_sessions {
            sqlx::query(DELETE_SESSIONS)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        let user_id = UserId::from_uuid(user_id);
        let token = NewRefreshToken {
            id: session.id,
            user_id,
            hash: session.hash.clone(),
            expires_at: session.expires_at,
            now: session.now,
        };
        super::sessions::insert_refresh_token(&mut tx, &token)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(TicketRedemption::Redeemed(user_id))
    }
}
