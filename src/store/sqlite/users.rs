use async_trait::async_trait;
use sqlx::Connection as _;
use uuid::Uuid;

use super::{BEGIN_WRITE, SqliteStore, db, from_millis, is_unique_violation, millis};
use crate::model::{NewSecurityKey, NewUser, User, UserId};
use crate::store::{AuditEvent, Conflict, Inserted, NewRefreshToken, StoreError, UserStore};

macro_rules! select_user {
    () => {
        "
    SELECT u.id, u.created_at, u.display_name, u.avatar_url, u.locale, u.email,
           u.email_verified, u.phone_number, u.phone_number_verified, u.is_anonymous, u.disabled,
           u.default_role, u.metadata, u.active_mfa_type,
           (SELECT json_group_array(role) FROM
               (SELECT r.role FROM user_roles r WHERE r.user_id = u.id ORDER BY r.role)) AS roles
      FROM users u"
    };
}
pub(super) const USER_BY_ID: &str = concat!(select_user!(), " WHERE u.id = $1");
pub(super) const USER_BY_EMAIL: &str = concat!(select_user!(), " WHERE u.email = $1");
// Nhost stores a phone number exactly as it was typed ("+33 6 12 34 56 78"); we store E.164.
// `$col` with the separators people type (spaces, dashes, dots, parentheses) removed, which is
// E.164 for such numbers and unchanged for ours. Migration 0012 indexes exactly this
// expression on `users.phone_number`: keep the two identical, or lookups scan.
macro_rules! phone_digits {
    ($col:literal) => {
        concat!(
            "replace(replace(replace(replace(replace(",
            $col,
            ", ' ', ''), '-', ''), '.', ''), '(', ''), ')', '')"
        )
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

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: Uuid,
    created_at: i64,
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
    metadata: Option<String>,
    active_mfa_type: Option<String>,
    roles: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        let metadata = match r.metadata {
            Some(text) => {
                Some(serde_json::from_str(&text).map_err(|e| StoreError::corrupt("users", e))?)
            }
            None => None,
        };
        Ok(User {
            id: UserId::from_uuid(r.id),
            created_at: from_millis("users", r.created_at)?,
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
            roles: serde_json::from_str(&r.roles).map_err(|e| StoreError::corrupt("users", e))?,
            metadata,
            active_mfa_type: r.active_mfa_type,
        })
    }
}

const INSERT_USER: &str = "
    INSERT INTO users (id, created_at, updated_at, last_seen, disabled, display_name, avatar_url,
                       locale, email, email_verified, default_role, is_anonymous, metadata,
                       ticket, ticket_expires_at, password_hash, phone_number)
    VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, COALESCE($14, $2), $15,
            $16)";
const INSERT_ROLE: &str = "
    INSERT INTO user_roles (id, created_at, user_id, role) VALUES ($1, $2, $3, $4)
    ON CONFLICT DO NOTHING";
const ENSURE_ROLE: &str = "INSERT INTO roles (role) VALUES ($1) ON CONFLICT DO NOTHING";

#[async_trait]
impl UserStore for SqliteStore {
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query_as::<_, UserRow>(USER_BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        row.map(User::try_from).transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query_as::<_, UserRow>(USER_BY_EMAIL)
            .bind(email)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        row.map(User::try_from).transpose()
    }

    async fn find_user_by_phone(&self, phone_number: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query_as::<_, UserRow>(USER_BY_PHONE)
            .bind(phone_number)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        row.map(User::try_from).transpose()
    }

    async fn create_user(
        &self,
        user: &NewUser,
        key: Option<&NewSecurityKey>,
        session: Option<&NewRefreshToken>,
        event: Option<&AuditEvent>,
    ) -> Result<Inserted<UserId>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let now = millis(user.now);
        let (ticket, ticket_expires_at) = match &user.ticket {
            Some((t, e)) => (Some(t.as_str()), Some(millis(*e))),
            None => (None, None),
        };
        let metadata = user.metadata.as_ref().map(|m| m.to_string());
        let inserted = sqlx::query(INSERT_USER)
            .bind(user.id.as_uuid())
            .bind(now)
            .bind(session.map(|_| now))
            .bind(user.disabled)
            .bind(&user.display_name)
            .bind(&user.avatar_url)
            .bind(&user.locale)
            .bind(&user.email)
            .bind(user.email_verified)
            .bind(&user.default_role)
            .bind(user.is_anonymous)
            .bind(metadata)
            .bind(ticket)
            .bind(ticket_expires_at)
            .bind(&user.password_hash)
            .bind(&user.phone_number)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(err) if is_unique_violation(&err) => {
                return Ok(Inserted::Conflict(Conflict::Email));
            }
            other => {
                other.map_err(db)?;
            }
        }
        for role in &user.roles {
            sqlx::query(INSERT_ROLE)
                .bind(Uuid::new_v4())
                .bind(now)
                .bind(user.id.as_uuid())
                .bind(role)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        if let Some(link) = &user.provider {
            match super::providers::insert_link(&mut tx, user.id, link, now).await {
                Err(err) if is_unique_violation(&err) => {
                    return Ok(Inserted::Conflict(Conflict::ProviderAccount));
                }
                other => other.map_err(db)?,
            }
        }
        if let Some(key) = key {
            match super::keys::insert_key(&mut tx, user.id, key).await {
                Err(err) if is_unique_violation(&err) => {
                    return Ok(Inserted::Conflict(Conflict::CredentialId));
                }
                other => other.map_err(db)?,
            }
        }
        if let Some(session) = session {
            super::sessions::insert_refresh_token(&mut tx, session)
                .await
                .map_err(db)?;
        }
        super::server::insert_event_if(&mut tx, event)
            .await
            .map_err(db)?;
        super::outbox::insert_mail_if(&mut tx, user.mail.as_ref()).await?;
        tx.commit().await.map_err(db)?;
        Ok(Inserted::New(user.id))
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
