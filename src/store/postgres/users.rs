use async_trait::async_trait;
use sqlx::Connection as _;
use sqlx::types::Json;
use uuid::Uuid;

use super::{PgStore, db, is_unique_violation};
use crate::model::{NewSecurityKey, NewUser, Timestamp, User, UserId};
use crate::store::{Conflict, Inserted, NewRefreshToken, StoreError, UserStore};

// A macro, not a const, so `concat!` can build whole `&'static str` statements from it.
macro_rules! select_user {
    () => {
        "
    SELECT u.id, u.created_at, u.display_name, u.avatar_url, u.locale, u.email::text AS email,
           u.email_verified, u.phone_number, u.phone_number_verified, u.is_anonymous, u.disabled,
           u.default_role, u.metadata, u.active_mfa_type,
           ARRAY(SELECT r.role FROM auth.user_roles r WHERE r.user_id = u.id ORDER BY r.role) AS roles
      FROM auth.users u"
    };
}
const USER_BY_ID: &str = concat!(select_user!(), " WHERE u.id = $1");
const USER_BY_EMAIL: &str = concat!(select_user!(), " WHERE u.email = $1::text::public.citext");

#[derive(sqlx::FromRow)]
struct UserRow {
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

const INSERT_USER: &str = "
    INSERT INTO auth.users (id, created_at, updated_at, last_seen, disabled, display_name,
                            avatar_url, locale, email, email_verified, default_role,
                            is_anonymous, metadata, ticket, ticket_expires_at, password_hash)
    VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, COALESCE($14, now()), $15)";
// Every role of the user in one statement.
const INSERT_ROLES: &str = "
    INSERT INTO auth.user_roles (user_id, role) SELECT $1, unnest($2::text[])
    ON CONFLICT DO NOTHING";
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

    async fn create_user(
        &self,
        user: &NewUser,
        key: Option<&NewSecurityKey>,
        session: Option<&NewRefreshToken>,
    ) -> Result<Inserted<UserId>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db)?;
        let (ticket, ticket_expires_at) = match &user.ticket {
            Some((t, e)) => (Some(t.as_str()), Some(*e)),
            None => (None, None),
        };
        let inserted = sqlx::query(INSERT_USER)
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
            .execute(&mut *tx)
            .await;
        if let Err(err) = inserted {
            return if is_unique_violation(&err) {
                Ok(Inserted::Conflict(Conflict::Email))
            } else {
                Err(db(err))
            };
        }
        if !user.roles.is_empty() {
            sqlx::query(INSERT_ROLES)
                .bind(user.id.as_uuid())
                .bind(&user.roles)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
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
