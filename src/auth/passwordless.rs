//! Passwordless e-mail sign-in (issue #17): magic links (`POST /signin/passwordless/email`,
//! redeemed by `GET /verify`) and e-mail codes (`POST /signin/otp/email` and its verify).
//!
//! Beyond upstream: codes and links are stored only as hashes, in their own slot per kind
//! (a code request never destroys a pending verification or magic link), valid
//! `LATCHKEY_OTP_TTL` (10 minutes by default), single-use, bound to the address they were sent
//! to, and a code dies after `MAX_ATTEMPTS` wrong guesses counted in the database.

use rand::Rng as _;
use serde_json::json;
use tracing::{debug, instrument};

use super::error::{Error, Result};
use super::sessions::{PendingSession, SessionKind};
use super::signup::{
    SignUpOptions, ValidSignUp, email_allowed, email_valid, gravatar_url, user_email_allowed,
    validate_options,
};
use super::tickets::TicketMail;
use super::tokens::hash_refresh_token;
use super::{Auth, Runtime, Session, check_user};
use crate::mail::{Email, Template};
use crate::model::{CodeKind, NewCode, NewUser, RequestContext, Secret, Timestamp, User, UserId};
use crate::store::{Deanonymize, Inserted, TicketRedemption, TicketSession};

/// Wrong guesses a code survives: the next one, right or not, finds it dead.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// A 6-digit code, uniform over 000000–999999, from the operating system's CSPRNG.
pub(super) fn new_code() -> Secret {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    Secret::new(format!("{n:06}"))
}

/// The stored form of a code: bound to its user and kind, so equal codes of two users (or
/// kinds) never share a hash.
pub(crate) fn code_hash(kind: CodeKind, user_id: UserId, code: &str) -> String {
    hash_refresh_token(&format!("{}:{user_id}:{code}", kind.as_str()))
}

impl Auth {
    /// `POST /signin/passwordless/email`: mails a magic link, creating the user if missing.
    #[instrument(skip_all)]
    pub async fn send_magic_link(
        &self,
        ctx: &RequestContext,
        email: &str,
        options: SignUpOptions,
    ) -> Result<()> {
        let rt = self.runtime();
        if !rt.config.passwordless_email_enabled {
            return Err(Error::EndpointDisabled);
        }
        let Some((user, signup)) = self.passwordless_user(ctx, &rt, email, &options).await? else {
            return Ok(());
        };
        self.mail_magic_link(&rt, &user, &signup.redirect_to).await
    }

    /// Stores a new magic link for `user` (replacing its earlier one) with its mail, and
    /// makes the request's attempt at the mail.
    pub(crate) async fn mail_magic_link(
        &self,
        rt: &Runtime,
        user: &User,
        redirect_to: &str,
    ) -> Result<()> {
        let Some(address) = user.email.as_deref() else {
            return Ok(());
        };
        let now = self.now();
        let clear = Secret::new(format!("passwordlessEmail:{}", uuid::Uuid::new_v4()));
        let hash = hash_refresh_token(clear.expose());
        let code = self.new_code_row(rt, user.id, CodeKind::MagicLink, address, hash, now);
        let mail = TicketMail {
            template: Template::SigninPasswordless,
            link_type: "signinPasswordless",
            user_id: user.id,
            to: address,
            display_name: &user.display_name,
            locale: &user.locale,
            redirect_to,
            new_email: None,
        };
        let mail = self.ticket_mail(rt, mail, clear, code.expires_at);
        if self.store.replace_code(&code, mail.as_ref()).await? {
            self.deliver_now(rt, mail).await;
        }
        Ok(())
    }

    /// `POST /signin/otp/email`: mails a 6-digit code, creating the user if missing.
    #[instrument(skip_all)]
    pub async fn send_email_otp(
        &self,
        ctx: &RequestContext,
        email: &str,
        options: SignUpOptions,
    ) -> Result<()> {
        let rt = self.runtime();
        if !rt.config.otp_email_enabled {
            return Err(Error::EndpointDisabled);
        }
        let Some((user, signup)) = self.passwordless_user(ctx, &rt, email, &options).await? else {
            return Ok(());
        };
        let Some(address) = user.email.as_deref() else {
            return Ok(());
        };
        let now = self.now();
        let otp = new_code();
        let hash = code_hash(CodeKind::EmailOtp, user.id, otp.expose());
        let code = self.new_code_row(&rt, user.id, CodeKind::EmailOtp, address, hash, now);
        let email = Email {
            template: Template::SigninOtp,
            user_id: user.id,
            to: address.to_owned(),
            display_name: user.display_name.clone(),
            locale: user.locale.clone(),
            link: Secret::new(String::new()),
            ticket: otp,
            redirect_to: signup.redirect_to.clone(),
            new_email: None,
        };
        let mail = self.outbox_mail(&rt, &email, code.expires_at);
        if self.store.replace_code(&code, mail.as_ref()).await? {
            self.deliver_now(&rt, mail).await;
        }
        Ok(())
    }

    /// `POST /signin/otp/email/verify`: a session for a right, live code of the address.
    #[instrument(skip_all)]
    pub async fn verify_email_otp(
        &self,
        ctx: &RequestContext,
        email: &str,
        otp: &str,
    ) -> Result<Session> {
        let rt = self.runtime();
        let mut who = None;
        let result = if rt.config.otp_email_enabled {
            self.email_otp_signin(ctx, &rt, email, otp, &mut who).await
        } else {
            Err(Error::EndpointDisabled)
        };
        self.audit_signin(ctx, "otp-email", who, result.as_ref().map(drop))
            .await;
        result
    }

    async fn email_otp_signin(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        email: &str,
        otp: &str,
        who: &mut Option<UserId>,
    ) -> Result<Session> {
        let Some(user) = self.store.find_user_by_email(email).await? else {
            return Err(Error::InvalidTicket);
        };
        *who = Some(user.id);
        let kind = CodeKind::EmailOtp;
        let hash = self
            .guess_code(ctx, user.id, kind, otp)
            .await?
            .ok_or(Error::InvalidTicket)?;
        self.redeem_code(rt, kind, Some(user.id), &hash).await
    }

    /// Counts one guess at the user's live code of `kind` and compares it: the stored hash
    /// when right, `None` when wrong or when there is no live code with guesses left. The
    /// last wrong guess deletes the code (`otp.exhausted`), so even the right one fails after.
    pub(super) async fn guess_code(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        kind: CodeKind,
        otp: &str,
    ) -> Result<Option<String>> {
        let now = self.now();
        // The guess is counted before it is compared: no guess goes uncounted.
        let Some(attempt) = self
            .store
            .attempt_code(user_id, kind, now, MAX_ATTEMPTS)
            .await?
        else {
            return Ok(None);
        };
        let candidate = code_hash(kind, user_id, otp.trim());
        if !Secret::new(attempt.hash.clone()).ct_eq(&candidate) {
            if attempt.attempts >= MAX_ATTEMPTS {
                self.store.delete_code(user_id, kind).await?;
                let detail = json!({ "method": kind.as_str(), "attempts": attempt.attempts });
                self.audit(Some(ctx), "otp.exhausted", Some(user_id), detail)
                    .await;
            }
            return Ok(None);
        }
        Ok(Some(attempt.hash))
    }

    /// Takes the code stored as `hash` with a new session, then checks the user as every
    /// sign-in does.
    pub(crate) async fn redeem_code(
        &self,
        rt: &Runtime,
        kind: CodeKind,
        user_id: Option<UserId>,
        hash: &str,
    ) -> Result<Session> {
        let now = self.now();
        let mut pending = self.pending_session(rt, user_id.unwrap_or_else(UserId::new_random), now);
        let session = TicketSession {
            id: pending.row.id,
            hash: pending.row.hash.clone(),
            expires_at: pending.row.expires_at,
            now,
        };
        let user_id = match self
            .store
            .redeem_code(kind, user_id, hash, &session)
            .await?
        {
            TicketRedemption::Redeemed(user_id) => user_id,
            TicketRedemption::UserDisabled => return Err(Error::UserDisabled),
            TicketRedemption::EmailTaken | TicketRedemption::Invalid => {
                return Err(Error::InvalidTicket);
            }
        };
        let user = self
            .redeemed_user(&mut pending, user_id, |user| {
                check_user(&rt.config, user, false)
            })
            .await?;
        self.after_session_write(now, false).await?;
        self.finish_session(rt, user, pending, SessionKind::Ticket)
            .await
    }

    /// The user a ticket or code was just redeemed for, with the session stored for them in
    /// the same transaction (`pending`, whose placeholder user id is set here). A user that
    /// `check` refuses (blocked or disabled after the mail was sent) gets `check`'s error: the
    /// ticket stays used up, and the session goes again, so the link signs no one in.
    pub(crate) async fn redeemed_user(
        &self,
        pending: &mut PendingSession,
        user_id: UserId,
        check: impl FnOnce(&User) -> Result<()>,
    ) -> Result<User> {
        pending.row.user_id = user_id;
        let user = self
            .store
            .get_user(user_id)
            .await?
            .ok_or(Error::InvalidTicket)?;
        if let Err(err) = check(&user) {
            self.store.delete_refresh_token(&pending.row.hash).await?;
            return Err(err);
        }
        Ok(user)
    }

    /// `POST /user/deanonymize` with `signInMethod: "passwordless"`: the anonymous user gets
    /// the address (unverified, no password), its anonymous sessions end, and a magic link is
    /// mailed to it. Any `password` sent along is ignored, as upstream.
    pub(crate) async fn deanonymize_passwordless(
        &self,
        rt: &Runtime,
        user_id: UserId,
        email: &str,
        options: &SignUpOptions,
    ) -> Result<()> {
        if !email_valid(email) {
            return Err(Error::InvalidRequest("email"));
        }
        let signup = validate_options(&rt.config, email, options)?;
        if !email_allowed(&rt.config, email) {
            return Err(Error::BadCredentials);
        }
        if self.store.find_user_by_email(email).await?.is_some() {
            return Err(Error::EmailTaken);
        }
        let change = Deanonymize {
            email: email.to_owned(),
            password_hash: None,
            display_name: signup.display_name.clone(),
            avatar_url: gravatar_url(&rt.config, email),
            locale: signup.locale.clone(),
            default_role: signup.default_role.clone(),
            roles: signup.allowed_roles.clone(),
            metadata: signup.metadata.clone(),
            ticket: None,
            revoke_sessions: true,
            mail: None,
            now: self.now(),
        };
        match self.store.deanonymize(user_id, &change).await? {
            Inserted::New(true) => {}
            Inserted::New(false) => return Err(Error::UserNotAnonymous),
            Inserted::Conflict(_) => return Err(Error::EmailTaken),
        }
        let user = self
            .store
            .get_user(user_id)
            .await?
            .ok_or(Error::UserNotAnonymous)?;
        self.mail_magic_link(rt, &user, &signup.redirect_to).await
    }

    pub(super) fn new_code_row(
        &self,
        rt: &Runtime,
        user_id: UserId,
        kind: CodeKind,
        address: &str,
        hash: String,
        now: Timestamp,
    ) -> NewCode {
        let ttl = chrono::Duration::from_std(rt.config.otp_ttl).unwrap_or(chrono::Duration::MAX);
        NewCode {
            user_id,
            kind,
            address: address.to_owned(),
            hash,
            expires_at: now.checked_add_signed(ttl).unwrap_or(now),
            now,
        }
    }

    /// The user a passwordless request is for, created with the sign-up rules when missing,
    /// with the checked options. `None`: answer `OK` and send nothing (the address is refused
    /// and `AUTH_CONCEAL_ERRORS` hides why, so the answer tells no one whether it has an
    /// account or is blocked).
    async fn passwordless_user(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        email: &str,
        options: &SignUpOptions,
    ) -> Result<Option<(User, ValidSignUp)>> {
        if !email_valid(email) {
            return Err(Error::InvalidRequest("email"));
        }
        let signup = validate_options(&rt.config, email, options)?;
        let found = match self.store.find_user_by_email(email).await? {
            Some(user) => passwordless_check(rt, &user).map(|()| user),
            None => self.passwordless_signup(ctx, rt, email, &signup).await,
        };
        match found {
            Ok(user) => Ok(Some((user, signup))),
            Err(err) if rt.config.conceal_errors && conceals(&err) => {
                debug!(error = %err, "passwordless request refused; answered OK");
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// A new user for a passwordless sign-in: sign-up rules as every sign-up, no password,
    /// the e-mail verified once the link or code is used.
    async fn passwordless_signup(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        email: &str,
        signup: &ValidSignUp,
    ) -> Result<User> {
        if rt.config.disable_signup {
            return Err(Error::SignupDisabled);
        }
        if !email_allowed(&rt.config, email) {
            return Err(Error::BadCredentials);
        }
        let user = NewUser {
            id: UserId::new_random(),
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
            ticket: None,
            password_hash: None,
            mail: None,
            provider: None,
            now: self.now(),
        };
        let detail = json!({ "method": "passwordless" });
        let event = self.event(Some(ctx), "user.signed_up", Some(user.id), detail);
        match self
            .store
            .create_user(&user, None, None, Some(&event))
            .await?
        {
            Inserted::New(_) => {}
            // Created by a concurrent request: use that one.
            Inserted::Conflict(_) => {
                let existing = self.store.find_user_by_email(email).await?;
                let user = existing.ok_or(Error::EmailTaken)?;
                passwordless_check(rt, &user)?;
                return Ok(user);
            }
        }
        if rt.config.disable_new_users {
            return Err(Error::UserDisabled);
        }
        Ok(user.to_user())
    }
}

/// An existing user may get a link or code when enabled and allowed by the e-mail lists;
/// unverified addresses are fine (the link or code verifies them).
pub(super) fn passwordless_check(rt: &Runtime, user: &User) -> Result<()> {
    if !user_email_allowed(&rt.config, user) {
        return Err(Error::BadCredentials);
    }
    if user.disabled {
        return Err(Error::UserDisabled);
    }
    Ok(())
}

/// The refusals that `AUTH_CONCEAL_ERRORS` answers with `OK`: the ones that tell whether an
/// address has an account or is blocked.
pub(super) fn conceals(err: &Error) -> bool {
    matches!(
        err,
        Error::BadCredentials | Error::UserDisabled | Error::SignupDisabled
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_with_leading_zeros_kept() {
        for _ in 0..1000 {
            let code = new_code();
            assert_eq!(code.expose().len(), 6);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn hashes_depend_on_user_and_kind() {
        let (a, b) = (UserId::new_random(), UserId::new_random());
        let h = code_hash(CodeKind::EmailOtp, a, "123456");
        assert_eq!(h, code_hash(CodeKind::EmailOtp, a, "123456"));
        assert_ne!(h, code_hash(CodeKind::EmailOtp, b, "123456"));
        assert_ne!(h, code_hash(CodeKind::SmsOtp, a, "123456"));
        assert!(!h.contains("123456"));
    }
}
