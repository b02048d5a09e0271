use async_trait::async_trait;
use sqlx::Connection as _;
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::{BEGIN_WRITE, SqliteStore, db, from_millis, is_unique_violation, millis};
use crate::model::{CredentialId, NewSecurityKey, SecurityKey, SecurityKeyId, UserId};
use crate::store::{
    AuditEvent, Conflict, Inserted, KeyDeletion, KeyStore, KeyUse, StoreError, join_transports,
    split_transports,
};

#[derive(sqlx::FromRow)]
pub(super) struct KeyRow {
    id: Uuid,
    user_id: Uuid,
    credential_id: String,
    credential_public_key: Option<Vec<u8>>,
    counter: i64,
    transports: String,
    nickname: Option<String>,
    aaguid: Option<Uuid>,
    backup_eligible: Option<bool>,
    backup_state: Option<bool>,
    user_verified: bool,
    attestation_format: Option<String>,
    created_at: Option<i64>,
    last_used_at: Option<i64>,
}

const TABLE: &str = "user_security_keys";

impl TryFrom<KeyRow> for SecurityKey {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        let credential_id = CredentialId::from_base64url(&r.credential_id)
            .ok_or_else(|| StoreError::corrupt(TABLE, "credential_id"))?;
        Ok(SecurityKey {
            id: SecurityKeyId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            credential_id,
            public_key: r.credential_public_key.unwrap_or_default(),
            counter: u32::try_from(r.counter).map_err(|_| StoreError::corrupt(TABLE, "counter"))?,
            transports: split_transports(&r.transports),
            nickname: r.nickname,
            aaguid: r.aaguid,
            backup_eligible: r.backup_eligible,
            backup_state: r.backup_state,
            user_verified: r.user_verified,
            attestation_format: r.attestation_format,
            created_at: r.created_at.map(|ms| from_millis(TABLE, ms)).transpose()?,
            last_used_at: r
                .last_used_at
                .map(|ms| from_millis(TABLE, ms))
                .transpose()?,
        })
    }
}

// A macro, not a const, so `concat!` can build whole statements from it.
macro_rules! select_keys {
    () => {
        "
    SELECT id, user_id, credential_id, credential_public_key, counter, transports, nickname,
           aaguid, backup_eligible, backup_state, user_verified, attestation_format, created_at,
           last_used_at
      FROM user_security_keys"
    };
}
pub(super) const KEYS_OF: &str = concat!(
    select_keys!(),
    " WHERE user_id = $1 ORDER BY created_at NULLS FIRST, id"
);
const CREDENTIAL_REGISTERED: &str =
    "SELECT EXISTS (SELECT 1 FROM user_security_keys WHERE credential_id = $1)";
const COUNT_KEYS: &str = "SELECT count(*) FROM user_security_keys WHERE user_id = $1";
const INSERT_KEY: &str = "
    INSERT INTO user_security_keys (id, user_id, credential_id, credential_public_key, counter,
        transports, nickname, aaguid, backup_eligible, backup_state, user_verified,
        attestation_format, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
pub(super) const RECORD_USE: &str = "
    UPDATE user_security_keys
       SET counter = $3, backup_eligible = $4, backup_state = $5, last_used_at = $6
     WHERE user_id = $1 AND credential_id = $2";
const RENAME_KEY: &str = "
    UPDATE user_security_keys SET nickname = $3 WHERE user_id = $1 AND id = $2
 RETURNING id, user_id, credential_id, credential_public_key, counter, transports, nickname,
           aaguid, backup_eligible, backup_state, user_verified, attestation_format, created_at,
           last_used_at";
const KEY_EXISTS: &str = "SELECT count(*) FROM user_security_keys WHERE user_id = $1 AND id = $2";
/// Whether the user keeps a way to sign in once key `$2` is gone.
const HAS_OTHER_SIGN_IN: &str = "
    SELECT EXISTS (SELECT 1 FROM user_security_keys WHERE user_id = $1 AND id <> $2)
        OR EXISTS (SELECT 1 FROM users WHERE id = $1 AND password_hash IS NOT NULL)
        OR EXISTS (SELECT 1 FROM user_providers WHERE user_id = $1)";
const DELETE_KEY: &str = "DELETE FROM user_security_keys WHERE user_id = $1 AND id = $2";

pub(super) async fn insert_key(
    conn: &mut SqliteConnection,
    user_id: UserId,
    key: &NewSecurityKey,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_KEY)
        .bind(key.id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(key.credential_id.to_base64url())
        .bind(&key.public_key)
        .bind(i64::from(key.counter))
        .bind(join_transports(&key.transports))
        .bind(&key.nickname)
        .bind(key.aaguid)
        .bind(key.backup_eligible)
        .bind(key.backup_state)
        .bind(key.user_verified)
        .bind(&key.attestation_format)
        .bind(millis(key.now))
        .execute(conn)
        .await
        .map(|_| ())
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn keys_of(&self, user_id: UserId) -> Result<Vec<SecurityKey>, StoreError> {
        let rows = sqlx::query_as::<_, KeyRow>(KEYS_OF)
            .bind(user_id.as_uuid())
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        rows.into_iter().map(SecurityKey::try_from).collect()
    }

    async fn count_keys(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_KEYS)
            .bind(user_id.as_uuid())
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(n.unsigned_abs())
    }

    async fn credential_registered(
        &self,
        credential_id: &CredentialId,
    ) -> Result<bool, StoreError> {
        sqlx::query_scalar(CREDENTIAL_REGISTERED)
            .bind(credential_id.to_base64url())
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)
    }

    async fn add_key(
        &self,
        user_id: UserId,
        key: &NewSecurityKey,
        event: Option<&AuditEvent>,
    ) -> Result<Inserted<SecurityKeyId>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        match insert_key(&mut tx, user_id, key).await {
            Err(err) if is_unique_violation(&err) => {
                return Ok(Inserted::Conflict(Conflict::CredentialId));
            }
            other => other.map_err(db)?,
        }
        super::server::insert_event_if(&mut tx, event)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Inserted::New(key.id))
    }

    async fn rename_key(
        &self,
        user_id: UserId,
        key_id: SecurityKeyId,
        nickname: &str,
    ) -> Result<Option<SecurityKey>, StoreError> {
        let row = sqlx::query_as::<_, KeyRow>(RENAME_KEY)
            .bind(user_id.as_uuid())
            .bind(key_id.as_uuid())
            .bind(nickname)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(SecurityKey::try_from).transpose()
    }

    async fn delete_key(
        &self,
        user_id: UserId,
        key_id: SecurityKeyId,
        force: bool,
    ) -> Result<KeyDeletion, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        // BEGIN IMMEDIATE holds the write lock from the check to the delete.
        let exists: i64 = sqlx::query_scalar(KEY_EXISTS)
            .bind(user_id.as_uuid())
            .bind(key_id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if exists == 0 {
            return Ok(KeyDeletion::NoSuchKey);
        }
        if !force {
            let keeps_a_way_in: bool = sqlx::query_scalar(HAS_OTHER_SIGN_IN)
                .bind(user_id.as_uuid())
                .bind(key_id.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            if !keeps_a_way_in {
                return Ok(KeyDeletion::LastSignInMethod);
            }
        }
        sqlx::query(DELETE_KEY)
            .bind(user_id.as_uuid())
            .bind(key_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(KeyDeletion::Deleted)
    }

    async fn record_key_use(
        &self,
        user_id: UserId,
        credential_id: &CredentialId,
        key_use: &KeyUse,
    ) -> Result<(), StoreError> {
        sqlx::query(RECORD_USE)
            .bind(user_id.as_uuid())
            .bind(credential_id.to_base64url())
            .bind(i64::from(key_use.counter))
            .bind(key_use.backup_eligible)
            .bind(key_use.backup_state)
            .bind(millis(key_use.now))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }
}
