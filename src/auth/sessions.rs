//! Sessions: issuing, refreshing with rotation and reuse detection, signing out.

use serde_json::json;
use tracing::warn;

use super::error::{Error, Result};
use super::tokens::{hash_refresh_token, new_refresh_token};
use super::{Auth, Runtime, check_user};
use crate::model::{
    CredentialId, NewUser, RefreshTokenId, RequestContext, Secret, Timestamp, User, UserId,
};
use crate::store::{AuditEvent, Inserted, KeyUse, NewRefreshToken, Rotation};

/// A signed-in session as Nhost returns it.
#[derive(Debug)]
pub struct Session {
    pub access_token: String,
    pub access_token_expires_in: u64,
    pub refresh_token: Secret,
    pub refresh_token_id: RefreshTokenId,
    pub user: User,
}

/// Why a session (an access token and its refresh token) is issued: only elevation mints
/// the elevated claim; the rest label metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionKind {
    SignUp,
    SignIn,
    Anonymous,
    Elevate,
    Refresh,
    /// A ticket from an e-mail link (`GET /verify`).
    Ticket,
}

impl SessionKind {
    fn label(self) -> &'static str {
        match self {
            SessionKind::SignUp => "signup",
            SessionKind::SignIn => "signin",
            SessionKind::Anonymous => "anonymous",
            SessionKind::Elevate => "elevate",
            SessionKind::Refresh => "refresh",
            SessionKind::Ticket => "ticket",
        }
    }
}

/// A key that just signed an assertion: what to record about its use.
pub(crate) struct UsedKey {
    pub credential_id: CredentialId,
    pub key_use: KeyUse,
}

/// A refresh token generated before the row that holds it is written (possibly in the same
/// transaction as the user).
pub(crate) struct PendingSession {
    pub row: NewRefreshToken,
    pub token: Secret,
}

impl Auth {
    pub(crate) fn pending_session(
        &self,
        rt: &Runtime,
        user_id: UserId,
        now: Timestamp,
    ) -> PendingSession {
        let (token, hash) = new_refresh_token();
        let ttl = chrono::Duration::from_std(rt.config.refresh_token_ttl)
            .unwrap_or(chrono::Duration::MAX);
        let row = NewRefreshToken {
            id: RefreshTokenId::new_random(),
            user_id,
            hash,
            expires_at: now.checked_add_signed(ttl).unwrap_or(now),
            now,
        };
        PendingSession { row, token }
    }

    /// Turns a stored refresh token into the Session response, minting the access token with
    /// the user's custom claims (one bounded GraphQL request when Hasura is configured).
    pub(crate) async fn finish_session(
        &self,
        rt: &Runtime,
        user: User,
        pending: PendingSession,
        kind: SessionKind,
    ) -> Result<Session> {
        let elevated = kind == SessionKind::Elevate;
        let custom = rt.custom_claims.resolve(&rt.http, &user).await;
        let access_token =
            rt.tokens
                .mint(&user, elevated, pending.row.id, pending.row.now, &custom)?;
        metrics::counter!("latchkey_sessions_issued_total", "kind" => kind.label()).increment(1);
        Ok(Session {
            access_token,
            access_token_expires_in: rt.tokens.access_ttl().as_secs(),
            refresh_token: pending.token,
            refresh_token_id: pending.row.id,
            user,
        })
    }

    /// Starts a new session (a new refresh-token family) for an already checked user, and
    /// records `event` with it.
    pub(crate) async fn start_session(
        &self,
        rt: &Runtime,
        user: User,
        kind: SessionKind,
        event: Option<AuditEvent>,
    ) -> Result<Session> {
        let pending = self.pending_session(rt, user.id, self.now());
        self.store
            .start_session(&pending.row, event.as_ref())
            .await?;
        self.after_session_write(pending.row.now, event.is_some())
            .await?;
        self.finish_session(rt, user, pending, kind).await
    }

    /// `start_session` after a successful assertion: the key's new counter and flags are
    /// stored with the session and the event, in one statement on PostgreSQL.
    pub(crate) async fn start_session_after_assertion(
        &self,
        rt: &Runtime,
        user: User,
        used: &UsedKey,
        kind: SessionKind,
        event: Option<AuditEvent>,
    ) -> Result<Session> {
        let pending = self.pending_session(rt, user.id, used.key_use.now);
        self.store
            .start_session_after_assertion(
                &pending.row,
                &used.credential_id,
                &used.key_use,
                event.as_ref(),
            )
            .await?;
        self.after_session_write(pending.row.now, event.is_some())
            .await?;
        self.finish_session(rt, user, pending, kind).await
    }

    /// Expired rows are harmless but accumulate; about one new session in 256 clears a
    /// batch of them, so no replica needs a scheduler. An audit event written with the
    /// session counts towards the audit log's own sweep.
    pub(crate) async fn after_session_write(&self, now: Timestamp, audited: bool) -> Result<()> {
        if rand::random::<u8>() == 0 {
            self.store.sweep_expired_sessions(now).await?;
        }
        if audited {
            self.sometimes_sweep_audit_log().await;
        }
        Ok(())
    }

    /// `POST /token`: rotates the refresh token in place (same id, new value, sliding expiry).
    /// A token that was already rotated away revokes its whole family.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, ctx: &RequestContext, refresh_token: &str) -> Result<Session> {
        let rt = self.runtime();
        let now = self.now();
        let (new_token, new_hash) = new_refresh_token();
        let ttl = chrono::Duration::from_std(rt.config.refresh_token_ttl)
            .unwrap_or(chrono::Duration::MAX);
        let expires_at = now.checked_add_signed(ttl).unwrap_or(now);
        let old_hash = hash_refresh_token(refresh_token);
        let rotation = self
            .store
            .rotate_refresh_token(&old_hash, &new_hash, expires_at, now)
            .await?;
        let (id, user) = match rotation {
            Rotation::Rotated { id, user } => (id, *user),
            Rotation::Unknown => return Err(Error::InvalidRefreshToken),
            // Nhost: no reuse detection. A replayed token means it leaked; the family goes.
            Rotation::Reused { id, user_id } => {
                metrics::counter!("latchkey_refresh_token_reuse_total").increment(1);
                warn!(event = "refresh_token.reused", %user_id, family = %id,
                      "rotated refresh token presented again: family revoked");
                let detail = json!({ "refreshTokenId": id.to_string() });
                self.audit(Some(ctx), "refresh_token.reused", Some(user_id), detail)
                    .await;
                return Err(Error::InvalidRefreshToken);
            }
        };
        check_user(&rt.config, &user, true)?;
        let row = NewRefreshToken {
            id,
            user_id: user.id,
            hash: new_hash,
            expires_at,
            now,
        };
        let pending = PendingSession {
            row,
            token: new_token,
        };
        self.finish_session(&rt, user, pending, SessionKind::Refresh)
            .await
    }

    /// `POST /signout` for one session: deletes that refresh token (any type), if it exists.
    pub async fn sign_out(&self, refresh_token: &str) -> Result<()> {
        self.store
            .delete_refresh_token(&hash_refresh_token(refresh_token))
            .await?;
        Ok(())
    }

    /// `POST /signout` with `all`: deletes every regular session of the user.
    // Nhost: also deletes personal access tokens; signing out devices should not break
    // integrations, so PATs stay.
    pub async fn sign_out_everywhere(&self, user_id: UserId) -> Result<()> {
        self.store.delete_sessions_of(user_id).await?;
        Ok(())
    }

    /// `POST /signin/anonymous`.
    pub async fn sign_in_anonymous(
        &self,
        ctx: &RequestContext,
        display_name: Option<String>,
        locale: Option<String>,
        metadata: Option<serde_json::Value>,
    ) -> Result<Session> {
        let rt = self.runtime();
        if !rt.config.anonymous_users_enabled {
            return Err(Error::EndpointDisabled);
        }
        if rt.config.disable_signup {
            return Err(Error::SignupDisabled);
        }
        let now = self.now();
        let locale = locale
            .filter(|l| rt.config.allowed_locales.contains(l))
            .unwrap_or_else(|| rt.config.locale_default.clone());
        let user = NewUser {
            id: UserId::new_random(),
            display_name: display_name.unwrap_or_else(|| "Anonymous User".into()),
            avatar_url: String::new(),
            locale,
            email: None,
            email_verified: false,
            phone_number: None,
            is_anonymous: true,
            disabled: false,
            default_role: "anonymous".into(),
            roles: vec!["anonymous".into()],
            metadata,
            ticket: None,
            password_hash: None,
            mail: None,
            provider: None,
            now,
        };
        let pending = self.pending_session(&rt, user.id, now);
        let detail = json!({ "method": "anonymous" });
        let event = self.event(Some(ctx), "user.signed_up", Some(user.id), detail);
        match self
            .store
            .create_user(&user, None, Some(&pending.row), Some(&event))
            .await?
        {
            Inserted::New(_) => {}
            Inserted::Conflict(_) => return Err(Error::Internal("anonymous user conflict".into())),
        }
        self.after_session_write(now, true).await?;
        self.finish_session(&rt, user.to_user(), pending, SessionKind::Anonymous)
            .await
    }
}
