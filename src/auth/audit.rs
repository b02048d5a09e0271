//! The audit log: security events with the client that caused them, kept for
//! `LATCHKEY_AUDIT_RETENTION_DAYS` and readable by their user (`GET /user/audit`).

use serde_json::{Value, json};
use tracing::{error, instrument};

use super::Auth;
use super::error::{Error, Result};
use super::tokens::AccessClaims;
use crate::model::{AuditEntry, RequestContext, UserId};
use crate::store::AuditEvent;

/// Rows deleted per sweep statement: short enough not to hold locks for long.
const SWEEP_BATCH: u32 = 1000;
/// Largest page of `GET /user/audit`.
pub const MAX_PAGE: u32 = 200;

impl Auth {
    /// Records a security event. Best effort: the action it describes has already happened
    /// (or failed), so a database fault here is logged for the operator rather than turned
    /// into a second failure. `detail` must hold no secret.
    pub(crate) async fn audit(
        &self,
        ctx: Option<&RequestContext>,
        event: &'static str,
        user_id: Option<UserId>,
        detail: Value,
    ) {
        let record = self.event(ctx, event, user_id, detail);
        if let Err(err) = self.store.record_event(&record).await {
            error!(event, error = %err, "could not record audit event");
            return;
        }
        self.sometimes_sweep_audit_log().await;
    }

    /// An event for the store to record in the same statement or transaction as the change
    /// it describes (a new user, a session), so it costs no commit of its own. The caller
    /// then calls `sometimes_sweep_audit_log`.
    pub(crate) fn event(
        &self,
        ctx: Option<&RequestContext>,
        event: &'static str,
        user_id: Option<UserId>,
        detail: Value,
    ) -> AuditEvent {
        AuditEvent {
            event,
            user_id,
            detail,
            now: self.now(),
            context: ctx.cloned(),
        }
    }

    /// `signin.succeeded`, for the store to record with the session it starts.
    pub(crate) fn signin_event(
        &self,
        ctx: &RequestContext,
        method: &'static str,
        user_id: UserId,
    ) -> AuditEvent {
        let detail = json!({ "method": method });
        self.event(Some(ctx), "signin.succeeded", Some(user_id), detail)
    }

    /// Old rows are cleared by the writers, about one event in 64, one batch at a time, so
    /// no replica needs a scheduler and no statement runs long.
    pub(crate) async fn sometimes_sweep_audit_log(&self) {
        if rand::random::<u8>() < 4
            && let Err(err) = self.sweep_audit_log().await
        {
            error!(error = %err, "could not sweep the audit log");
        }
    }

    /// Records the outcome of a sign-in attempt: `signin.succeeded`, or `signin.failed` with
    /// a reason and, when the attempt named one, the user it was against.
    pub(crate) async fn audit_signin(
        &self,
        ctx: &RequestContext,
        method: &'static str,
        user_id: Option<UserId>,
        outcome: std::result::Result<(), &Error>,
    ) {
        match outcome {
            Ok(()) => {
                self.audit(
                    Some(ctx),
                    "signin.succeeded",
                    user_id,
                    json!({ "method": method }),
                )
                .await;
            }
            // The counter-regression event is recorded where it is detected.
            Err(err) => {
                let detail = json!({ "method": method, "reason": reason(err) });
                self.audit(Some(ctx), "signin.failed", user_id, detail)
                    .await;
            }
        }
    }

    /// `GET /user/audit`: the bearer's own events, newest first, at most `limit` (1 to
    /// `MAX_PAGE`), after the event `before` when given. Events past retention never show,
    /// even before the sweep has deleted them.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn audit_events(
        &self,
        claims: &AccessClaims,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::InvalidRequest("limit"));
        }
        let user = self.user_from_claims(claims, true).await?;
        let since = self.retention_cutoff();
        Ok(self
            .store
            .audit_events_of(user.id, before, since, limit)
            .await?)
    }

    /// Deletes events older than the retention period, one batch; returns how many went.
    pub async fn sweep_audit_log(&self) -> Result<u64> {
        let Some(cutoff) = self.retention_cutoff() else {
            return Ok(0);
        };
        Ok(self.store.sweep_audit_log(cutoff, SWEEP_BATCH).await?)
    }

    fn retention_cutoff(&self) -> Option<crate::model::Timestamp> {
        let keep = self.runtime().config.operations.audit_retention?;
        let keep = chrono::Duration::from_std(keep).ok()?;
        self.now().checked_sub_signed(keep)
    }
}

/// A stable, secret-free name for why an attempt failed, for the `reason` of failure events.
pub(crate) fn reason(err: &Error) -> &'static str {
    match err {
        Error::BadCredentials => "bad-credentials",
        Error::EndpointDisabled => "endpoint-disabled",
        Error::SignupDisabled => "signup-disabled",
        Error::UserDisabled => "user-disabled",
        Error::Unverified => "unverified-email",
        Error::ForbiddenAnonymous => "forbidden-anonymous",
        Error::EmailTaken => "email-taken",
        Error::DefaultRoleNotAllowed | Error::RoleNotAllowed => "role-not-allowed",
        Error::RedirectNotAllowed => "redirect-not-allowed",
        Error::InvalidRefreshToken => "invalid-refresh-token",
        Error::InvalidTicket => "invalid-ticket",
        Error::InvalidCode => "invalid-code",
        Error::SmsNotSent(_) => "sms-not-sent",
        Error::InvalidPat => "invalid-pat",
        Error::UnknownPat => "unknown-pat",
        Error::MfaNotActive => "mfa-not-active",
        Error::NoTotpSecret => "no-totp-secret",
        Error::InvalidTotp => "invalid-totp",
        Error::TotpAlreadyActive => "totp-already-active",
        Error::Unauthenticated => "unauthenticated",
        Error::ElevationRequired => "elevation-required",
        Error::PasswordTooShort | Error::PasswordPwned | Error::CheckUnavailable => "password",
        Error::UserNotAnonymous => "user-not-anonymous",
        Error::InvalidRequest(_) | Error::BadVariables(_) => "invalid-request",
        Error::UnknownKey => "unknown-key",
        Error::LastSignInMethod => "last-sign-in-method",
        Error::ChallengeGone => "challenge-gone",
        Error::Ceremony(_) => "webauthn-rejected",
        Error::CounterRegressed => "counter-regressed",
        Error::AttestationRefused => "attestation-refused",
        Error::UnknownCredential { .. } => "unknown-credential",
        Error::RateLimited { .. } => "rate-limited",
        Error::InvalidState => "invalid-state",
        Error::ProviderReported { .. } => "provider-error",
        Error::TokenExchange(_) => "token-exchange-failed",
        Error::ProfileFetch(_) => "profile-fetch-failed",
        Error::ProviderRefresh(_) => "provider-refresh-failed",
        Error::ProviderAccountLinked => "provider-account-linked",
        Error::Store(_) | Error::Mail(_) | Error::Internal(_) => "server-error",
    }
}
