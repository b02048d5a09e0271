//! E-mail and password: sign-up, sign-in, changing and resetting the password, changing
//! the e-mail, and turning an anonymous user into a regular one.

use serde_json::json;
use tracing::{debug, instrument};

use super::error::{Error, Result};
use super::sessions::SessionKind;
use super::signup::{
    SignUpOptions, ValidSignUp, checked_redirect, email_allowed, email_valid, gravatar_url,
    validate_options, verification_ticket,
};
use super::tickets::{TicketKind, TicketMail, new_ticket, stored_ticket};
use super::{AccessClaims, Auth, Runtime, Session, blocking, check_user, hibp};
use crate::mail::Template;
use crate::model::{NewUser, RequestContext, Secret, UserId};
use crate::store::{Conflict, Deanonymize, Inserted, Revoke};

/// Passwords longer than this are refused (Nhost's OpenAPI `maxLength`); bcrypt reads at
/// most 72 bytes anyway.
const PASSWORD_MAX: usize = 50;

/// What `POST /signin/email-password` answers.
#[derive(Debug)]
pub enum PasswordSignIn {
    Session(Box<Session>),
    /// TOTP is active: the `mfaTotp:` ticket for `POST /signin/mfa/totp`.
    Mfa(Secret),
}

/// The sign-in method of `POST /user/deanonymize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeanonymizeMethod {
    EmailPassword,
    Passwordless,
}

async fn hash_password(cost: u32, password: Secret) -> Result<String> {
    blocking(move || bcrypt::hash(password.expose(), cost))
        .await?
        .map_err(|e| Error::Internal(format!("bcrypt: {e}")))
}

/// Checks `password` against `hash`, or against the runtime's dummy hash when there is none,
/// so unknown accounts cost the same time as wrong passwords.
async fn verify_password(rt: &Runtime, password: Secret, hash: Option<String>) -> Result<bool> {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| rt.dummy_password_hash.clone());
    let matches =
        blocking(move || bcrypt::verify(password.expose(), &hash).unwrap_or(false)).await?;
    Ok(known && matches)
}

impl Auth {
    /// Length (`AUTH_PASSWORD_MIN_LENGTH`, Nhost's maximum) and, when enabled, HIBP.
    async fn check_new_password(&self, rt: &Runtime, password: &Secret) -> Result<()> {
        let length = password.expose().chars().count();
        if length < rt.config.password.min_length {
            return Err(Error::PasswordTooShort);
        }
        if length > PASSWORD_MAX {
            return Err(Error::InvalidRequest("password too long"));
        }
        if rt.config.password.hibp_enabled {
            hibp::check(&rt.http, &rt.config.password, password).await?;
        }
        Ok(())
    }

    /// The checks a new e-mail-and-password account passes (sign-up and deanonymize alike),
    /// then the password's hash.
    async fn new_password_account(
        &self,
        rt: &Runtime,
        email: &str,
        password: Secret,
        options: &SignUpOptions,
    ) -> Result<(ValidSignUp, String)> {
        if !email_valid(email) {
            return Err(Error::InvalidRequest("email"));
        }
        self.check_new_password(rt, &password).await?;
        let signup = validate_options(&rt.config, email, options)?;
        if !email_allowed(&rt.config, email) {
            return Err(Error::BadCredentials);
        }
        if self.store.find_user_by_email(email).await?.is_some() {
            return Err(Error::EmailTaken);
        }
        let password_hash = hash_password(rt.config.password.bcrypt_cost, password).await?;
        Ok((signup, password_hash))
    }

    pub(crate) async fn record_credential_change(
        &self,
        ctx: &RequestContext,
        event: &'static str,
        user_id: UserId,
    ) -> Result<()> {
        tracing::info!(event, %user_id, "credential changed");
        self.audit(Some(ctx), event, Some(user_id), json!({})).await;
        Ok(())
    }

    /// `POST /signup/email-password`: `None` when the e-mail must be verified first (a mail
    /// is sent).
    #[instrument(skip_all)]
    pub async fn sign_up_with_password(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: Secret,
        options: SignUpOptions,
    ) -> Result<Option<Session>> {
        let rt = self.runtime();
        if rt.config.disable_signup {
            return Err(Error::SignupDisabled);
        }
        let (signup, password_hash) = self
            .new_password_account(&rt, email, password, &options)
            .await?;
        let now = self.now();
        let needs_verification =
            rt.config.email_verification_required || rt.config.disable_new_users;
        let ticket = needs_verification.then(|| verification_ticket(now));
        let user_id = UserId::new_random();
        // No mail when new users start disabled: the ticket waits for an administrator.
        let mail = match &ticket {
            Some((clear, _, expires)) if !rt.config.disable_new_users => {
                self.verification_mail(&rt, user_id, email, &signup, clear.clone(), *expires)
            }
            _ => None,
        };
        let user = NewUser {
            id: user_id,
            display_name: signup.display_name.clone(),
            avatar_url: gravatar_url(&rt.config, email),
            locale: signup.locale.clone(),
            email: Some(email.to_owned()),
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
            password_hash: Some(password_hash),
            mail,
            provider: None,
            now,
        };
        let pending = (!needs_verification).then(|| self.pending_session(&rt, user.id, now));
        let detail = json!({ "method": "password" });
        let event = self.event(Some(ctx), "user.signed_up", Some(user.id), detail);
        match self
            .store
            .create_user(&user, None, pending.as_ref().map(|p| &p.row), Some(&event))
            .await?
        {
            Inserted::New(_) => {}
            Inserted::Conflict(_) => return Err(Error::EmailTaken),
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

    /// `POST /signin/email-password`. Unknown addresses, users without a password and wrong
    /// passwords all cost one bcrypt verification and answer `BadCredentials`.
    #[instrument(skip_all)]
    pub async fn sign_in_with_password(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: Secret,
    ) -> Result<PasswordSignIn> {
        let mut who = None;
        let result = self.password_signin(ctx, email, password, &mut who).await;
        match &result {
            Ok(PasswordSignIn::Mfa(_)) => {
                let detail = json!({ "method": "password" });
                self.audit(Some(ctx), "signin.mfa_required", who, detail)
                    .await;
            }
            // Recorded with the session, in the same statement.
            Ok(PasswordSignIn::Session(_)) => {}
            Err(err) => self.audit_signin(ctx, "password", who, Err(err)).await,
        }
        result
    }

    /// The sign-in itself; `who` is set once the e-mail names an existing user, so a failed
    /// attempt is logged against the account it targeted.
    async fn password_signin(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: Secret,
        who: &mut Option<UserId>,
    ) -> Result<PasswordSignIn> {
        let rt = self.runtime();
        let user = self.store.find_user_by_email(email).await?;
        *who = user.as_ref().map(|u| u.id);
        let hash = match &user {
            Some(user) => self.store.password_hash_of(user.id).await?,
            None => None,
        };
        let matches = verify_password(&rt, password, hash).await?;
        let Some(user) = user.filter(|_| matches) else {
            return Err(Error::BadCredentials);
        };
        check_user(&rt.config, &user, false)?;
        if user.active_mfa_type.as_deref() == Some("totp") {
            // Nhost keeps this ticket in clear in users.ticket, shared with e-mail tickets;
            // here it is hashed in its own slot (see auth::mfa).
            return Ok(PasswordSignIn::Mfa(self.new_mfa_ticket(&user).await?));
        }
        let event = self.signin_event(ctx, "password", user.id);
        let session = self
            .start_session(&rt, user, SessionKind::SignIn, Some(event))
            .await?;
        Ok(PasswordSignIn::Session(Box::new(session)))
    }

    /// `POST /user/password`: the bearer changes its own password (elevated when required),
    /// or, without a usable bearer, a `passwordReset:` ticket from a mail does.
    #[instrument(skip_all)]
    pub async fn change_password(
        &self,
        ctx: &RequestContext,
        claims: Option<&AccessClaims>,
        new_password: Secret,
        ticket: Option<&str>,
    ) -> Result<()> {
        let rt = self.runtime();
        self.check_new_password(&rt, &new_password).await?;
        // Nhost: a bearer that fails the elevation check falls through to the ticket branch.
        if let Some(claims) = claims {
            let user = self.user_from_claims(claims, false).await?;
            match self.require_elevation(claims, user.id, false).await {
                Ok(()) => {
                    return self
                        .set_own_password(ctx, &rt, claims, user.id, new_password)
                        .await;
                }
                Err(Error::ElevationRequired) if ticket.is_some() => {}
                Err(err) => return Err(err),
            }
        }
        let Some(ticket) = ticket else {
            return Err(Error::InvalidRequest("ticket"));
        };
        let Some((TicketKind::PasswordReset, stored)) = stored_ticket(ticket) else {
            return Err(Error::InvalidTicket);
        };
        let hash = hash_password(rt.config.password.bcrypt_cost, new_password).await?;
        let user_id = self
            .store
            .reset_password_with_ticket(&stored, &hash, self.now())
            .await?
            .ok_or(Error::InvalidTicket)?;
        self.record_credential_change(ctx, "password.changed", user_id)
            .await
    }

    async fn set_own_password(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        claims: &AccessClaims,
        user_id: UserId,
        new_password: Secret,
    ) -> Result<()> {
        let hash = hash_password(rt.config.password.bcrypt_cost, new_password).await?;
        let revoke = if rt.config.password.revoke_sessions_on_change {
            Revoke::AllBut(claims.session_id)
        } else {
            Revoke::None
        };
        if !self
            .store
            .set_password(user_id, &hash, revoke, self.now())
            .await?
        {
            return Err(Error::BadCredentials);
        }
        self.record_credential_change(ctx, "password.changed", user_id)
            .await
    }

    /// `POST /user/password/reset`: always `Ok` for a well-formed request; a mail with a
    /// `passwordReset:` ticket (1 h) only for an existing, enabled, allowed user.
    #[instrument(skip_all)]
    pub async fn send_password_reset(
        &self,
        email: &str,
        redirect_to: Option<String>,
    ) -> Result<()> {
        let rt = self.runtime();
        if !email_valid(email) {
            return Err(Error::InvalidRequest("email"));
        }
        let redirect_to = checked_redirect(&rt.config, redirect_to)?;
        let user = match self.store.find_user_by_email(email).await? {
            Some(u) if !u.disabled && !u.is_anonymous && email_allowed(&rt.config, email) => u,
            _ => {
                debug!("no reset mail: no such enabled user");
                return Ok(());
            }
        };
        let ttl = chrono::Duration::hours(1);
        self.mail_new_ticket(&rt, &user, TicketKind::PasswordReset, ttl, &redirect_to)
            .await
    }

    /// `POST /user/email/change`: stores the new address and mails an `emailConfirmChange:`
    /// ticket (1 h) to it; `GET /verify` with that ticket makes the change.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn change_email(
        &self,
        claims: &AccessClaims,
        new_email: &str,
        redirect_to: Option<String>,
    ) -> Result<()> {
        let rt = self.runtime();
        let user = self.user_from_claims(claims, false).await?;
        self.require_elevation(claims, user.id, false).await?;
        if !email_valid(new_email) {
            return Err(Error::InvalidRequest("newEmail"));
        }
        let redirect_to = checked_redirect(&rt.config, redirect_to)?;
        if !email_allowed(&rt.config, new_email) {
            return Err(Error::BadCredentials);
        }
        if self.store.find_user_by_email(new_email).await?.is_some() {
            return Err(Error::EmailTaken);
        }
        let now = self.now();
        let (clear, stored, expires_at) = new_ticket(
            TicketKind::EmailConfirmChange,
            chrono::Duration::hours(1),
            now,
        );
        let mail = TicketMail {
            template: Template::EmailConfirmChange,
            link_type: "emailConfirmChange",
            user_id: user.id,
            to: new_email,
            display_name: &user.display_name,
            locale: &user.locale,
            redirect_to: &redirect_to,
            new_email: Some(new_email),
        };
        let mail = self.ticket_mail(&rt, mail, clear, expires_at);
        if !self
            .store
            .set_new_email(user.id, new_email, &stored, expires_at, now, mail.as_ref())
            .await?
        {
            return Err(Error::BadCredentials);
        }
        self.deliver_now(&rt, mail).await;
        Ok(())
    }

    /// `POST /user/deanonymize`: the anonymous bearer gets an e-mail and password. While
    /// verification is required its sessions end and an `email-verify` mail is sent.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn deanonymize(
        &self,
        claims: &AccessClaims,
        method: DeanonymizeMethod,
        email: &str,
        password: Option<Secret>,
        options: SignUpOptions,
    ) -> Result<()> {
        let rt = self.runtime();
        let user = self.user_from_claims(claims, true).await?;
        if !user.is_anonymous {
            return Err(Error::UserNotAnonymous);
        }
        if method == DeanonymizeMethod::Passwordless {
            // Upstream ignores AUTH_EMAIL_PASSWORDLESS_ENABLED here; the flag covers every
            // way to get a magic link.
            if !rt.config.passwordless_email_enabled {
                return Err(Error::EndpointDisabled);
            }
            return self
                .deanonymize_passwordless(&rt, user.id, email, &options)
                .await;
        }
        let password = password.ok_or(Error::InvalidRequest("password"))?;
        let (signup, password_hash) = self
            .new_password_account(&rt, email, password, &options)
            .await?;
        let now = self.now();
        let needs_verification = rt.config.email_verification_required;
        let ticket = needs_verification.then(|| verification_ticket(now));
        let mail = ticket.as_ref().and_then(|(clear, _, expires)| {
            self.verification_mail(&rt, user.id, email, &signup, clear.clone(), *expires)
        });
        let change = Deanonymize {
            email: email.to_owned(),
            password_hash: Some(password_hash),
            display_name: signup.display_name.clone(),
            avatar_url: gravatar_url(&rt.config, email),
            locale: signup.locale.clone(),
            default_role: signup.default_role.clone(),
            roles: signup.allowed_roles.clone(),
            metadata: signup.metadata.clone(),
            ticket: ticket
                .as_ref()
                .map(|(_, stored, expires)| (stored.clone(), *expires)),
            revoke_sessions: needs_verification,
            mail,
            now,
        };
        match self.store.deanonymize(user.id, &change).await? {
            Inserted::New(true) => {}
            Inserted::New(false) => return Err(Error::UserNotAnonymous),
            Inserted::Conflict(
                Conflict::Email | Conflict::CredentialId | Conflict::ProviderAccount,
            ) => {
                return Err(Error::EmailTaken);
            }
        }
        self.deliver_now(&rt, change.mail).await;
        Ok(())
    }
}
