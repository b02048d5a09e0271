use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::{PgStore, db, is_unique_violation};
use crate::model::{NewSecurityKey, NewUser, Timestamp, User, UserId};
use crate::store::{AuditEvent, Conflict, Inserted, NewRefreshToken, StoreError, UserStore};

// Macros, not consts, so `concat!` can build whole `&'static str` statements from them. The
// columns of `UserRow`, of a user `u`:
macro_rules! user_columns {
    () => {
        "u.id, u.created_at, u.display_name, u.avatar_url, u.locale, u.email::text AS email,
           u.email_verified, u.phone_number, u.phone_number_verified, u.is_anonymous, u.disabled,
           u.default_role, u.metadata, u.active_mfa_type,
           ARRAY(SELECT r.role FROM auth.user_roles r WHERE r.user_id = u.id ORDER BY r.role) AS roles"
    };
}
pub(super) use user_columns;
// The user with id `<table>.id` as one JSON value (`UserRow`'s fields), NULL when there is none:
// for statements that also return other rows, such as the user's keys. For use in a sibling
// module of this one.
macro_rules! user_json {
    ($id:literal) => {
        concat!(
            "(SELECT row_to_json(x) FROM (SELECT ",
            super::users::user_columns!(),
            " FROM auth.users u WHERE u.id = ",
            $id,
            ") x) AS user_json"
        )
    };
}
pub(super) use user_json;
macro_rules! select_user {
    () => {
        concat!("SELECT ", user_columns!(), " FROM auth.users u")
    };
}
const USER_BY_ID: &str = concat!(select_user!(), " WHERE u.id = $1");
const USER_BY_EMAIL: &str = concat!(select_user!(), " WHERE u.email = $1::text::public.citext");
// Nhost stores a phone number exactly as it was typed ("+33 6 12 34 56 78"); we store E.164.
// `$col` with the separators people type (spaces, dashes, dots, parentheses) removed, which is
// E.164 for such numbers and unchanged for ours. Migration 0012 indexes exactly this
// expression on `auth.users.phone_number`: keep the two identical, or lookups scan.
macro_rules! phone_digits {
    ($col:literal) => {
        concat!("translate(", $col, ", ' ().-', '')")
    };
}
pub(super) use phone_digits;
// An exact match first: a number stored both ways (which Nhost allowed) is the E.164 user.
pub const USER_BY_PHONE: &str = concat!(
    select_user!(),
    " WHERE ",
    phone_digits!("u.phone_number"),
    " = $1 ORDER BY u.phone_number = $1 DESC, u.created_at, u.id LIMIT 1"
);

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct UserRow {
    id: Uuid,
    created_at: Timestamp,
    display_name: String,
    avatar_url: String,
    locale: String,
    email: Option<String>,
    email_verified: bool,
    phone_number: Option<String>,
    phone_number_verified: bool,
    is_anonymous: bool,
    disabled: bool,
    default_role: String,
    metadata: Option<Json<serde_json::Value>>,
    active_mfa_type: Option<String>,
    roles: Vec<String>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId::from_uuid(r.id),
            created_at: r.created_at,
            display_name: r.display_name,
            avatar_url: r.avatar_url,
            locale: r.locale,
            email: r.email,
            email_verified: r.email_verified,
            phone_number: r.phone_number,
            phone_number_verified: r.phone_number_verified,
            is_anonymous: r.is_anonymous,
            disabled: r.disabled,
            default_role: r.default_role,
            roles: r.roles,
            metadata: r.metadata.map(|m| m.0),
            active_mfa_type: r.active_mfa_type,
        }
    }
}

// The user, its roles and, when given, its first key, its first session, the audit event and
// the mail carrying its ticket, in one statement: one round trip, one commit, all or nothing. The optional parts insert
// nothing when their key value is bound as NULL.
const INSERT_USER: &str = concat!(
    "WITH new_user AS (
        INSERT INTO auth.users (id, created_at, updated_at, last_seen, disabled, display_name,
                                avatar_url, locale, email, email_verified, default_role,
                                is_anonymous, metadata, ticket, ticket_expires_at, password_hash,
                                phone_number)
        VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, COALESCE($14, now()), $15,
                $37)
     RETURNING id
    ), new_roles AS (
        INSERT INTO auth.user_roles (user_id, role) SELECT id, unnest($16::text[]) FROM new_user
    ), new_key AS (
        INSERT INTO auth.user_security_keys (id, user_id, credential_id, credential_public_key,
            counter, transports, nickname, aaguid, backup_eligible, backup_state, user_verified,
            attestation_format, created_at)
        SELECT $17, id, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $2 FROM new_user
         WHERE $18::text IS NOT NULL
    ), new_session AS (
        INSERT INTO auth.refresh_tokens (id, created_at, expires_at, user_id, type, refresh_token_hash)
        SELECT $28, $2, $29, id, 'regular', $30 FROM new_user WHERE $30::text IS NOT NULL
    ), new_link AS (
        INSERT INTO auth.user_providers (id, created_at, updated_at, user_id, access_token,
                                         refresh_token, provider_id, provider_user_id)
        SELECT gen_random_uuid(), $2, $2, id, $38, $39, $40, $41 FROM new_user
         WHERE $40::text IS NOT NULL
    ), ",
    super::audit_cte!("$2", "$31", "$32", "$33", "$34", "$35"),
    ", queued AS (",
    super::outbox::insert_mail!("new_user,", "$36"),
    ") SELECT count(*) FROM new_user"
);
/// The unique constraint on `auth.user_security_keys.credential_id` (Nhost's name).
const CREDENTIAL_ID_KEY: &str = "user_security_key_credential_id_key";
/// The unique constraint on `(provider_id, provider_user_id)` of `auth.user_providers`.
pub(super) const PROVIDER_ACCOUNT_KEY: &str = "user_providers_provider_id_provider_user_id_key";
const ENSURE_ROLE: &str = "INSERT INTO auth.roles (role) VALUES ($1) ON CONFLICT DO NOTHING";

#[async_trait]
impl UserStore for PgStore {
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query_as::<_, UserRow>(USER_BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.map(User::from))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query_as::<_, UserRow>(USER_BY_EMAIL)
            .bind(email)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.map(User::from))
    }

    async fn find_user_by_phone(&self, phone_number: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query_as::<_, UserRow>(USER_BY_PHONE)
            .bind(phone_number)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(row.map(User::from))
    }

    async fn create_user(
        &self,
        user: &NewUser,
        key: Option<&NewSecurityKey>,
        session: Option<&NewRefreshToken>,
        event: Option<&AuditEvent>,
    ) -> Result<Inserted<UserId>, StoreError> {
        let (ticket, ticket_expires_at) = match &user.ticket {
            Some((t, e)) => (Some(t.as_str()), Some(*e)),
            None => (None, None),
        };
        let mut roles = user.roles.clone();
        roles.sort();
        roles.dedup();
        let query = sqlx::query(INSERT_USER)
            .bind(user.id.as_uuid())
            .bind(user.now)
            .bind(session.map(|_| user.now))
            .bind(user.disabled)
            .bind(&user.display_name)
            .bind(&user.avatar_url)
            .bind(&user.locale)
            .bind(&user.email)
            .bind(user.email_verified)
            .bind(&user.default_role)
            .bind(user.is_anonymous)
            .bind(user.metadata.as_ref().map(Json))
            .bind(ticket)
            .bind(ticket_expires_at)
            .bind(&user.password_hash)
            .bind(&roles);
        let query = super::keys::bind_new_key(query, key)
            .bind(session.map(|s| s.id.as_uuid()))
            .bind(session.map(|s| s.expires_at))
            .bind(session.map(|s| s.hash.as_str()));
        let inserted = super::bind_event(query, event)
            .bind(super::outbox::mail_json(user.mail.as_ref()))
            .bind(&user.phone_number)
            .bind(
                user.provider
                    .as_ref()
                    .map(|p| p.access_token_sealed.as_str()),
            )
            .bind(
                user.provider
                    .as_ref()
                    .and_then(|p| p.refresh_token_sealed.as_deref()),
            )
            .bind(user.provider.as_ref().map(|p| p.provider.as_str()))
            .bind(user.provider.as_ref().map(|p| p.provider_user_id.as_str()))
            .execute(&mut *self.conn().await?)
            .await;
        match inserted {
            Ok(_) => Ok(Inserted::New(user.id)),
            Err(err) if super::violated_constraint(&err) == Some(CREDENTIAL_ID_KEY) => {
                Ok(Inserted::Conflict(Conflict::CredentialId))
            }
            Err(err) if super::violated_constraint(&err) == Some(PROVIDER_ACCOUNT_KEY) => {
                Ok(Inserted::Conflict(Conflict::ProviderAccount))
            }
            Err(err) if is_unique_violation(&err) => Ok(Inserted::Conflict(Conflict::Email)),
            Err(err) => Err(db(err)),
        }
    }

    async fn ensure_roles(&self, roles: &[String]) -> Result<(), StoreError> {
        for role in roles {
            sqlx::query(ENSURE_ROLE)
                .bind(role)
                .execute(&mut *self.conn().await?)
                .await
                .map_err(db)?;
        }
        Ok(())
    }
}
