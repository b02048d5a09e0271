use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{PgStore, bind_event, db};
use crate::model::{CredentialId, RefreshTokenId, Timestamp, User, UserId};
use crate::store::{AuditEvent, KeyUse, NewRefreshToken, Rotation, SessionStore, StoreError};

const INSERT_TOKEN: &str = "
    INSERT INTO auth.refresh_tokens (id, created_at, expires_at, user_id, type, refresh_token_hash)
    VALUES ($1, $2, $3, $4, 'regular', $5)";
// A new session and the user's `last_seen` in one statement: one round trip, atomic. A macro,
// not a const, so `concat!` can put it behind other CTEs.
macro_rules! start_session {
    () => {
        "started AS (
        INSERT INTO auth.refresh_tokens (id, created_at, expires_at, user_id, type, refresh_token_hash)
        VALUES ($1, $2, $3, $4, 'regular', $5)
     RETURNING user_id
    )
    UPDATE auth.users SET last_seen = $2 WHERE id IN (SELECT user_id FROM started)"
    };
}
const START_SESSION: &str = concat!(
    "WITH ",
    super::audit_cte!("$2", "$6", "$7", "$8", "$9", "$10"),
    ", ",
    start_session!()
);
// The same, plus the key's counter and flags from the assertion that earned the session.
const START_SESSION_AFTER_ASSERTION: &str = concat!(
    "WITH used AS (
        UPDATE auth.user_security_keys
           SET counter = $7, backup_eligible = $8, backup_state = $9, last_used_at = $2
         WHERE user_id = $4 AND credential_id = $6
    ), ",
    super::audit_cte!("$2", "$10", "$11", "$12", "$13", "$14"),
    ", ",
    start_session!()
);
// One statement, one round trip: the rotation, the remembered old hash and `last_seen` are
// applied together or not at all, and the token's user comes back with them.
const ROTATE: &str = concat!(
    "
    WITH rotated AS (
        UPDATE auth.refresh_tokens SET refresh_token_hash = $2, expires_at = $3
         WHERE refresh_token_hash = $1 AND type = 'regular' AND expires_at > $4
     RETURNING id, user_id
    ), remembered AS (
        INSERT INTO auth.refresh_token_rotations (refresh_token_hash, refresh_token_id, user_id, rotated_at, expires_at)
        SELECT $1, id, user_id, $4, $3 FROM rotated
    ), touched AS (
        UPDATE auth.users SET last_seen = $4 WHERE id IN (SELECT user_id FROM rotated)
    )
    SELECT rotated.id AS token_id, ",
    super::users::user_columns!(),
    " FROM rotated JOIN auth.users u ON u.id = rotated.user_id"
);

#[derive(sqlx::FromRow)]
struct RotatedRow {
    token_id: Uuid,
    #[sqlx(flatten)]
    user: super::users::UserRow,
}
// A rotated-away hash presented again: the token leaked, so the family goes.
const REVOKE_FAMILY_OF_OLD_HASH: &str = "
    DELETE FROM auth.refresh_tokens
     WHERE id = (SELECT refresh_token_id FROM auth.refresh_token_rotations WHERE refresh_token_hash = $1)
 RETURNING id, user_id";
const DELETE_BY_HASH: &str = "DELETE FROM auth.refresh_tokens WHERE refresh_token_hash = $1";
const DELETE_OF_USER: &str =
    "DELETE FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'regular'";
// Sweeps take one bounded batch through the expiry indexes, skipping rows another sweep holds,
// and delete them by ctid (no join back through the primary key).
pub(super) const SWEEP_TOKENS: &str = "
    DELETE FROM auth.refresh_tokens WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM auth.refresh_tokens WHERE type = 'regular' AND expires_at <= $1
         LIMIT $2 FOR UPDATE SKIP LOCKED))";
pub(super) const SWEEP_ROTATIONS: &str = "
    DELETE FROM auth.refresh_token_rotations WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM auth.refresh_token_rotations WHERE expires_at <= $1
         LIMIT $2 FOR UPDATE SKIP LOCKED))";
const COUNT_OF_USER: &str = "
    SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'regular' AND expires_at > $2";

pub(super) async fn insert_refresh_token(
    conn: &mut PgConnection,
    t: &NewRefreshToken,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_TOKEN)
        .bind(t.id.as_uuid())
        .bind(t.now)
        .bind(t.expires_at)
        .bind(t.user_id.as_uuid())
        .bind(&t.hash)
        .execute(conn)
        .await
        .map(|_| ())
}

#[async_trait]
impl SessionStore for PgStore {
    async fn start_session(
        &self,
        token: &NewRefreshToken,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let query = sqlx::query(START_SESSION)
            .bind(token.id.as_uuid())
            .bind(token.now)
            .bind(token.expires_at)
            .bind(token.user_id.as_uuid())
            .bind(&token.hash);
        bind_event(query, event)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn start_session_after_assertion(
        &self,
        token: &NewRefreshToken,
        credential_id: &CredentialId,
        key_use: &KeyUse,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let query = sqlx::query(START_SESSION_AFTER_ASSERTION)
            .bind(token.id.as_uuid())
            .bind(token.now)
            .bind(token.expires_at)
            .bind(token.user_id.as_uuid())
            .bind(&token.hash)
            .bind(credential_id.to_base64url())
            .bind(i64::from(key_use.counter))
            .bind(key_use.backup_eligible)
            .bind(key_use.backup_state);
        bind_event(query, event)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation, StoreError> {
        let mut conn = self.conn().await?;
        let rotated: Option<RotatedRow> = sqlx::query_as(ROTATE)
            .bind(old_hash)
            .bind(new_hash)
            .bind(new_expires_at)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        if let Some(row) = rotated {
            return Ok(Rotation::Rotated {
                id: RefreshTokenId::from_uuid(row.token_id),
                user: Box::new(User::from(row.user)),
            });
        }
        let revoked: Option<(Uuid, Uuid)> = sqlx::query_as(REVOKE_FAMILY_OF_OLD_HASH)
            .bind(old_hash)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        Ok(match revoked {
            Some((id, user_id)) => Rotation::Reused {
                id: RefreshTokenId::from_uuid(id),
                user_id: UserId::from_uuid(user_id),
            },
            None => Rotation::Unknown,
        })
    }

    async fn delete_refresh_token(&self, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE_BY_HASH)
            .bind(hash)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_sessions_of(&self, user_id: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query(DELETE_OF_USER)
            .bind(user_id.as_uuid())
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let tokens = sqlx::query(SWEEP_TOKENS)
            .bind(now)
            .bind(i64::from(crate::store::SWEEP_BATCH))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        let rotations = sqlx::query(SWEEP_ROTATIONS)
            .bind(now)
            .bind(i64::from(crate::store::SWEEP_BATCH))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(tokens.rows_affected() + rotations.rows_affected())
    }

    async fn count_sessions_of(&self, user_id: UserId, now: Timestamp) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_OF_USER)
            .bind(user_id.as_uuid())
            .bind(now)
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(n.unsigned_abs())
    }
}
