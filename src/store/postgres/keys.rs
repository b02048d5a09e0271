use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{PgStore, db, is_unique_violation};
use crate::model::{CredentialId, NewSecurityKey, SecurityKey, SecurityKeyId, Timestamp, UserId};
use crate::store::{
    AuditEvent, Conflict, Inserted, KeyDeletion, KeyStore, KeyUse, StoreError, join_transports,
    split_transports,
};

#[derive(sqlx::FromRow)]
struct KeyRow {
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
    created_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
}

impl TryFrom<KeyRow> for SecurityKey {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        let credential_id = CredentialId::from_base64url(&r.credential_id)
            .ok_or_else(|| StoreError::corrupt("user_security_keys", "credential_id"))?;
        Ok(SecurityKey {
            id: SecurityKeyId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            credential_id,
            public_key: r.credential_public_key.unwrap_or_default(),
            counter: u32::try_from(r.counter)
                .map_err(|_| StoreError::corrupt("user_security_keys", "counter"))?,
            transports: split_transports(&r.transports),
            nickname: r.nickname,
            aaguid: r.aaguid,
            backup_eligible: r.backup_eligible,
            backup_state: r.backup_state,
            user_verified: r.user_verified,
            attestation_format: r.attestation_format,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
    }
}

// The columns of `JoinedKey`: a key `k` joined to its user, all NULL when it has none.
macro_rules! joined_key_columns {
    () => {
        "k.id AS k_id, k.user_id AS k_user_id, k.credential_id AS k_credential_id,
         k.credential_public_key AS k_credential_public_key, k.counter AS k_counter,
         k.transports AS k_transports, k.nickname AS k_nickname, k.aaguid AS k_aaguid,
         k.backup_eligible AS k_backup_eligible, k.backup_state AS k_backup_state,
         k.user_verified AS k_user_verified, k.attestation_format AS k_attestation_format,
         k.created_at AS k_created_at, k.last_used_at AS k_last_used_at"
    };
}
pub(super) use joined_key_columns;

/// A key from a LEFT JOIN (`joined_key_columns!`): every column NULL when there is none.
#[derive(sqlx::FromRow)]
pub(super) struct JoinedKey {
    k_id: Option<Uuid>,
    k_user_id: Option<Uuid>,
    k_credential_id: Option<String>,
    k_credential_public_key: Option<Vec<u8>>,
    k_counter: Option<i64>,
    k_transports: Option<String>,
    k_nickname: Option<String>,
    k_aaguid: Option<Uuid>,
    k_backup_eligible: Option<bool>,
    k_backup_state: Option<bool>,
    k_user_verified: Option<bool>,
    k_attestation_format: Option<String>,
    k_created_at: Option<Timestamp>,
    k_last_used_at: Option<Timestamp>,
}

impl JoinedKey {
    pub(super) fn into_key(self) -> Result<Option<SecurityKey>, StoreError> {
        let Some(id) = self.k_id else {
            return Ok(None);
        };
        let missing = |column| StoreError::corrupt("user_security_keys", column);
        SecurityKey::try_from(KeyRow {
            id,
            user_id: self.k_user_id.ok_or_else(|| missing("user_id"))?,
            credential_id: self
                .k_credential_id
                .ok_or_else(|| missing("credential_id"))?,
            credential_public_key: self.k_credential_public_key,
            counter: self.k_counter.ok_or_else(|| missing("counter"))?,
            transports: self.k_transports.unwrap_or_default(),
            nickname: self.k_nickname,
            aaguid: self.k_aaguid,
            backup_eligible: self.k_backup_eligible,
            backup_state: self.k_backup_state,
            user_verified: self.k_user_verified.unwrap_or_default(),
            attestation_format: self.k_attestation_format,
            created_at: self.k_created_at,
            last_used_at: self.k_last_used_at,
        })
        .map(Some)
    }
}

// A macro, not a const, so `concat!` can build whole statements from it.
macro_rules! select_keys {
    () => {
        "
    SELECT id, user_id, credential_id, credential_public_key, counter, transports, nickname,
           aaguid, backup_eligible, backup_state, user_verified, attestation_format, created_at,
           last_used_at
      FROM auth.user_security_keys"
    };
}
const KEYS_OF: &str = concat!(
    select_keys!(),
    " WHERE user_id = $1 ORDER BY created_at NULLS FIRST, id"
);
const CREDENTIAL_REGISTERED: &str =
    "SELECT EXISTS (SELECT 1 FROM auth.user_security_keys WHERE credential_id = $1)";
const COUNT_KEYS: &str = "SELECT count(*) FROM auth.user_security_keys WHERE user_id = $1";
// A key and its audit event; `$2`..`$12` as `bind_new_key` binds them.
const ADD_KEY: &str = concat!(
    "WITH ",
    super::audit_cte!("$13", "$14", "$15", "$16", "$17", "$18"),
    "
    INSERT INTO auth.user_security_keys (id, user_id, credential_id, credential_public_key,
        counter, transports, nickname, aaguid, backup_eligible, backup_state, user_verified,
        attestation_format, created_at)
    VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);
const RECORD_USE: &str = "
    UPDATE auth.user_security_keys
       SET counter = $3, backup_eligible = $4, backup_state = $5, last_used_at = $6
     WHERE user_id = $1 AND credential_id = $2";
const RENAME_KEY: &str = "
    UPDATE auth.user_security_keys SET nickname = $3 WHERE user_id = $1 AND id = $2
 RETURNING id, user_id, credential_id, credential_public_key, counter, transports, nickname,
           aaguid, backup_eligible, backup_state, user_verified, attestation_format, created_at,
           last_used_at";
const LOCK_USER: &str = "SELECT id FROM auth.users WHERE id = $1 FOR UPDATE";
const KEY_EXISTS: &str =
    "SELECT count(*) FROM auth.user_security_keys WHERE user_id = $1 AND id = $2";
/// Whether the user keeps a way to sign in once key `$2` is gone.
const HAS_OTHER_SIGN_IN: &str = "
    SELECT EXISTS (SELECT 1 FROM auth.user_security_keys WHERE user_id = $1 AND id <> $2)
        OR EXISTS (SELECT 1 FROM auth.users WHERE id = $1 AND password_hash IS NOT NULL)
        OR EXISTS (SELECT 1 FROM auth.user_providers WHERE user_id = $1)";
const DELETE_KEY: &str = "DELETE FROM auth.user_security_keys WHERE user_id = $1 AND id = $2";

/// Binds the eleven values of a new key besides its user and time (`$2`..`$12` of `ADD_KEY`): its id,
/// credential id, public key, counter, transports, nickname, AAGUID, backup flags, user
/// verification and attestation format, all NULL without a key.
pub(super) fn bind_new_key<'q>(
    query: super::PgQuery<'q>,
    key: Option<&'q NewSecurityKey>,
) -> super::PgQuery<'q> {
    query
        .bind(key.map(|k| k.id.as_uuid()))
        .bind(key.map(|k| k.credential_id.to_base64url()))
        .bind(key.map(|k| k.public_key.as_slice()))
        .bind(key.map(|k| i64::from(k.counter)))
        .bind(key.map(|k| join_transports(&k.transports)))
        .bind(key.and_then(|k| k.nickname.as_deref()))
        .bind(key.and_then(|k| k.aaguid))
        .bind(key.map(|k| k.backup_eligible))
        .bind(key.map(|k| k.backup_state))
        .bind(key.map(|k| k.user_verified))
        .bind(key.map(|k| k.attestation_format.as_str()))
}

#[async_trait]
impl KeyStore for PgStore {
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
        // One statement is atomic on its own: no transaction, one round trip.
        let query = sqlx::query(ADD_KEY).bind(user_id.as_uuid());
        let query = bind_new_key(query, Some(key)).bind(key.now);
        let added = super::bind_event(query, event)
            .execute(&mut *self.conn().await?)
            .await;
        match added {
            Ok(_) => Ok(Inserted::New(key.id)),
            Err(err) if is_unique_violation(&err) => Ok(Inserted::Conflict(Conflict::CredentialId)),
            Err(err) => Err(db(err)),
        }
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
            .fetch_optional(&mut *self.conn().await?)
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
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        // Locks the user row: concurrent deletes of two keys of one user run one after the
        // other, so both cannot pass the last-key check (READ COMMITTED alone would let them).
        sqlx::query(LOCK_USER)
            .bind(user_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
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
            .bind(key_use.now)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(())
    }
}
