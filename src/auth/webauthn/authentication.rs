//! Assertion ceremonies: passkey sign-in (by e-mail or discoverable) and elevation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{instrument, warn};
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AllowCredentials, AuthenticationState, Credential, PublicKeyCredential,
};

use super::credential::to_credential;
use super::{from_json, observe, policy, to_json, user_id_from_handle};
use crate::auth::error::{Error, Result};
use crate::auth::sessions::{SessionKind, UsedKey};
use crate::auth::signup::email_valid;
use crate::auth::{AccessClaims, Auth, Runtime, Session, audit, blocking, check_user};
use crate::model::{CredentialId, Purpose, RequestContext, SecurityKey, User, UserId};
use crate::store::{KeyUse, UserKeys, UserRef};

/// `PublicKeyCredentialRequestOptions` as JSON, ready for `navigator.credentials.get`.
pub struct RequestOptions(pub serde_json::Value);

#[derive(Serialize, Deserialize)]
struct AssertionState {
    authentication: AuthenticationState,
}

impl Auth {
    /// `POST /signin/webauthn`: with an e-mail, options listing that user's keys; without,
    /// options for a discoverable (usernameless) credential.
    #[instrument(skip_all)]
    pub async fn begin_passkey_signin(&self, email: Option<&str>) -> Result<RequestOptions> {
        let rt = self.webauthn_runtime()?;
        let Some(email) = email else {
            let (json, state) = request_options(&rt)?;
            self.store_challenge(&rt, &json, Purpose::Signin, None, state)
                .await?;
            return Ok(RequestOptions(json));
        };
        if !email_valid(email) {
            return Err(Error::InvalidRequest("email"));
        }
        // The options list the user's keys, but the challenge and its state do not depend on
        // them: the ceremony is stored, bound to the user, in the statement that reads the
        // user and its keys. The same statement runs for known and unknown addresses alike.
        let (json, state) = request_options(&rt)?;
        let challenge = self.new_challenge(&rt, &json, Purpose::Signin, None, state)?;
        let Some(found) = self
            .store
            .insert_challenge_for(&challenge, UserRef::Email(email))
            .await?
        else {
            return Err(Error::BadCredentials);
        };
        check_user(&rt.config, &found.user, false)?;
        with_allowed_credentials(json, &rt, &found.keys).map(RequestOptions)
    }

    /// `POST /signin/webauthn/verify`: checks the assertion against the keys of the user the
    /// challenge was bound to (or, for discoverable sign-in, the user named by the handle).
    #[instrument(skip_all)]
    pub async fn finish_passkey_signin(
        &self,
        ctx: &RequestContext,
        credential: PublicKeyCredential,
    ) -> Result<Session> {
        let mut who = None;
        let result = self.passkey_signin(ctx, credential, &mut who).await;
        // Success is recorded with the session, in the same statement.
        if let Err(err) = &result {
            self.audit_signin(ctx, "webauthn", who, Err(err)).await;
        }
        observe(Purpose::Signin, result)
    }

    /// The sign-in itself; `who` is set once the challenge or handle names a user, so a
    /// failed attempt is logged against the account it targeted.
    async fn passkey_signin(
        &self,
        ctx: &RequestContext,
        credential: PublicKeyCredential,
        who: &mut Option<UserId>,
    ) -> Result<Session> {
        let rt = self.webauthn_runtime()?;
        super::check_credential_id(&credential.id, &credential.raw_id)?;
        let handle = handle_user(&credential);
        // The challenge, its user and the user's keys (fresh counters) in one statement. A
        // malformed handle still uses the challenge up, as any other bad answer does.
        let (taken, found) = self
            .take_challenge_with_user(
                &rt,
                &credential.response.client_data_json,
                Purpose::Signin,
                handle.as_ref().ok().copied().flatten(),
            )
            .await?;
        let handle_user = handle?;
        // Nhost: takes the user from the handle and fails with 500 when a non-resident key
        // sends none; the challenge's user is the authority here, the handle must agree.
        let user_id = match (taken.user_id, handle_user) {
            (Some(bound), Some(named)) if bound != named => {
                return Err(Error::InvalidRequest("userHandle names another user"));
            }
            (Some(bound), _) => bound,
            (None, Some(named)) => named,
            (None, None) => return Err(Error::InvalidRequest("userHandle required")),
        };
        *who = Some(user_id);
        let state: AssertionState = from_json(&taken.state)?;
        // A handle naming no user finds no keys: 400 as upstream, the same answer as for a key
        // that user does not have (a 401 here told which user ids exist).
        let Some(UserKeys { user, keys }) = found else {
            return Err(self.credential_not_found(&credential).await);
        };
        let used = self
            .verify_assertion(ctx, &rt, &user, &keys, &credential, state)
            .await?;
        if let Err(err) = check_user(&rt.config, &user, false) {
            // The assertion was genuine: its counter still counts for clone detection.
            self.store
                .record_key_use(user.id, &used.credential_id, &used.key_use)
                .await?;
            return Err(err);
        }
        let event = self.signin_event(ctx, "webauthn", user.id);
        self.start_session_after_assertion(&rt, user, &used, SessionKind::SignIn, Some(event))
            .await
    }

    /// `POST /elevate/webauthn`: options listing the bearer's own keys.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn begin_elevation(&self, claims: &AccessClaims) -> Result<RequestOptions> {
        let rt = self.webauthn_runtime()?;
        // As for sign-in: the ceremony is stored in the statement that reads the bearer and
        // its keys.
        let (json, state) = request_options(&rt)?;
        let challenge = self.new_challenge(&rt, &json, Purpose::Elevate, None, state)?;
        let found = self
            .store
            .insert_challenge_for(&challenge, UserRef::Id(claims.user_id))
            .await?
            .ok_or(Error::BadCredentials)?;
        // The bearer as `user_from_claims` checks it.
        check_user(&self.runtime().config, &found.user, false)?;
        if usable_credentials(&rt, &found.keys).is_empty() {
            return Err(Error::InvalidRequest("user has no security keys"));
        }
        with_allowed_credentials(json, &rt, &found.keys).map(RequestOptions)
    }

    /// `POST /elevate/webauthn/verify`: a new session whose access token carries
    /// `x-hasura-auth-elevated`.
    // Nhost: verifies against the user stored in the challenge but elevates the bearer, so
    // anyone's key could elevate a stolen token. Here the challenge must be the bearer's own
    // elevation challenge and the key one of the bearer's keys.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn finish_elevation(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        credential: PublicKeyCredential,
    ) -> Result<Session> {
        let result = self.elevation(ctx, claims, credential).await;
        // Success is recorded with the session, in the same statement.
        if let Err(err) = &result {
            let detail = json!({ "reason": audit::reason(err) });
            self.audit(Some(ctx), "elevation.failed", Some(claims.user_id), detail)
                .await;
        }
        observe(Purpose::Elevate, result)
    }

    async fn elevation(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        credential: PublicKeyCredential,
    ) -> Result<Session> {
        let rt = self.webauthn_runtime()?;
        super::check_credential_id(&credential.id, &credential.raw_id)?;
        let taken = self
            .take_challenge_with_user(
                &rt,
                &credential.response.client_data_json,
                Purpose::Elevate,
                Some(claims.user_id),
            )
            .await;
        let (taken, found) = match taken {
            Ok(taken) => taken,
            // A bearer that may not elevate says so before a missing challenge does.
            Err(err) => {
                self.user_from_claims(claims, false).await?;
                return Err(err);
            }
        };
        let Some(UserKeys { user, keys }) = found else {
            return Err(Error::BadCredentials);
        };
        if user.id != claims.user_id {
            return Err(Error::ChallengeGone);
        }
        // The bearer as `user_from_claims` checks it.
        check_user(&self.runtime().config, &user, false)?;
        if taken.user_id != Some(user.id) {
            return Err(Error::ChallengeGone);
        }
        if handle_user(&credential)?.is_some_and(|named| named != user.id) {
            return Err(Error::InvalidRequest("userHandle names another user"));
        }
        let state: AssertionState = from_json(&taken.state)?;
        let used = self
            .verify_assertion(ctx, &rt, &user, &keys, &credential, state)
            .await?;
        let event = self.event(Some(ctx), "session.elevated", Some(user.id), json!({}));
        self.start_session_after_assertion(&rt, user, &used, SessionKind::Elevate, Some(event))
            .await
    }

    /// Verifies the assertion against the user's current keys (read for this request, so
    /// their counters are fresh), and flags a counter that did not increase as a possibly
    /// cloned key. The caller stores the key's use (with the session it starts).
    async fn verify_assertion(
        &self,
        ctx: &RequestContext,
        rt: &Arc<Runtime>,
        user: &User,
        keys: &[SecurityKey],
        credential: &PublicKeyCredential,
        mut state: AssertionState,
    ) -> Result<UsedKey> {
        let user_id = user.id;
        state
            .authentication
            .set_allowed_credentials(usable_credentials(rt, keys));
        let now = self.now();
        let checked = {
            let (rt, credential) = (rt.clone(), credential.clone());
            blocking(move || {
                rt.webauthn
                    .authenticate_credential(&credential, &state.authentication)
            })
            .await?
        };
        let result = match checked {
            Ok(result) => result,
            // Nhost: ignores the counter. A counter that does not move forward means two
            // copies of the private key may exist.
            Err(WebauthnError::CredentialPossibleCompromise) => {
                warn!(event = "webauthn.counter_regressed", %user_id,
                      "signature counter did not increase: key may be cloned");
                let detail = json!({ "credentialId": credential.id });
                self.audit(
                    Some(ctx),
                    "webauthn.counter_regressed",
                    Some(user_id),
                    detail,
                )
                .await;
                return Err(Error::CounterRegressed);
            }
            Err(WebauthnError::CredentialNotFound) => {
                return Err(self.credential_not_found(credential).await);
            }
            Err(err) => return Err(Error::Ceremony(err)),
        };
        let key = keys
            .iter()
            .find(|k| k.credential_id.as_bytes() == result.cred_id().as_slice())
            .ok_or(Error::BadCredentials)?;
        // Backup eligibility is fixed when a credential is created; a change means a
        // different authenticator. Keys stored by upstream Nhost have no flag to compare.
        if key
            .backup_eligible
            .is_some_and(|be| be != result.backup_eligible())
        {
            return Err(Error::InvalidRequest("backup eligibility changed"));
        }
        let key_use = KeyUse {
            counter: result.counter(),
            backup_eligible: result.backup_eligible(),
            backup_state: result.backup_state(),
            now,
        };
        Ok(UsedKey {
            credential_id: key.credential_id.clone(),
            key_use,
        })
    }
}

impl Auth {
    /// The credential is not one of the expected user's keys. When no user at all has it,
    /// the page is told its id, so it can ask the authenticator to forget it (WebAuthn Signal
    /// API, `signalUnknownCredential`); a key of another user is never reported as unknown.
    async fn credential_not_found(&self, credential: &PublicKeyCredential) -> Error {
        let id = CredentialId::from_bytes(credential.raw_id.to_vec());
        match self.store.credential_registered(&id).await {
            Ok(false) => Error::UnknownCredential {
                credential_id: id.to_base64url(),
            },
            Ok(true) => Error::InvalidRequest("security key not found"),
            Err(err) => Error::Store(err),
        }
    }
}

/// The user named by the assertion's user handle, if it sent one.
fn handle_user(credential: &PublicKeyCredential) -> Result<Option<UserId>> {
    match credential.response.user_handle.as_deref() {
        None | Some([]) => Ok(None),
        Some(handle) => user_id_from_handle(handle)
            .map(Some)
            .ok_or(Error::InvalidRequest("userHandle")),
    }
}

/// Credentials webauthn-rs can use; a stored key it cannot read is skipped, not fatal.
fn usable_credentials(rt: &Runtime, keys: &[SecurityKey]) -> Vec<Credential> {
    let uv = policy(rt.config.webauthn.user_verification);
    keys.iter()
        .filter_map(|k| match to_credential(k, uv) {
            Ok(c) => Some(c),
            Err(err) => {
                warn!(key_id = %k.id, error = %err, "stored security key is unusable");
                None
            }
        })
        .collect()
}

/// Request options listing no credential, and the serialised state. The state never holds
/// the credentials (`verify_assertion` sets the user's keys as they are then), so the keys
/// can be added to the options afterwards (`with_allowed_credentials`), once read in the
/// statement that stores the ceremony. Backup-eligibility upgrades are allowed in the
/// library because keys from upstream have no stored flag; `verify_assertion` checks keys
/// that do.
fn request_options(rt: &Runtime) -> Result<(serde_json::Value, String)> {
    let builder = rt
        .webauthn
        .new_challenge_authenticate_builder(
            vec![],
            Some(policy(rt.config.webauthn.user_verification)),
        )
        .map_err(Error::Ceremony)?
        .allow_backup_eligible_upgrade(true);
    let (challenge, authentication) = rt
        .webauthn
        .generate_challenge_authenticate(builder)
        .map_err(Error::Ceremony)?;
    let json =
        serde_json::to_value(&challenge.public_key).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((json, to_json(&AssertionState { authentication })?))
}

/// The options with `allowCredentials` listing the usable keys, as webauthn-rs lists them;
/// `InvalidRequest` when there is none.
fn with_allowed_credentials(
    mut json: serde_json::Value,
    rt: &Runtime,
    keys: &[SecurityKey],
) -> Result<serde_json::Value> {
    let allowed: Vec<AllowCredentials> = usable_credentials(rt, keys)
        .into_iter()
        .map(|cred| AllowCredentials {
            type_: "public-key".to_string(),
            id: cred.cred_id.to_vec(),
            transports: cred.transports,
        })
        .collect();
    if allowed.is_empty() {
        return Err(Error::InvalidRequest("user has no security keys"));
    }
    let allowed = serde_json::to_value(allowed).map_err(|e| Error::Internal(e.to_string()))?;
    json.as_object_mut()
        .ok_or_else(|| Error::Internal("options are not an object".into()))?
        .insert("allowCredentials".into(), allowed);
    Ok(json)
}
