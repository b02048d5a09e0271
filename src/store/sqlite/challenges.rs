use async_trait::async_trait;
use uuid::Uuid;

use sqlx::Connection as _;
use sqlx::SqliteConnection;

use super::keys::{KEYS_OF, KeyRow};
use super::users::{USER_BY_EMAIL, USER_BY_ID, UserRow};
use super::{BEGIN_WRITE, SqliteStore, db, from_millis, millis};
use crate::model::{Challenge, NewChallenge, Purpose, SecurityKey, Timestamp, User, UserId};
use crate::store::{ChallengeStore, StoreError, UserKeys, UserRef};

const INSERT: &str = "
    INSERT INTO webauthn_challenges (challenge, purpose, user_id, rp_id, state, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SWEEP: &str = "
    DELETE FROM webauthn_challenges WHERE rowid IN (
        SELECT rowid FROM webauthn_challenges WHERE expires_at <= $1 LIMIT 16)";
const EMAIL_TAKEN: &str = "SELECT 1 FROM users WHERE email = $1";
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

impl TryFrom<ChallengeRow> for Challenge {
    type Error = StoreError;
    fn try_from(r: ChallengeRow) -> Result<Self, StoreError> {
        Ok(Challenge {
            purpose: Purpose::parse(&r.purpose)
                .ok_or_else(|| StoreError::corrupt("webauthn_challenges", "purpose"))?,
            user_id: r.user_id.map(UserId::from_uuid),
            rp_id: r.rp_id,
            state: r.state,
            expires_at: from_millis("webauthn_challenges", r.expires_at)?,
        })
    }
}

/// Sweeps a batch of expired ceremonies and stores `c`, bound to `user_id`.
async fn sweep_and_insert(
    conn: &mut SqliteConnection,
    c: &NewChallenge,
    user_id: Option<UserId>,
) -> Result<(), sqlx::Error> {
    sqlx::query(SWEEP)
        .bind(millis(c.now))
        .execute(&mut *conn)
        .await?;
    sqlx::query(INSERT)
        .bind(&c.challenge)
        .bind(c.purpose.as_str())
        .bind(user_id.map(|u| u.as_uuid()))
        .bind(&c.rp_id)
        .bind(&c.state)
        .bind(millis(c.now))
        .bind(millis(c.expires_at))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The user and its keys, on the caller's connection (and so in its transaction).
async fn user_keys(conn: &mut SqliteConnection, user: UserRow) -> Result<UserKeys, StoreError> {
    let user = User::try_from(user)?;
    let keys = sqlx::query_as::<_, KeyRow>(KEYS_OF)
        .bind(user.id.as_uuid())
        .fetch_all(conn)
        .await
        .map_err(db)?;
    let keys = keys
        .into_iter()
        .map(SecurityKey::try_from)
        .collect::<Result<_, _>>()?;
    Ok(UserKeys { user, keys })
}

#[async_trait]
impl ChallengeStore for SqliteStore {
    async fn insert_challenge(&self, c: &NewChallenge) -> Result<(), StoreError> {
        // One connection for both statements: one pool wait, not two.
        sweep_and_insert(&mut *self.conn().await?, c, c.user_id)
            .await
            .map_err(db)
    }

    async fn insert_challenge_for(
        &self,
        c: &NewChallenge,
        user: UserRef<'_>,
    ) -> Result<Option<UserKeys>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let row = match user {
            UserRef::Id(id) => sqlx::query_as::<_, UserRow>(USER_BY_ID).bind(id.as_uuid()),
            UserRef::Email(email) => sqlx::query_as::<_, UserRow>(USER_BY_EMAIL).bind(email),
        }
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = user_keys(&mut tx, row).await?;
        sweep_and_insert(&mut tx, c, Some(found.user.id))
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(found))
    }

    async fn insert_signup_challenge(
        &self,
        c: &NewChallenge,
        email: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let taken: Option<i64> = sqlx::query_scalar(EMAIL_TAKEN)
            .bind(email)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if taken.is_some() {
            return Ok(false);
        }
        sweep_and_insert(&mut tx, c, c.user_id).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn take_challenge_with_user(
        &self,
        challenge: &str,
        purpose: Purpose,
        now: Timestamp,
        user_id: Option<UserId>,
    ) -> Result<Option<(Challenge, Option<UserKeys>)>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let row = sqlx::query_as::<_, ChallengeRow>(TAKE)
            .bind(challenge)
            .bind(purpose.as_str())
            .bind(millis(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let taken = Challenge::try_from(row)?;
        let found = match taken.user_id.or(user_id) {
            Some(id) => sqlx::query_as::<_, UserRow>(USER_BY_ID)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?,
            None => None,
        };
        let found = match found {
            Some(row) => Some(user_keys(&mut tx, row).await?),
            None => None,
        };
        tx.commit().await.map_err(db)?;
        Ok(Some((taken, found)))
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
        row.map(Challenge::try_from).transpose()
    }
}
