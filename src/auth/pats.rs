//! Personal access tokens (issue #18): `POST /pat`, `POST /signin/pat`, and beyond upstream
//! `GET /user/pats` and `DELETE /user/pats/{id}`. A PAT is a refresh token of type `pat`:
//! stored hashed, never rotated, never taken by `/token`, and kept by `signout {all}`.

use serde_json::{Value, json};
use tracing::instrument;

use super::error::{Error, Result};
use super::sessions::SessionKind;
use super::tokens::{AccessClaims, hash_refresh_token, new_refresh_token};
use super::{Auth, Session, check_user};
use crate::model::{NewPat, PatInfo, RefreshTokenId, RequestContext, Secret, Timestamp};

/// A new PAT: its id and the token, shown once.
#[derive(Debug)]
pub struct CreatedPat {
    pub id: RefreshTokenId,
    pub token: Secret,
}

impl Auth {
    /// `POST /pat`: a PAT for the bearer until `expires_at` (which must be in the future),
    /// elevated when `AUTH_REQUIRE_ELEVATED_CLAIM` asks for it.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn create_pat(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        expires_at: Timestamp,
        metadata: Option<Value>,
    ) -> Result<CreatedPat> {
        let user = self.user_from_claims(claims, false).await?;
        self.require_elevation(claims, user.id, false).await?;
        let now = self.now();
        // Upstream accepts a past expiry and stores a token that never works.
        if expires_at <= now {
            return Err(Error::InvalidRequest("expiresAt must be in the future"));
        }
        if metadata.as_ref().is_some_and(|m| !m.is_object()) {
            return Err(Error::InvalidRequest("metadata must be an object"));
        }
        let (token, hash) = new_refresh_token();
        let pat = NewPat {
            id: RefreshTokenId::new_random(),
            user_id: user.id,
            hash,
            expires_at,
            metadata,
            now,
        };
        let detail = json!({ "patId": pat.id.to_string() });
        let event = self.event(Some(ctx), "pat.created", Some(user.id), detail);
        self.store.create_pat(&pat, Some(&event)).await?;
        Ok(CreatedPat { id: pat.id, token })
    }

    /// `POST /signin/pat`: a new session (with a regular refresh token) for the owner of a
    /// live PAT. Unknown, expired and regular tokens all answer `invalid-pat`.
    #[instrument(skip_all)]
    pub async fn sign_in_with_pat(&self, ctx: &RequestContext, token: &str) -> Result<Session> {
        let rt = self.runtime();
        let now = self.now();
        let hash = hash_refresh_token(token);
        let Some(user_id) = self.store.use_pat(&hash, now).await? else {
            self.audit_signin(ctx, "pat", None, Err(&Error::InvalidPat))
                .await;
            return Err(Error::InvalidPat);
        };
        let user = self
            .store
            .get_user(user_id)
            .await?
            .ok_or(Error::InvalidPat)?;
        if let Err(err) = check_user(&rt.config, &user, false) {
            self.audit_signin(ctx, "pat", Some(user_id), Err(&err))
                .await;
            return Err(err);
        }
        let event = self.signin_event(ctx, "pat", user.id);
        self.start_session(&rt, user, SessionKind::SignIn, Some(event))
            .await
    }

    /// `GET /user/pats`: the bearer's PATs, never the tokens.
    pub async fn list_pats(&self, claims: &AccessClaims) -> Result<Vec<PatInfo>> {
        let user = self.user_from_claims(claims, false).await?;
        Ok(self.store.pats_of(user.id).await?)
    }

    /// `DELETE /user/pats/{id}`: revokes one of the bearer's PATs (elevated as `POST /pat`);
    /// another user's id answers as an unknown one.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn revoke_pat(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        id: RefreshTokenId,
    ) -> Result<()> {
        let user = self.user_from_claims(claims, false).await?;
        self.require_elevation(claims, user.id, false).await?;
        if !self.store.delete_pat(user.id, id).await? {
            return Err(Error::UnknownPat);
        }
        let detail = json!({ "patId": id.to_string() });
        self.audit(Some(ctx), "pat.revoked", Some(user.id), detail)
            .await;
        Ok(())
    }
}
