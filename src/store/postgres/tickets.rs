use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{Timestamp, UserId};
use crate::store::{NewRefreshToken, StoreError, TicketRedemption, TicketSession, TicketStore};

const SET_TICKET: &str = "UPDATE auth.users SET ticket = $2, ticket_expires_at = $3 WHERE id = $1";
// Single use: the row lock taken by UPDATE makes a concurrent redemption wait and then miss.
const REDEEM_VERIFY_EMAIL: &str = "
    UPDATE auth.users SET ticket = NULL, ticket_expires_at = $2, email_verified = true, last_seen = $2
     WHERE ticket = $1 AND ticket_expires_at > $2 AND NOT disabled
 RETURNING id";
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
    ) -> Result<bool, StoreError> {
        // `updated_at` is set by Nhost's trigger on auth.users.
        let done = sqlx::query(SET_TICKET)
            .bind(user_id.as_uuid())
            .bind(ticket_hash)
            .bind(expires_at)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn redeem_verify_email_ticket(
        &self,
        ticket_hash: &str,
        session: &TicketSession,
    ) -> Result<TicketRedemption, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        let redeemed: Option<Uuid> = sqlx::query_scalar(REDEEM_VERIFY_EMAIL)
            .bind(ticket_hash)
            .bind(session.now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
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
