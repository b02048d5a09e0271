use async_trait::async_trait;
use uuid::Uuid;

use super::{SqliteStore, db, from_millis, millis};
use crate::model::{Challenge, NewChallenge, Purpose, Timestamp, UserId};
use crate::store::{ChallengeStore, StoreError};

const INSERT: &str = "
    INSERT INTO webauthn_challenges (challenge, purpose, user_id, rp_id, state, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SWEEP: &str = "
    DELETE FROM webauthn_challenges WHERE rowid IN (
        SELECT rowid FROM webauthn_challenges WHERE expires_at <= $1 LIMIT 16)";
// One statement: SQLite serialises writers, so only one DELETE can return the row.
const TAKE: &str = "
    DELETE FROM webauthn_challenges
     WHERE challenge = $1 AND purpose = $2 AND expires_at > $3
 RETURNING purpose, user_id, rp_id, state, expires_at";

#[derive(sqlx::FromRow)]
struct ChallengeRow {
    purpose: String,
    user_id: Option<Uuid>,
    rp_id: String,
    state: String,
    expires_at: i64,
}

#[async_trait]
impl ChallengeStore for SqliteStore {
    async fn insert_challenge(&self, c: &NewChallenge) -> Result<(), StoreError> {
        // One connection for both statements: one pool wait, not two.
        let mut conn = self.conn().await?;
        sqlx::query(SWEEP)
            .bind(millis(c.now))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        sqlx::query(INSERT)
            .bind(&c.challenge)
            .bind(c.purpose.as_str())
            .bind(c.user_id.map(|u| u.as_uuid()))
            .bind(&c.rp_id)
            .bind(&c.state)
            .bind(millis(c.now))
            .bind(millis(c.expires_at))
            .execute(&mut *conn)
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
            .bind(millis(now))
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
                expires_at: from_millis("webauthn_challenges", r.expires_at)?,
            })
        })
        .transpose()
    }
}
