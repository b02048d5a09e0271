//! SMS sign-in codes (issue #17): `POST /signin/passwordless/sms` texts a 6-digit code,
//! creating the user if missing; `POST /signin/passwordless/sms/otp` trades it for a session.
//!
//! Codes are made, stored and checked as e-mail codes are (`passwordless.rs`): hashed, bound
//! to the E.164 number they were sent to, `LATCHKEY_OTP_TTL`, single-use, dead after
//! `MAX_ATTEMPTS` wrong guesses, in their own slot. With Twilio Verify, Twilio makes and
//! checks them instead. A code is stored only once its SMS was accepted, and a new user only
//! once its first SMS was: a number that cannot be texted leaves nothing behind.

use serde_json::json;
use tracing::{debug, instrument, warn};

use super::error::{Error, Result};
use super::passwordless::{code_hash, conceals, new_code, passwordless_check};
use super::signup::{SignUpOptions, ValidSignUp, validate_options};
use super::{Auth, Runtime, Session};
use crate::model::{CodeKind, NewUser, PhoneNumber, RequestContext, Secret, UserId};
use crate::sms::Sms;
use crate::store::Inserted;

const KIND: CodeKind = CodeKind::SmsOtp;

/// What sending left to store.
enum Sent {
    /// Our code, to store as a hash for the user.
    Code(Secret),
    /// Twilio Verify's code: nothing to store.
    ByProvider,
}

impl Auth {
    /// `POST /signin/passwordless/sms`: texts a code to the number, creating its user when
    /// missing with the sign-up rules of every sign-up (the e-mail lists aside: there is no
    /// e-mail).
    #[instrument(skip_all)]
    pub async fn send_sms_code(
        &self,
        ctx: &RequestContext,
        phone_number: &str,
        options: SignUpOptions,
    ) -> Result<()> {
        let rt = self.runtime();
        if !rt.config.sms.passwordless_enabled {
            return Err(Error::EndpointDisabled);
        }
        let phone = PhoneNumber::parse(phone_number).ok_or(Error::InvalidRequest("phoneNumber"))?;
        let signup = validate_options(&rt.config, phone.as_str(), &options)?;
        let result = match self.store.find_user_by_phone(phone.as_str()).await? {
            Some(user) => match passwordless_check(&rt, &user) {
                Ok(()) => {
                    self.text_and_store(&rt, user.id, &user.locale, &phone)
                        .await
                }
                Err(err) => Err(err),
            },
            None => self.sms_signup(ctx, &rt, &phone, &signup).await,
        };
        match result {
            // As for e-mail: `OK`, and nothing sent, so the answer tells no one who is blocked.
            Err(err) if rt.config.conceal_errors && conceals(&err) => {
                debug!(error = %err, "SMS code request refused; answered OK");
                Ok(())
            }
            other => other,
        }
    }

    /// `POST /signin/passwordless/sms/otp`: a session for a right, live code of the number;
    /// the number is then verified.
    #[instrument(skip_all)]
    pub async fn verify_sms_code(
        &self,
        ctx: &RequestContext,
        phone_number: &str,
        otp: &str,
    ) -> Result<Session> {
        let rt = self.runtime();
        let mut who = None;
        let result = if rt.config.sms.passwordless_enabled {
            self.sms_signin(ctx, &rt, phone_number, otp, &mut who).await
        } else {
            Err(Error::EndpointDisabled)
        };
        self.audit_signin(ctx, "otp-sms", who, result.as_ref().map(drop))
            .await;
        result
    }

    async fn sms_signin(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        phone_number: &str,
        otp: &str,
        who: &mut Option<UserId>,
    ) -> Result<Session> {
        let phone = PhoneNumber::parse(phone_number).ok_or(Error::InvalidCode)?;
        let Some(user) = self.store.find_user_by_phone(phone.as_str()).await? else {
            return Err(Error::InvalidCode);
        };
        *who = Some(user.id);
        let hash = match &rt.sms {
            Sms::Text(_) => self
                .guess_code(ctx, user.id, KIND, otp)
                .await?
                .ok_or(Error::InvalidCode)?,
            Sms::Verify(verify) => {
                // Nhost: any failure of the check reads as a wrong code; logged here.
                let approved = verify.check(&phone, otp.trim()).await.unwrap_or_else(|e| {
                    warn!(error = %e, user_id = %user.id, "Twilio Verify check failed");
                    false
                });
                if !approved {
                    return Err(Error::InvalidCode);
                }
                // Twilio approved: a one-off code row lets the session be issued, and the
                // number verified, by the same atomic redemption as our own codes.
                let clear = Secret::new(uuid::Uuid::new_v4().to_string());
                let hash = code_hash(KIND, user.id, clear.expose());
                let row = self.new_code_row(rt, user.id, KIND, phone.as_str(), hash, self.now());
                if !self.store.replace_code(&row, None).await? {
                    return Err(Error::InvalidCode);
                }
                row.hash
            }
        };
        match self.redeem_code(rt, KIND, Some(user.id), &hash).await {
            Err(Error::InvalidTicket) => Err(Error::InvalidCode),
            other => other,
        }
    }

    /// Texts a code to `phone` (in `locale`) and then stores it for the user, replacing the
    /// user's earlier SMS code.
    async fn text_and_store(
        &self,
        rt: &Runtime,
        user_id: UserId,
        locale: &str,
        phone: &PhoneNumber,
    ) -> Result<()> {
        let sent = self.text_code(rt, user_id, locale, phone).await?;
        self.store_sms_code(rt, user_id, phone, sent).await
    }

    /// Sends a new code; stores nothing.
    async fn text_code(
        &self,
        rt: &Runtime,
        user_id: UserId,
        locale: &str,
        phone: &PhoneNumber,
    ) -> Result<Sent> {
        let sent = match &rt.sms {
            Sms::Text(sender) => {
                let code = new_code();
                let body = rt.composer.sms_text(locale, &code);
                sender.send(phone, &body).await.map(|()| Sent::Code(code))
            }
            Sms::Verify(verify) => verify.start(phone, locale).await.map(|()| Sent::ByProvider),
        };
        match sent {
            Ok(sent) => {
                debug!(user_id = %user_id, "SMS code sent");
                Ok(sent)
            }
            Err(err) => {
                warn!(error = %err, user_id = %user_id, "SMS code not sent");
                Err(Error::SmsNotSent(err))
            }
        }
    }

    /// Stores a sent code (only its hash), bound to the number it went to.
    async fn store_sms_code(
        &self,
        rt: &Runtime,
        user_id: UserId,
        phone: &PhoneNumber,
        sent: Sent,
    ) -> Result<()> {
        let Sent::Code(code) = sent else {
            return Ok(());
        };
        let hash = code_hash(KIND, user_id, code.expose());
        let row = self.new_code_row(rt, user_id, KIND, phone.as_str(), hash, self.now());
        self.store.replace_code(&row, None).await?;
        Ok(())
    }

    /// A new user for an SMS sign-in: the number (unverified until a code is used), no
    /// e-mail, no password. The first code is texted before the user is stored, so a number
    /// the provider refuses creates no user; with `AUTH_DISABLE_NEW_USERS` the (disabled)
    /// user is stored and nothing is sent, as for e-mail.
    async fn sms_signup(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        phone: &PhoneNumber,
        signup: &ValidSignUp,
    ) -> Result<()> {
        if rt.config.disable_signup {
            return Err(Error::SignupDisabled);
        }
        let user = NewUser {
            id: UserId::new_random(),
            display_name: signup.display_name.clone(),
            avatar_url: String::new(),
            locale: signup.locale.clone(),
            email: None,
            email_verified: false,
            phone_number: Some(phone.as_str().to_owned()),
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
        let sent = if rt.config.disable_new_users {
            None
        } else {
            Some(self.text_code(rt, user.id, &user.locale, phone).await?)
        };
        let detail = json!({ "method": KIND.as_str() });
        let event = self.event(Some(ctx), "user.signed_up", Some(user.id), detail);
        match self
            .store
            .create_user(&user, None, None, Some(&event))
            .await?
        {
            Inserted::New(_) => {}
            // Created by a concurrent request: the code goes to that user, whose own
            // request's code it replaces.
            Inserted::Conflict(_) => {
                let existing = self.store.find_user_by_phone(phone.as_str()).await?;
                let existing = existing.ok_or(Error::InvalidRequest("phoneNumber"))?;
                passwordless_check(rt, &existing)?;
                return match sent {
                    Some(Sent::Code(code)) => {
                        self.store_sms_code(rt, existing.id, phone, Sent::Code(code))
                            .await
                    }
                    Some(Sent::ByProvider) => Ok(()),
                    None => {
                        self.text_and_store(rt, existing.id, &existing.locale, phone)
                            .await
                    }
                };
            }
        }
        match sent {
            Some(sent) => self.store_sms_code(rt, user.id, phone, sent).await,
            None => Err(Error::UserDisabled),
        }
    }
}
