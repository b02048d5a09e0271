use async_trait::async_trait;
use uuid::Uuid;

use sqlx::types::Json;

use super::keys::{JoinedKey, joined_key_columns};
use super::users::{UserRow, user_json};
use super::{PgQuery, PgStore, db};
use crate::model::{Challenge, NewChallenge, Purpose, Timestamp, User, UserId};
use crate::store::{ChallengeStore, StoreError, UserKeys, UserRef};

// A small batch of expired ceremonies through the expiry index, skipping rows a concurrent
// insert is already deleting, so inserts never wait on each other. `$at`: the time.
macro_rules! sweep_delete {
    ($at:literal) => {
        concat!(
            "DELETE FROM auth.webauthn_challenges WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM auth.webauthn_challenges WHERE expires_at <= ",
            $at,
            " LIMIT 16 FOR UPDATE SKIP LOCKED))"
        )
    };
}
/// The sweep on its own, for the plan test (`$1` the time).
pub(super) const SWEEP: &str = sweep_delete!("$1");
macro_rules! sweep_cte {
    () => {
        concat!("swept AS (", sweep_delete!("$6"), ")")
    };
}
// Sweeps expired ceremonies and stores the new one in one round trip: a data-modifying CTE
// always runs, referenced or not. The sweep is a small batch through the expiry index that
// skips rows a concurrent insert is already deleting, so inserts never wait on each other.
const INSERT: &str = concat!(
    "WITH ",
    sweep_cte!(),
    "
    INSERT INTO auth.webauthn_challenges (challenge, purpose, user_id, rp_id, state, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)"
);
// The challenge bound to an existing user (`found`), with the sweep, and that user and its
// keys back: one round trip for a ceremony's options. `$8` names the user.
macro_rules! insert_for {
    ($found:literal) => {
        concat!(
            "WITH found AS (SELECT id FROM auth.users WHERE ",
            $found,
            "), ",
            sweep_cte!(),
            ", stored AS (
        INSERT INTO auth.webauthn_challenges (challenge, purpose, user_id, rp_id, state, created_at, expires_at)
        SELECT $1, $2, id, $4, $5, $6, $7 FROM found
    )
    SELECT ",
            user_json!("found.id"),
            ", ",
            joined_key_columns!(),
            " FROM found LEFT JOIN auth.user_security_keys k ON k.user_id = found.id
     ORDER BY k.created_at NULLS FIRST, k.id"
        )
    };
}
const INSERT_FOR_ID: &str = insert_for!("id = $8");
const INSERT_FOR_EMAIL: &str = insert_for!("email = $8::text::public.citext");
// A sign-up's challenge, unless the e-mail is taken.
const INSERT_SIGNUP: &str = concat!(
    "WITH ",
    sweep_cte!(),
    ", stored AS (
        INSERT INTO auth.webauthn_challenges (challenge, purpose, user_id, rp_id, state, created_at, expires_at)
        SELECT $1, $2, $3, $4, $5, $6, $7
         WHERE NOT EXISTS (SELECT 1 FROM auth.users WHERE email = $8::text::public.citext)
     RETURNING 1
    )
    SELECT count(*) FROM stored"
);
// `TAKE`, with the user the challenge is bound to (else `$4`) and its keys, one row per key.
const TAKE_WITH_USER: &str = concat!(
    "WITH taken AS (
        DELETE FROM auth.webauthn_challenges
         WHERE challenge = $1 AND purpose = $2 AND expires_at > $3
     RETURNING purpose, user_id, rp_id, state, expires_at
    ), found AS (SELECT COALESCE(taken.user_id, $4) AS id FROM taken)
    SELECT taken.purpose, taken.user_id, taken.rp_id, taken.state, taken.expires_at, ",
    user_json!("found.id"),
    ", ",
    joined_key_columns!(),
    " FROM taken CROSS JOIN found LEFT JOIN auth.user_security_keys k ON k.user_id = found.id
     ORDER BY k.created_at NULLS FIRST, k.id"
);
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

impl TryFrom<ChallengeRow> for Challenge {
    type Error = StoreError;
    fn try_from(r: ChallengeRow) -> Result<Self, StoreError> {
        Ok(Challenge {
            purpose: Purpose::parse(&r.purpose)
                .ok_or_else(|| StoreError::corrupt("webauthn_challenges", "purpose"))?,
            user_id: r.user_id.map(UserId::from_uuid),
            rp_id: r.rp_id,
            state: r.state,
            expires_at: r.expires_at,
        })
    }
}

/// A row of a user-and-keys statement: the user (the same in every row) and one key.
#[derive(sqlx::FromRow)]
struct UserKeyRow {
    user_json: Option<Json<UserRow>>,
    #[sqlx(flatten)]
    key: JoinedKey,
}

#[derive(sqlx::FromRow)]
struct TakenRow {
    #[sqlx(flatten)]
    challenge: ChallengeRow,
    #[sqlx(flatten)]
    user: UserKeyRow,
}

/// The user and keys of the rows of a user-and-keys statement; `None` without a user.
fn user_keys(rows: Vec<UserKeyRow>) -> Result<Option<UserKeys>, StoreError> {
    let mut user = None;
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        if user.is_none() {
            user = row.user_json.map(|Json(u)| User::from(u));
        }
        keys.extend(row.key.into_key()?);
    }
    Ok(user.map(|user| UserKeys { user, keys }))
}

/// Binds `$1`..`$7` of the inserts: the challenge's columns, `$6` its time.
fn bind_challenge<'q>(query: PgQuery<'q>, c: &'q NewChallenge) -> PgQuery<'q> {
    query
        .bind(&c.challenge)
        .bind(c.purpose.as_str())
        .bind(c.user_id.map(|u| u.as_uuid()))
        .bind(&c.rp_id)
        .bind(&c.state)
        .bind(c.now)
        .bind(c.expires_at)
}

#[async_trait]
impl ChallengeStore for PgStore {
    async fn insert_challenge(&self, c: &NewChallenge) -> Result<(), StoreError> {
        bind_challenge(sqlx::query(INSERT), c)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_challenge_for(
        &self,
        c: &NewChallenge,
        user: UserRef<'_>,
    ) -> Result<Option<UserKeys>, StoreError> {
        let query = match user {
            UserRef::Id(id) => bind_challenge(sqlx::query(INSERT_FOR_ID), c).bind(id.as_uuid()),
            UserRef::Email(email) => bind_challenge(sqlx::query(INSERT_FOR_EMAIL), c).bind(email),
        };
        let rows = query
            .try_map(|row| <UserKeyRow as sqlx::FromRow<_>>::from_row(&row))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        user_keys(rows)
    }

    async fn insert_signup_challenge(
        &self,
        c: &NewChallenge,
        email: &str,
    ) -> Result<bool, StoreError> {
        let stored: i64 = bind_challenge(sqlx::query(INSERT_SIGNUP), c)
            .bind(email)
            .try_map(|row: sqlx::postgres::PgRow| sqlx::Row::try_get(&row, 0))
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(stored > 0)
    }

    async fn take_challenge_with_user(
        &self,
        challenge: &str,
        purpose: Purpose,
        now: Timestamp,
        user_id: Option<UserId>,
    ) -> Result<Option<(Challenge, Option<UserKeys>)>, StoreError> {
        let rows = sqlx::query_as::<_, TakenRow>(TAKE_WITH_USER)
            .bind(challenge)
            .bind(purpose.as_str())
            .bind(now)
            .bind(user_id.map(|u| u.as_uuid()))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let challenge = Challenge::try_from(first.challenge)?;
        let users = std::iter::once(first.user)
            .chain(rows.map(|r| r.user))
            .collect();
        Ok(Some((challenge, user_keys(users)?)))
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
        row.map(Challenge::try_from).transpose()
    }
}
