use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{PgStore, db, is_unique_violation};
use crate::model::{OutboxMail, Timestamp, UserId};
use crate::store::{
    NewRefreshToken, StoreError, TicketEffects, TicketRedemption, TicketSession, TicketStore,
};

// The ticket and the mail carrying it, in one statement: no mail without its ticket.
const SET_TICKET: &str = concat!(
    "WITH ticketed AS (
        UPDATE auth.users SET ticket = $2, ticket_expires_at = $3 WHERE id = $1 RETURNING id
    ), queued AS (",
    super::outbox::insert_mail!("ticketed,", "$4"),
    ") SELECT count(*) FROM ticketed"
);
// Single use: the row lock taken by UPDATE makes a concurrent redemption wait and then miss.
const REDEEM: &str = "
    UPDATE auth.users SET ticket = NULL, ticket_expires_at = $2, email_verified = true, last_seen = $2
     WHERE ticket = $1 AND ticket_expires_at > $2 AND NOT disabled
 RETURNING id";
// The ticket is taken by the same statement, so a failed swap (address taken) leaves it.
const REDEEM_SWAPPING_EMAIL: &str = "
    UPDATE auth.users SET ticket = NULL, ticket_expires_at = $2, email_verified = true,
                          last_seen = $2, email = new_email, new_email = NULL
     WHERE ticket = $1 AND ticket_expires_at > $2 AND NOT disabled AND new_email IS NOT NULL
 RETURNING id";
const DELETE_SESSIONS: &str =
    "DELETE FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'regular'";
const HELD_BY_DISABLED: &str = "
    SELECT EXISTS (SELECT 1 FROM auth.users WHERE ticket = $1 AND ticket_expires_at > $2 AND disabled)";

#[async_trait]
impl TicketStore for PgStore {
    async fn set_ticket(
        &self,
        user_id: UserId,
        ticket_hash: &str,
        expires_at: Timestamp,
        _now: Timestamp,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError> {
        // `updated_at` is set by Nhost's trigger on auth.users.
        let updated: i64 = sqlx::query_scalar(SET_TICKET)
            .bind(user_id.as_uuid())
            .bind(ticket_hash)
            .bind(expires_at)
            .bind(super::outbox::mail_json(mail))
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(updated > 0)
    }

    async fn redeem_ticket(
        &self,
        ticket_hash: &str,
        effects: TicketEffects,
        session: &TicketSession,
    ) -> Result<TicketRedemption, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        let statement = if effects.swap_email {
            REDEEM_SWAPPING_EMAIL
        } else {
            REDEEM
        };
        let redeemed: Result<Option<Uuid>, _> = sqlx::query_scalar(statement)
            .bind(ticket_hash)
            .bind(session.now)
            .fetch_optional(&mut *tx)
            .await;
        let redeemed = match redeemed {
            Err(err) if is_unique_violation(&err) => return Ok(TicketRedemption::EmailTaken),
            other => other.map_err(db)?,
        };
        let Some(user_id) = redeemed else {
            let disabled: bool = sqlx::query_scalar(HELD_BY_DISABLED)
                .bind(ticket_hash)
                .bind(session.now)
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
