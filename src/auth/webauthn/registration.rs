//! Registration ceremonies: passkey sign-up and adding a key to a signed-in user.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use uuid::Uuid;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, CredentialID, PublicKeyCredentialDescriptor,
    RegisterPublicKeyCredential, RegistrationState, ResidentKeyRequirement,
};

use super::credential::{attested_key, format_name, transport_names};
use super::{
    account_names, client_challenge, expiry, from_json, observe, policy, to_json, user_handle,
};
use crate::auth::error::{Error, Result};
use crate::auth::sessions::SessionKind;
use crate::auth::signup::{
    SignUpOptions, email_allowed, email_valid, gravatar_url, validate_options, verification_ticket,
};
use crate::auth::{AccessClaims, Auth, Runtime, Session, blocking, check_user};
use crate::config::Attestation;
use crate::model::{
    CredentialId, NewChallenge, NewSecurityKey, NewUser, Purpose, RequestContext, SecurityKeyId,
    UserId,
};
use crate::store::{Conflict, Inserted, UserKeys, UserRef};

/// `PublicKeyCredentialCreationOptions` as JSON, ready for `navigator.credentials.create`.
pub struct CreationOptions(pub serde_json::Value);

/// A key added to a signed-in user.
pub struct RegisteredKey {
    pub id: SecurityKeyId,
    pub nickname: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SignupState {
    registration: RegistrationState,
    user_id: Uuid,
    email: String,
    options: SignUpOptions,
}

#[derive(Serialize, Deserialize)]
struct AddKeyState {
    registration: RegistrationState,
}

/// Nicknames are labels in a list; a bound keeps rows and responses small.
const NICKNAME_MAX: usize = 255;

impl Auth {
    /// The runtime, if the WebAuthn endpoints are enabled.
    pub(crate) fn webauthn_runtime(&self) -> Result<std::sync::Arc<Runtime>> {
        let rt = self.runtime();
        if rt.config.webauthn.enabled {
            Ok(rt)
        } else {
            Err(Error::EndpointDisabled)
        }
    }

    /// `POST /signup/webauthn`: creation options for a new account with this e-mail.
    #[instrument(skip_all)]
    pub async fn begin_passkey_signup(
        &self,
        email: &str,
        options: SignUpOptions,
    ) -> Result<CreationOptions> {
        let rt = self.webauthn_runtime()?;
        if rt.config.disable_signup {
            return Err(Error::SignupDisabled);
        }
        if !email_valid(email) {
            return Err(Error::InvalidRequest("email"));
        }
        let signup = validate_options(&rt.config, email, &options)?;
        if !email_allowed(&rt.config, email) {
            return Err(Error::BadCredentials);
        }
        let user_id = UserId::new_random();
        let (json, registration) =
            creation_options(&rt, user_id, email, &signup.display_name, vec![])?;
        let state = SignupState {
            registration,
            user_id: user_id.as_uuid(),
            email: email.to_owned(),
            options,
        };
        let challenge = self.new_challenge(&rt, &json, Purpose::Signup, None, to_json(&state)?)?;
        // Nhost: only notices a taken e-mail at verify, after the authenticator has already
        // created an orphan passkey. Checked here too, in the statement that stores the
        // ceremony (and again, atomically, at verify).
        if !self
            .store
            .insert_signup_challenge(&challenge, email)
            .await?
        {
            return Err(Error::EmailTaken);
        }
        Ok(CreationOptions(json))
    }

    /// `POST /signup/webauthn/verify`: creates the user and its first key in one transaction.
    /// Returns no session when the e-mail must be verified first (a mail is sent).
    #[instrument(skip_all)]
    pub async fn finish_passkey_signup(
        &self,
        ctx: &RequestContext,
        credential: RegisterPublicKeyCredential,
        options: Option<SignUpOptions>,
        nickname: Option<String>,
    ) -> Result<Option<Session>> {
        observe(
            Purpose::Signup,
            self.passkey_signup(ctx, credential, options, nickname)
                .await,
        )
    }

    async fn passkey_signup(
        &self,
        ctx: &RequestContext,
        credential: RegisterPublicKeyCredential,
        options: Option<SignUpOptions>,
        nickname: Option<String>,
    ) -> Result<Option<Session>> {
        let rt = self.webauthn_runtime()?;
        if rt.config.disable_signup {
            return Err(Error::SignupDisabled);
        }
        let nickname = checked_nickname(nickname)?;
        super::check_credential_id(&credential.id, &credential.raw_id)?;
        let taken = self
            .take_challenge_for(&rt, &credential.response.client_data_json, Purpose::Signup)
            .await?;
        let state: SignupState = from_json(&taken.state)?;
        let options = state.options.merged_with(options.unwrap_or_default());
        let signup = validate_options(&rt.config, &state.email, &options)?;
        let now = self.now();
        // Unnamed sign-up keys get the authenticator's name, or '' as Nhost stores them.
        let key = self
            .verified_key(
                &rt,
                &credential,
                state.registration,
                nickname,
                Some(String::new()),
            )
            .await?;
        let user_id = UserId::from_uuid(state.user_id);
        let needs_verification =
            rt.config.email_verification_required || rt.config.disable_new_users;
        let ticket = needs_verification.then(|| verification_ticket(now));
        // No mail when new users start disabled: the ticket waits for an administrator.
        let mail = match &ticket {
            Some((clear, _, expires)) if !rt.config.disable_new_users => {
                let (email, clear) = (&state.email, clear.clone());
                self.verification_mail(&rt, user_id, email, &signup, clear, *expires)
            }
            _ => None,
        };
        let user = NewUser {
            id: user_id,
            display_name: signup.display_name.clone(),
            avatar_url: gravatar_url(&rt.config, &state.email),
            locale: signup.locale.clone(),
            email: Some(state.email.clone()),
            email_verified: false,
            phone_number: None,
            is_anonymous: false,
            disabled: rt.config.disable_new_users,
            default_role: signup.default_role.clone(),
            roles: signup.allowed_roles.clone(),
            metadata: signup.metadata.clone(),
            ticket: ticket
                .as_ref()
                .map(|(_, stored, expires)| (stored.clone(), *expires)),
            password_hash: None,
            mail,
            provider: None,
            now,
        };
        let pending = (!needs_verification).then(|| self.pending_session(&rt, user_id, now));
        let detail = json!({ "method": "webauthn", "keyId": key.id.to_string() });
        let event = self.event(Some(ctx), "user.signed_up", Some(user_id), detail);
        match self
            .store
            .create_user(
                &user,
                Some(&key),
                pending.as_ref().map(|p| &p.row),
                Some(&event),
            )
            .await?
        {
            Inserted::New(_) => {}
            Inserted::Conflict(Conflict::Email) => return Err(Error::EmailTaken),
            Inserted::Conflict(Conflict::CredentialId | Conflict::ProviderAccount) => {
                return Err(Error::InvalidRequest("credential already registered"));
            }
        }
        self.after_session_write(now, true).await?;
        if rt.config.disable_new_users {
            return Err(Error::UserDisabled);
        }
        let Some(pending) = pending else {
            self.deliver_now(&rt, user.mail).await;
            return Ok(None);
        };
        self.finish_session(&rt, user.to_user(), pending, SessionKind::SignUp)
            .await
            .map(Some)
    }

    /// `POST /user/webauthn/add`: creation options for another key of the bearer, excluding
    /// the keys it already has.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn begin_key_registration(&self, claims: &AccessClaims) -> Result<CreationOptions> {
        let rt = self.webauthn_runtime()?;
        // The ceremony is stored in the statement that reads the bearer and its keys; the
        // account names and the exclude list, which come from them, are filled in after. The
        // stored state lists no key to exclude: the unique credential id refuses a key stored
        // twice (for anyone) at verify.
        let placeholder = claims.user_id.to_string();
        let (json, registration) =
            creation_options(&rt, claims.user_id, &placeholder, &placeholder, vec![])?;
        let state = to_json(&AddKeyState { registration })?;
        let challenge = self.new_challenge(&rt, &json, Purpose::AddKey, None, state)?;
        let found = self
            .store
            .insert_challenge_for(&challenge, UserRef::Id(claims.user_id))
            .await?
            .ok_or(Error::BadCredentials)?;
        // The bearer as `user_from_claims` checks it.
        check_user(&rt.config, &found.user, false)?;
        self.elevation_check(claims, found.keys.len(), true)?;
        for_account(json, &found).map(CreationOptions)
    }

    /// `POST /user/webauthn/verify`: stores the new key. The challenge must have been issued
    /// to this same bearer.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn finish_key_registration(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        credential: RegisterPublicKeyCredential,
        nickname: Option<String>,
    ) -> Result<RegisteredKey> {
        observe(
            Purpose::AddKey,
            self.key_registration(ctx, claims, credential, nickname)
                .await,
        )
    }

    async fn key_registration(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        credential: RegisterPublicKeyCredential,
        nickname: Option<String>,
    ) -> Result<RegisteredKey> {
        let rt = self.webauthn_runtime()?;
        let nickname = checked_nickname(nickname)?;
        super::check_credential_id(&credential.id, &credential.raw_id)?;
        // The challenge, the bearer and its keys in one statement.
        let taken = self
            .take_challenge_with_user(
                &rt,
                &credential.response.client_data_json,
                Purpose::AddKey,
                Some(claims.user_id),
            )
            .await;
        let (taken, found) = match taken {
            Ok(taken) => taken,
            // A bearer that may not add keys says so before a missing challenge does.
            Err(err) => {
                let user = self.user_from_claims(claims, false).await?;
                self.require_elevation(claims, user.id, true).await?;
                return Err(err);
            }
        };
        let Some(UserKeys { user, keys }) = found else {
            return Err(Error::BadCredentials);
        };
        check_user(&rt.config, &user, false)?;
        self.elevation_check(claims, keys.len(), true)?;
        if user.id != claims.user_id || taken.user_id != Some(user.id) {
            return Err(Error::ChallengeGone);
        }

        let state: AddKeyState = from_json(&taken.state)?;
        // Unnamed keys get the authenticator's name, or NULL as Nhost stores them.
        let key = self
            .verified_key(&rt, &credential, state.registration, nickname, None)
            .await?;
        let detail = json!({ "keyId": key.id.to_string() });
        let event = self.event(Some(ctx), "security_key.added", Some(user.id), detail);
        match self.store.add_key(user.id, &key, Some(&event)).await? {
            Inserted::New(id) => {
                self.sometimes_sweep_audit_log().await;
                Ok(RegisteredKey {
                    id,
                    nickname: key.nickname,
                })
            }
            Inserted::Conflict(_) => Err(Error::InvalidRequest("credential already registered")),
        }
    }

    /// Has webauthn-rs verify the attestation, and builds the row to store. Without a
    /// `nickname` the key is named after its authenticator (by AAGUID), else `unnamed`.
    async fn verified_key(
        &self,
        rt: &Arc<Runtime>,
        credential: &RegisterPublicKeyCredential,
        registration: RegistrationState,
        nickname: Option<String>,
        unnamed: Option<String>,
    ) -> Result<NewSecurityKey> {
        let checked = {
            let (rt, credential) = (rt.clone(), credential.clone());
            blocking(move || {
                let cas = rt.attestation.as_ref().map(|t| &t.cas);
                rt.webauthn
                    .register_credential(&credential, &registration, cas)
            })
            .await?
        };
        let trust = rt.attestation.as_ref();
        let verified = checked.map_err(|err| match err {
            // The statement itself was sound, but proves no allowed model.
            err if trust.is_some() && untrusted_attestation(&err) => Error::AttestationRefused,
            err => Error::Ceremony(err),
        })?;
        let attested = attested_key(&credential.response.attestation_object)?;
        if let Some(trust) = trust
            && !trust.allows(attested.aaguid)
        {
            return Err(Error::AttestationRefused);
        }
        let nickname = nickname
            .or_else(|| self.authenticator_name(attested.aaguid).map(str::to_owned))
            .or(unnamed);
        Ok(NewSecurityKey {
            id: SecurityKeyId::new_random(),
            credential_id: CredentialId::from_bytes(verified.cred_id.clone()),
            public_key: attested.cose_key,
            counter: verified.counter,
            transports: transport_names(&credential.response.transports),
            nickname,
            aaguid: attested.aaguid,
            backup_eligible: verified.backup_eligible,
            backup_state: verified.backup_state,
            user_verified: verified.user_verified,
            attestation_format: format_name(&verified.attestation_format),
            now: self.now(),
        })
    }

    /// Stores a begun ceremony under its challenge, bound to flow, user, RP ID and expiry.
    pub(crate) async fn store_challenge(
        &self,
        rt: &Runtime,
        options: &serde_json::Value,
        purpose: Purpose,
        user_id: Option<UserId>,
        state: String,
    ) -> Result<()> {
        let challenge = self.new_challenge(rt, options, purpose, user_id, state)?;
        self.store.insert_challenge(&challenge).await?;
        Ok(())
    }

    /// The row that stores a begun ceremony (see `store_challenge`).
    pub(crate) fn new_challenge(
        &self,
        rt: &Runtime,
        options: &serde_json::Value,
        purpose: Purpose,
        user_id: Option<UserId>,
        state: String,
    ) -> Result<NewChallenge> {
        let challenge = options
            .get("challenge")
            .and_then(|c| c.as_str())
            .ok_or_else(|| Error::Internal("options without challenge".into()))?;
        let now = self.now();
        metrics::counter!("latchkey_webauthn_ceremonies_total",
            "flow" => purpose.as_str(), "outcome" => "started")
        .increment(1);
        Ok(NewChallenge {
            challenge: challenge.to_owned(),
            purpose,
            user_id,
            rp_id: rt.config.webauthn.rp_id.clone(),
            state,
            expires_at: expiry(now, rt.config.webauthn.timeout),
            now,
        })
    }

    /// Takes (and so consumes) the stored ceremony the client's `clientDataJSON` names.
    pub(crate) async fn take_challenge_for(
        &self,
        rt: &Runtime,
        client_data_json: &[u8],
        purpose: Purpose,
    ) -> Result<crate::model::Challenge> {
        let challenge = client_challenge(client_data_json)?;
        let taken = self
            .store
            .take_challenge(&challenge, purpose, self.now())
            .await?
            .ok_or(Error::ChallengeGone)?;
        // A challenge issued under another RP ID (before a config change) cannot verify.
        if taken.rp_id != rt.config.webauthn.rp_id {
            return Err(Error::ChallengeGone);
        }
        Ok(taken)
    }
}

impl Auth {
    /// `take_challenge_for`, with the user the challenge is bound to (else `user_id`) and that
    /// user's keys, read in the same statement.
    pub(crate) async fn take_challenge_with_user(
        &self,
        rt: &Runtime,
        client_data_json: &[u8],
        purpose: Purpose,
        user_id: Option<UserId>,
    ) -> Result<(crate::model::Challenge, Option<UserKeys>)> {
        let challenge = client_challenge(client_data_json)?;
        let (taken, found) = self
            .store
            .take_challenge_with_user(&challenge, purpose, self.now(), user_id)
            .await?
            .ok_or(Error::ChallengeGone)?;
        if taken.rp_id != rt.config.webauthn.rp_id {
            return Err(Error::ChallengeGone);
        }
        Ok((taken, found))
    }
}

pub(super) fn checked_nickname(nickname: Option<String>) -> Result<Option<String>> {
    match nickname {
        Some(n) if n.chars().count() > NICKNAME_MAX => Err(Error::InvalidRequest("nickname")),
        other => Ok(other),
    }
}

/// webauthn-rs errors that mean "not a trusted, allowed model" rather than "malformed".
fn untrusted_attestation(err: &WebauthnError) -> bool {
    use WebauthnError as W;
    matches!(
        err,
        W::MissingAttestationCaList
            | W::AttestationNotVerifiable
            | W::AttestationUntrustedAaguid
            | W::AttestationFormatMissingAaguid
            | W::AttestationCertificateTrustStoreEmpty
            | W::AttestationChainNotTrusted(_)
            | W::AttestationLeafCertMissing
            | W::AttestationNotSupported
    )
}

/// `AUTH_WEBAUTHN_ATTESTATION`. Nhost always asks `indirect` and never looks at the answer;
/// the default here is `none`, unless an allow-list needs the statement.
fn conveyance(attestation: Attestation) -> AttestationConveyancePreference {
    match attestation {
        Attestation::None => AttestationConveyancePreference::None,
        Attestation::Indirect => AttestationConveyancePreference::Indirect,
        Attestation::Direct => AttestationConveyancePreference::Direct,
    }
}

/// Creation options: the configured attestation, resident key preferred, and `user.id` = the
/// user's handle (its base64url is the UUID string, see `user_handle`).
/// Add-key options made before the bearer was read (`begin_key_registration`), with the
/// account's names and its keys to exclude, as webauthn-rs lists them.
fn for_account(mut json: serde_json::Value, found: &UserKeys) -> Result<serde_json::Value> {
    let (name, display_name) = account_names(&found.user);
    let exclude: Vec<PublicKeyCredentialDescriptor> = found
        .keys
        .iter()
        .map(|k| PublicKeyCredentialDescriptor {
            type_: "public-key".to_string(),
            id: k.credential_id.as_bytes().to_vec(),
            transports: None,
        })
        .collect();
    let broken = || Error::Internal("creation options are not an object".into());
    let options = json.as_object_mut().ok_or_else(broken)?;
    let user = options
        .get_mut("user")
        .and_then(|u| u.as_object_mut())
        .ok_or_else(broken)?;
    user.insert("name".into(), name.into());
    user.insert("displayName".into(), display_name.into());
    if !exclude.is_empty() {
        let exclude = serde_json::to_value(exclude).map_err(|e| Error::Internal(e.to_string()))?;
        options.insert("excludeCredentials".into(), exclude);
    }
    Ok(json)
}

fn creation_options(
    rt: &Runtime,
    user_id: UserId,
    name: &str,
    display_name: &str,
    exclude: Vec<CredentialID>,
) -> Result<(serde_json::Value, RegistrationState)> {
    let builder = rt
        .webauthn
        .new_challenge_register_builder(&user_handle(user_id), name, display_name)
        .map_err(Error::Ceremony)?
        .attestation(conveyance(rt.config.webauthn.attestation))
        .user_verification_policy(policy(rt.config.webauthn.user_verification))
        .exclude_credentials((!exclude.is_empty()).then_some(exclude));
    let (challenge, state) = rt
        .webauthn
        .generate_challenge_register(builder)
        .map_err(Error::Ceremony)?;
    let mut options = challenge.public_key;
    // Discoverable credentials make usernameless sign-in possible; "preferred" never blocks
    // authenticators that cannot store one.
    if let Some(selection) = options.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Preferred);
        selection.require_resident_key = false;
    }
    let json = serde_json::to_value(&options).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((json, state))
}
