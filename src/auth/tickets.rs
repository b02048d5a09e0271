//! E-mail tickets (Nhost section 7): mailing links to `GET /verify`, sending the verification
//! mail again, and redeeming a ticket into a session.

use tracing::{debug, instrument};

use super::error::{Error, Result};
use super::sessions::SessionKind;
use super::signup::{checked_redirect, email_valid, redirect_allowed, user_email_allowed};
use super::tokens::hash_refresh_token;
use super::{Auth, Runtime, Session};
use crate::mail::{Email, Template};
use crate::model::{CodeKind, OutboxMail, RedirectUrl, RequestContext, Secret, UserId};
use crate::store::{TicketEffects, TicketRedemption, TicketSession};

/// The kinds Nhost writes before the colon of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TicketKind {
    VerifyEmail,
    PasswordlessEmail,
    PasswordReset,
    EmailConfirmChange,
    /// The second step of a password sign-in with TOTP active; never redeemed by `/verify`.
    MfaTotp,
}

impl TicketKind {
    fn from_prefix(prefix: &str) -> Option<Self> {
        Some(match prefix {
            "verifyEmail" => TicketKind::VerifyEmail,
            "passwordlessEmail" => TicketKind::PasswordlessEmail,
            "passwordReset" => TicketKind::PasswordReset,
            "emailConfirmChange" => TicketKind::EmailConfirmChange,
            "mfaTotp" => TicketKind::MfaTotp,
            _ => return None,
        })
    }

    fn prefix(self) -> &'static str {
        match self {
            TicketKind::VerifyEmail => "verifyEmail",
            TicketKind::PasswordlessEmail => "passwordlessEmail",
            TicketKind::PasswordReset => "passwordReset",
            TicketKind::EmailConfirmChange => "emailConfirmChange",
            TicketKind::MfaTotp => "mfaTotp",
        }
    }
}

/// A new `<kind>:<uuid>` ticket valid for `ttl`: the clear value (for the mail or the
/// response), its stored form, and its expiry.
pub(crate) fn new_ticket(
    kind: TicketKind,
    ttl: chrono::Duration,
    now: crate::model::Timestamp,
) -> (Secret, String, crate::model::Timestamp) {
    let clear = format!("{}:{}", kind.prefix(), uuid::Uuid::new_v4());
    let stored = format!(
        "{}:{}",
        kind.prefix(),
        hash_refresh_token(&clear).trim_start_matches("\\x")
    );
    (Secret::new(clear), stored, now + ttl)
}

/// The kind of a clear ticket and the form it is stored in, `<kind>:<hex SHA-256 of the
/// whole ticket>`; `None` for anything that is not `<known kind>:<value>`.
pub(crate) fn stored_ticket(clear: &str) -> Option<(TicketKind, String)> {
    let (prefix, value) = clear.split_once(':')?;
    let kind = TicketKind::from_prefix(prefix).filter(|_| !value.is_empty())?;
    let hash = hash_refresh_token(clear);
    Some((
        kind,
        format!("{}:{}", kind.prefix(), hash.trim_start_matches("\\x")),
    ))
}

/// A redeemed ticket: the new session, and the browser's destination.
#[derive(Debug)]
pub struct TicketSignIn {
    pub session: Session,
    /// The ticket's kind, sent back as `type` (`verifyEmail`), as Nhost does.
    pub kind: &'static str,
    pub redirect_to: RedirectUrl,
}

/// A failed `GET /verify`: what went wrong, and where to redirect with it. `None` means
/// answer with the error itself: `redirectTo` is unusable, or the failure is the server's.
#[derive(Debug)]
pub struct TicketError {
    pub redirect_to: Option<RedirectUrl>,
    pub error: Error,
}

/// Who a ticket mail goes to, and what its link does.
pub(crate) struct TicketMail<'a> {
    pub template: Template,
    /// The link's `type` (`emailVerify`, ...): deprecated upstream but still sent.
    pub link_type: &'static str,
    pub user_id: UserId,
    pub to: &'a str,
    pub display_name: &'a str,
    pub locale: &'a str,
    pub redirect_to: &'a str,
    /// The address being confirmed (`email-confirm-change`).
    pub new_email: Option<&'a str>,
}

impl Auth {
    /// Stores a new ticket of `kind` for `user` (replacing any other) with the mail carrying
    /// its link, then makes the request's attempt at the mail (`deliver_now`). Stores and
    /// sends nothing when the user has no address or is gone.
    pub(crate) async fn mail_new_ticket(
        &self,
        rt: &Runtime,
        user: &crate::model::User,
        kind: TicketKind,
        ttl: chrono::Duration,
        redirect_to: &str,
    ) -> Result<()> {
        let Some(address) = user.email.as_deref() else {
            return Ok(());
        };
        let (template, link_type) = match kind {
            TicketKind::PasswordReset => (Template::PasswordReset, "passwordReset"),
            _ => (Template::EmailVerify, "emailVerify"),
        };
        let now = self.now();
        let (clear, stored, expires_at) = new_ticket(kind, ttl, now);
        let mail = TicketMail {
            template,
            link_type,
            user_id: user.id,
            to: address,
            display_name: &user.display_name,
            locale: &user.locale,
            redirect_to,
            new_email: None,
        };
        let mail = self.ticket_mail(rt, mail, clear, expires_at);
        if !self
            .store
            .set_ticket(user.id, &stored, expires_at, now, mail.as_ref())
            .await?
        {
            return Ok(());
        }
        self.deliver_now(rt, mail).await;
        Ok(())
    }

    /// The mail with a link to `GET /verify` carrying `ticket` (valid until `expires_at`),
    /// rendered for the outbox; `None` when it cannot be built (logged as `mail.failed`).
    pub(crate) fn ticket_mail(
        &self,
        rt: &Runtime,
        mail: TicketMail<'_>,
        ticket: Secret,
        expires_at: crate::model::Timestamp,
    ) -> Option<OutboxMail> {
        let mut link = rt.config.server_url.clone();
        let path = format!("{}/verify", link.path().trim_end_matches('/'));
        link.set_path(&path);
        // Alphabetical, as Nhost's links.
        link.query_pairs_mut()
            .append_pair("redirectTo", mail.redirect_to)
            .append_pair("ticket", ticket.expose())
            .append_pair("type", mail.link_type);
        let email = Email {
            template: mail.template,
            user_id: mail.user_id,
            to: mail.to.to_owned(),
            display_name: mail.display_name.to_owned(),
            locale: mail.locale.to_owned(),
            link: Secret::new(String::from(link)),
            ticket,
            redirect_to: mail.redirect_to.to_owned(),
            new_email: mail.new_email.map(str::to_owned),
        };
        self.outbox_mail(rt, &email, expires_at)
    }

    /// `POST /user/email/send-verification-email`: a new `verifyEmail` ticket (replacing any
    /// other ticket of the user) and mail, for an existing, enabled, unverified user whose
    /// address the e-mail lists allow.
    /// Every other address gets the same `Ok` and no mail.
    #[instrument(skip_all)]
    pub async fn send_verification_email(
        &self,
        email: &str,
        redirect_to: Option<String>,
    ) -> Result<()> {
        let rt = self.runtime();
        if !email_valid(email) {
            return Err(Error::InvalidRequest("email"));
        }
        let redirect_to = checked_redirect(&rt.config, redirect_to)?;
        // Nhost: answers 401 for unknown and disabled addresses and 400 for verified ones,
        // which tells anyone who has an account; here all of them get the same answer.
        let user = match self.store.find_user_by_email(email).await? {
            Some(u)
                if !u.email_verified
                    && !u.disabled
                    && !u.is_anonymous
                    && user_email_allowed(&rt.config, &u) =>
            {
                u
            }
            _ => {
                debug!("no verification mail: no such unverified, enabled user");
                return Ok(());
            }
        };
        let ttl = chrono::Duration::days(30);
        self.mail_new_ticket(&rt, &user, TicketKind::VerifyEmail, ttl, &redirect_to)
            .await
    }

    /// `GET /verify`: checks `redirect_to` (unparsable: no redirect; not allowed: redirect to
    /// the client URL), then takes the ticket, single-use, and signs its user in. Bad,
    /// expired, used or unsupported tickets redirect to `redirect_to` with the error.
    #[instrument(skip_all)]
    pub async fn redeem_ticket(
        &self,
        ctx: &RequestContext,
        ticket: &str,
        redirect_to: &str,
    ) -> std::result::Result<TicketSignIn, TicketError> {
        let rt = self.runtime();
        let Some(target) = RedirectUrl::parse(redirect_to) else {
            return Err(TicketError {
                redirect_to: None,
                error: Error::InvalidRequest("redirectTo"),
            });
        };
        if !redirect_allowed(&rt.config, redirect_to) {
            return Err(TicketError {
                redirect_to: Some(rt.config.default_redirect.clone()),
                error: Error::RedirectNotAllowed,
            });
        }
        match self.take_ticket(ctx, &rt, ticket).await {
            Ok((session, kind)) => Ok(TicketSignIn {
                session,
                kind: kind.prefix(),
                redirect_to: target,
            }),
            Err(error @ (Error::Store(_) | Error::Internal(_))) => Err(TicketError {
                redirect_to: None,
                error,
            }),
            Err(error) => {
                debug!(error = %error, "ticket refused");
                Err(TicketError {
                    redirect_to: Some(target),
                    error,
                })
            }
        }
    }

    /// Every redeemed ticket marks the e-mail verified: the mail reached the address.
    async fn take_ticket(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        ticket: &str,
    ) -> Result<(Session, TicketKind)> {
        let revoke = rt.config.password.revoke_sessions_on_change;
        // `mfaTotp:` tickets belong to `/signin/mfa/totp`: refused like unknown ones, and
        // left in place. Magic links live in their own table, hashed whole.
        let (kind, stored, effects) = match stored_ticket(ticket) {
            Some((TicketKind::PasswordlessEmail, _)) => {
                let hash = hash_refresh_token(ticket);
                let result = self.redeem_code(rt, CodeKind::MagicLink, None, &hash).await;
                let who = result.as_ref().ok().map(|s| s.user.id);
                self.audit_signin(ctx, "magic-link", who, result.as_ref().map(drop))
                    .await;
                return result.map(|session| (session, TicketKind::PasswordlessEmail));
            }
            Some((kind @ (TicketKind::VerifyEmail | TicketKind::PasswordReset), stored)) => {
                (kind, stored, TicketEffects::default())
            }
            Some((kind @ TicketKind::EmailConfirmChange, stored)) => {
                let effects = TicketEffects {
                    swap_email: true,
                    revoke_sessions: revoke,
                };
                (kind, stored, effects)
            }
            _ => return Err(Error::InvalidTicket),
        };
        let now = self.now();
        // The user is known only once the ticket is taken, in the same transaction that
        // stores this token; the placeholder id is replaced below.
        let mut pending = self.pending_session(rt, UserId::new_random(), now);
        let session = TicketSession {
            id: pending.row.id,
            hash: pending.row.hash.clone(),
            expires_at: pending.row.expires_at,
            now,
        };
        let user_id = match self.store.redeem_ticket(&stored, effects, &session).await? {
            TicketRedemption::Redeemed(user_id) => user_id,
            TicketRedemption::UserDisabled => return Err(Error::UserDisabled),
            TicketRedemption::EmailTaken => return Err(Error::EmailTaken),
            TicketRedemption::Invalid => return Err(Error::InvalidTicket),
        };
        // Blocked after the mail was sent: refused as a sign-in would be.
        let user = self
            .redeemed_user(&mut pending, user_id, |user| {
                if user_email_allowed(&rt.config, user) {
                    Ok(())
                } else {
                    Err(Error::BadCredentials)
                }
            })
            .await?;
        if kind == TicketKind::EmailConfirmChange {
            self.record_credential_change(ctx, "email.changed", user.id)
                .await?;
        }
        let session = self
            .finish_session(rt, user, pending, SessionKind::Ticket)
            .await?;
        Ok((session, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::signup::verification_ticket;

    #[test]
    fn stored_form_matches_what_sign_up_stores() {
        let (clear, stored, _) = verification_ticket(chrono::Utc::now());
        assert_eq!(
            stored_ticket(clear.expose()),
            Some((TicketKind::VerifyEmail, stored.clone()))
        );
        assert!(stored.starts_with("verifyEmail:") && stored.len() == "verifyEmail:".len() + 64);
        assert!(!stored.contains(clear.expose().trim_start_matches("verifyEmail:")));
    }

    #[test]
    fn kinds_come_from_the_prefix() {
        let reset = stored_ticket("passwordReset:abc").unwrap();
        assert_eq!(reset.0, TicketKind::PasswordReset);
        assert!(reset.1.starts_with("passwordReset:"));
        for bad in [
            "",
            "verifyEmail",
            "verifyEmail:",
            "otp:123",
            "VerifyEmail:x",
            "x:y",
        ] {
            assert_eq!(stored_ticket(bad), None, "{bad:?}");
        }
    }
}
