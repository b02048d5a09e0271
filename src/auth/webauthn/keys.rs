//! Managing the signed-in user's keys: list, rename, delete. REST and GraphQL both call
//! these, so row scoping and the last-key rule hold whatever the transport.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tracing::{info, instrument};

use super::registration::checked_nickname;
use super::{account_names, user_handle};
use crate::auth::error::{Error, Result};
use crate::auth::{AccessClaims, Auth};
use crate::model::{RequestContext, SecurityKey, SecurityKeyId};
use crate::store::KeyDeletion;

/// A stored key with what the domain knows about its authenticator model.
#[derive(Debug, Clone)]
pub struct ManagedKey {
    pub key: SecurityKey,
    /// From the AAGUID (data/aaguids.json); `None` when unknown or not attested.
    pub authenticator_name: Option<String>,
}

/// What a page passes to the WebAuthn Signal API so the user's authenticators show the
/// same keys and names as the server: `signalAllAcceptedCredentials` and
/// `signalCurrentUserDetails`.
#[derive(Debug, Clone)]
pub struct KeySignals {
    pub rp_id: String,
    /// The user handle as base64url: for Nhost's handles, the user id string itself.
    pub user_id: String,
    pub name: String,
    pub display_name: String,
    /// base64url credential ids of every key the user has.
    pub credential_ids: Vec<String>,
}

// Nhost: has no REST endpoints for keys; clients use Hasura GraphQL on
// `auth.user_security_keys` with project-defined permissions (contract 3.8).
impl Auth {
    /// The bearer's keys, oldest first.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn list_keys(&self, claims: &AccessClaims) -> Result<Vec<ManagedKey>> {
        let user = self.user_from_claims(claims, false).await?;
        let keys = self.store.keys_of(user.id).await?;
        Ok(keys.into_iter().map(|k| self.managed(k)).collect())
    }

    /// The Signal API payloads for the bearer; call again after a key is removed.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn key_signals(&self, claims: &AccessClaims) -> Result<KeySignals> {
        let rt = self.webauthn_runtime()?;
        let user = self.user_from_claims(claims, false).await?;
        let keys = self.store.keys_of(user.id).await?;
        let (name, display_name) = account_names(&user);
        Ok(KeySignals {
            rp_id: rt.config.webauthn.rp_id.clone(),
            user_id: URL_SAFE_NO_PAD.encode(user_handle(user.id)),
            name,
            display_name,
            credential_ids: keys
                .iter()
                .map(|k| k.credential_id.to_base64url())
                .collect(),
        })
    }

    fn managed(&self, key: SecurityKey) -> ManagedKey {
        let authenticator_name = self.authenticator_name(key.aaguid).map(str::to_owned);
        ManagedKey {
            key,
            authenticator_name,
        }
    }

    /// One key of the bearer. Another user's key reads exactly like an unknown id, so ids
    /// cannot be probed.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn key_of_bearer(
        &self,
        claims: &AccessClaims,
        key_id: SecurityKeyId,
    ) -> Result<ManagedKey> {
        self.list_keys(claims)
            .await?
            .into_iter()
            .find(|k| k.key.id == key_id)
            .ok_or(Error::UnknownKey)
    }

    /// Renames one of the bearer's keys and returns it; unknown and foreign ids alike are
    /// `InvalidRequest`.
    #[instrument(skip_all, fields(user_id = %claims.user_id, key_id = %key_id))]
    pub async fn rename_key(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        key_id: SecurityKeyId,
        nickname: String,
    ) -> Result<ManagedKey> {
        let user = self.user_from_claims(claims, false).await?;
        let nickname = checked_nickname(Some(nickname))?.unwrap_or_default();
        let key = self
            .store
            .rename_key(user.id, key_id, &nickname)
            .await?
            .map(|k| self.managed(k))
            .ok_or(Error::UnknownKey)?;
        let detail = json!({ "keyId": key_id.to_string() });
        self.audit(Some(ctx), "security_key.renamed", Some(user.id), detail)
            .await;
        Ok(key)
    }

    /// Deletes one of the bearer's keys. Needs an elevated token under
    /// `AUTH_REQUIRE_ELEVATED_CLAIM` (`recommended` too: a user deleting a key has one).
    /// Unless `force`, the user's last way to sign in is kept: losing it would lock them out.
    /// Returns the deleted key.
    #[instrument(skip_all, fields(user_id = %claims.user_id, key_id = %key_id))]
    pub async fn delete_key(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        key_id: SecurityKeyId,
        force: bool,
    ) -> Result<ManagedKey> {
        let user = self.user_from_claims(claims, false).await?;
        self.require_elevation(claims, user.id, false).await?;
        // Read first so the caller can be answered with the row (GraphQL returns it); the
        // delete below re-checks ownership atomically.
        let key = self.key_of_bearer(claims, key_id).await?;
        match self.store.delete_key(user.id, key_id, force).await? {
            KeyDeletion::Deleted => {
                info!(
                    event = "webauthn.key_deleted",
                    force, "security key deleted"
                );
                let detail = json!({ "keyId": key_id.to_string(), "force": force });
                self.audit(Some(ctx), "security_key.removed", Some(user.id), detail)
                    .await;
                Ok(key)
            }
            KeyDeletion::NoSuchKey => Err(Error::UnknownKey),
            KeyDeletion::LastSignInMethod => {
                info!(
                    event = "webauthn.last_key_kept",
                    "refused to delete the user's last sign-in method without force"
                );
                Err(Error::LastSignInMethod)
            }
        }
    }
}
