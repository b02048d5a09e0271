use async_trait::async_trait;
use uuid::Uuid;

use super::{PgStore, db};
use crate::model::{Challenge, NewChallenge, Purpose, Timestamp, UserId};
use crate::store::{ChallengeStore, StoreError};

// Sweeps expired ceremonies and stores the new one in one round trip: a data-modifying CTE
// always runs, referenced or not. The sweep is a small batch through the expiry index that
// skips rows a concurrent insert is already deleting, so inserts never wait on each other.
const INSERT: &str = "
    WITH swept AS (
        DELETE FROM auth.webauthn_challenges WHERE challenge IN (
            SELECT challenge FROM auth.webauthn_challenges WHERE expires_at <= $6
             LIMIT 16 FOR UPDATE SKIP LOCKED))
    INSERT INTO auth.webauthn_challenges (challenge, purpose, user_id, rp_id, state, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
// Single-use in one atomic statement, safe across replicas: only one DELETE can return the row.
const TAKE: &str = "
    DELETE FROM auth.webauthn_challenges
     WHERE challenge = $1 AND purpose = $2 AND expires_at > $3
 RETURNING purpose, user_id, rp_id, state, expires_at";

#[derive(sqlx::FromRow)]
struct ChallengeRow {
    purpose: String,
    user_id: Option<Uuid>,
    rp_id: String,
    state: String,
    expires_at: Timestamp,
}

#[async_trait]
impl ChallengeStore for PgStore {
    async fn insert_challenge(&self, c: &NewChallenge) -> Result<(), StoreError> {
        sqlx::query(INSERT)
            .bind(&c.challenge)
            .bind(c.purpose.as_str())
            .bind(c.user_id.map(|u| u.as_uuid()))
            .bind(&c.rp_id)
            .bind(&c.state)
            .bind(c.now)
            .bind(c.expires_at)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        challenge: &str,
        purpose: Purpose,
        now: Timestamp,
    ) -> Result<Option<Challenge>, StoreError> {
        let row = sqlx::query_as::<_, ChallengeRow>(TAKE)
            .bind(challenge)
            .bind(purpose.as_str())
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(Challenge {
                purpose: Purpose::parse(&r.purpose)
                    .ok_or_else(|| StoreError::corrupt("webauthn_challenges", "purpose"))?,
                user_id: r.user_id.map(UserId::from_uuid),
                rp_id: r.rp_id,
                state: r.state,
                expires_at: r.expires_at,
            })
        })
        .transpose()
    }
}
