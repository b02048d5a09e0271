//! TOTP multi-factor authentication (issue #18): `GET /mfa/totp/generate`, `POST /user/mfa`,
//! the `mfaTotp:` ticket of a password sign-in and `POST /signin/mfa/totp`; beyond upstream,
//! recovery codes (`POST /user/mfa/recovery-codes`, `GET /user/mfa`).
//!
//! Safer than upstream: the secret is sealed at rest (a clear-text one from a migrated Nhost
//! database still works and is sealed on first use); a time step signs in once; tickets are
//! stored hashed, single-use, and die after `MAX_ATTEMPTS` wrong codes; re-generating while
//! TOTP is active is refused instead of silently replacing the secret.

use rand::Rng as _;
use serde_json::json;
use totp_rs::{Algorithm, Builder, Totp};
use tracing::instrument;

use super::encryption::Sealer;
use super::error::{Error, Result};
use super::passwordless::MAX_ATTEMPTS;
use super::sessions::SessionKind;
use super::tokens::{AccessClaims, hash_refresh_token};
use super::{Auth, Runtime, Session, check_user};
use crate::model::{CodeKind, NewCode, RequestContext, Secret, Timestamp, User, UserId};
use crate::store::{MfaProof, MfaSignIn};

/// How long the `mfaTotp:` ticket of a password sign-in lives (Nhost: 5 minutes).
const TICKET_TTL_MINUTES: i64 = 5;
/// Bytes of a new TOTP secret: 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;
/// Recovery codes in a set.
const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code: Crockford's base32 (no i, l, o, u), lower case; three
/// groups of four make 60 bits, plenty for a single-use code behind a password and a ticket.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_LENGTH: usize = 12;

/// A new TOTP secret for the authenticator app, shown once.
#[derive(Debug)]
pub struct TotpSetup {
    /// Base32, as authenticator apps take it by hand.
    pub secret: Secret,
    /// `data:image/png;base64,...`: a QR code of the `otpauth://` URI.
    pub image_url: Secret,
}

/// `GET /user/mfa`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaStatus {
    pub active_mfa_type: Option<String>,
    pub recovery_codes_left: u32,
}

/// The TOTP parameters every authenticator app understands: SHA-1, 6 digits, 30 s, one step
/// of skew either way (as Nhost).
fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret)
        .with_issuer(Some(label(issuer)))
        .with_account_name(label(account))
        .build()
        .map_err(|e| Error::Internal(format!("totp: {e}")))
}

/// The otpauth URI separates issuer and account with `:`, so neither may contain one.
fn label(text: &str) -> String {
    text.replace(':', " ")
}

/// The step a right code belongs to, `None` for a wrong or malformed one.
fn check_code(totp: &Totp, code: &str, now: Timestamp) -> Option<i64> {
    let seconds = u64::try_from(now.timestamp()).ok()?;
    let step = totp.check(code.trim(), seconds)?;
    i64::try_from(step).ok()
}

/// What the sealed secret is bound to: a value copied to another user's row does not open.
fn seal_context(user_id: UserId) -> String {
    format!("totp:{user_id}")
}

/// True for a TOTP code (six digits); anything else is taken for a recovery code.
fn is_totp_code(otp: &str) -> bool {
    otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit())
}

/// A new recovery code, `xxxx-xxxx-xxxx`, from the operating system's CSPRNG.
fn new_recovery_code() -> Secret {
    let mut rng = rand::rngs::OsRng;
    let mut code = String::with_capacity(RECOVERY_LENGTH + 2);
    for i in 0..RECOVERY_LENGTH {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let index = rng.gen_range(0..RECOVERY_ALPHABET.len());
        code.push(char::from(
            RECOVERY_ALPHABET.get(index).copied().unwrap_or(b'0'),
        ));
    }
    Secret::new(code)
}

/// The stored form of a recovery code, bound to its user; case, spaces and dashes do not
/// matter. `None` when the text cannot be a recovery code.
fn recovery_hash(user_id: UserId, code: &str) -> Option<String> {
    let normal: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid =
        normal.len() == RECOVERY_LENGTH && normal.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
    valid.then(|| hash_refresh_token(&format!("recovery:{user_id}:{normal}")))
}

fn totp_active(user: &User) -> bool {
    user.active_mfa_type.as_deref() == Some("totp")
}

impl Auth {
    fn require_mfa_enabled(rt: &Runtime) -> Result<()> {
        if rt.config.mfa_enabled {
            Ok(())
        } else {
            Err(Error::EndpointDisabled)
        }
    }

    /// The user's TOTP and the value stored for it (to activate only that one). A clear-text
    /// secret, as Nhost stored them, is accepted and sealed now. `None`: no secret.
    async fn totp_of(&self, rt: &Runtime, user: &User) -> Result<Option<(String, Totp)>> {
        let Some(mut stored) = self.store.totp_secret_of(user.id).await? else {
            return Ok(None);
        };
        let context = seal_context(user.id);
        let base32 = if Sealer::is_sealed(&stored) {
            let opened = rt.sealer.open(&context, &stored)?;
            Secret::new(String::from_utf8_lossy(&opened).into_owned())
        } else {
            // Nhost: keeps the secret in clear. Migrated users keep their second factor.
            let clear = Secret::new(stored.clone());
            let sealed = rt.sealer.seal(&context, clear.expose().as_bytes())?;
            if self
                .store
                .reseal_totp_secret(user.id, &stored, &sealed)
                .await?
            {
                stored = sealed;
            }
            clear
        };
        let normal = base32.expose().trim().trim_end_matches('=').to_uppercase();
        let bytes = totp_rs::Secret::try_from_base32(&normal)
            .map_err(|_| Error::Internal("the stored TOTP secret is not base32".into()))?;
        let totp = totp(bytes.as_bytes().to_vec(), "", "")?;
        Ok(Some((stored, totp)))
    }

    /// `GET /mfa/totp/generate`: a new secret for the bearer, stored sealed until `POST
    /// /user/mfa` activates it.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn generate_totp(&self, claims: &AccessClaims) -> Result<TotpSetup> {
        let rt = self.runtime();
        Self::require_mfa_enabled(&rt)?;
        let user = self.user_from_claims(claims, false).await?;
        // Nhost: replaces the secret of an active TOTP, so the app in the user's hand stops
        // working without notice; deactivate first here.
        if totp_active(&user) {
            return Err(Error::TotpAlreadyActive);
        }
        let bytes = super::random_bytes::<SECRET_BYTES>().to_vec();
        let account = [user.email.as_deref(), Some(user.display_name.as_str())]
            .into_iter()
            .flatten()
            .find(|a| !a.is_empty())
            .map_or_else(|| user.id.to_string(), str::to_owned);
        let totp = totp(bytes, &rt.config.mfa_totp_issuer, &account)?;
        let secret = Secret::new(totp.secret().to_base32());
        let png = totp
            .to_qr_base64()
            .map_err(|e| Error::Internal(format!("totp QR code: {e}")))?;
        let sealed = rt
            .sealer
            .seal(&seal_context(user.id), secret.expose().as_bytes())?;
        if !self
            .store
            .set_totp_secret(user.id, &sealed, self.now())
            .await?
        {
            return Err(Error::TotpAlreadyActive);
        }
        Ok(TotpSetup {
            secret,
            image_url: Secret::new(format!("data:image/png;base64,{png}")),
        })
    }

    /// `POST /user/mfa`: turns TOTP on (`activate`) or off with a right code of the secret.
    /// Neither uses up the code's time step: the bearer already proved who it is. Turning it
    /// off also forgets the secret and the recovery codes.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn change_mfa(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        code: &str,
        activate: bool,
    ) -> Result<()> {
        let rt = self.runtime();
        Self::require_mfa_enabled(&rt)?;
        let user = self.user_from_claims(claims, false).await?;
        match (activate, totp_active(&user)) {
            (true, true) => return Err(Error::TotpAlreadyActive),
            (false, false) => return Err(Error::MfaNotActive),
            _ => {}
        }
        let Some((stored, totp)) = self.totp_of(&rt, &user).await? else {
            return Err(Error::NoTotpSecret);
        };
        let now = self.now();
        if check_code(&totp, code, now).is_none() {
            return Err(Error::InvalidTotp);
        }
        let (changed, event) = if activate {
            let on = self.store.activate_totp(user.id, &stored, now).await?;
            (on, "mfa.totp_activated")
        } else {
            let off = self.store.deactivate_totp(user.id, now).await?;
            (off, "mfa.totp_deactivated")
        };
        if !changed {
            // A concurrent change (or a new secret) came first.
            return Err(if activate {
                Error::InvalidTotp
            } else {
                Error::MfaNotActive
            });
        }
        tracing::info!(event, user_id = %user.id, "second factor changed");
        self.audit(Some(ctx), event, Some(user.id), json!({ "type": "totp" }))
            .await;
        Ok(())
    }

    /// The `mfaTotp:` ticket a password sign-in answers while TOTP is active: stored hashed
    /// in the user's one slot for it (a new sign-in replaces an older ticket), 5 minutes.
    pub(crate) async fn new_mfa_ticket(&self, user: &User) -> Result<Secret> {
        let now = self.now();
        let clear = Secret::new(format!("mfaTotp:{}", uuid::Uuid::new_v4()));
        let code = NewCode {
            user_id: user.id,
            kind: CodeKind::MfaTotp,
            address: user.email.clone().unwrap_or_default(),
            hash: hash_refresh_token(clear.expose()),
            expires_at: now + chrono::Duration::minutes(TICKET_TTL_MINUTES),
            now,
        };
        if !self.store.replace_code(&code, None).await? {
            return Err(Error::BadCredentials);
        }
        Ok(clear)
    }

    /// `POST /signin/mfa/totp`: a session for a live `mfaTotp:` ticket and a TOTP code of a
    /// time step not used at sign-in before, or an unused recovery code (then used up).
    #[instrument(skip_all)]
    pub async fn sign_in_with_totp(
        &self,
        ctx: &RequestContext,
        ticket: &str,
        otp: &str,
    ) -> Result<Session> {
        let rt = self.runtime();
        Self::require_mfa_enabled(&rt)?;
        // Upstream's request schema requires the prefix: anything else is a bad request.
        if !ticket.starts_with("mfaTotp:") {
            return Err(Error::InvalidRequest("ticket"));
        }
        let mut who = None;
        let result = self.mfa_signin(ctx, &rt, ticket, otp, &mut who).await;
        self.audit_signin(ctx, "mfa-totp", who, result.as_ref().map(drop))
            .await;
        result
    }

    async fn mfa_signin(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        ticket: &str,
        otp: &str,
        who: &mut Option<UserId>,
    ) -> Result<Session> {
        let hash = hash_refresh_token(ticket);
        let now = self.now();
        // The guess is counted before it is checked: no guess goes uncounted.
        let Some((user_id, attempts)) = self
            .store
            .attempt_mfa_ticket(&hash, now, MAX_ATTEMPTS)
            .await?
        else {
            return Err(Error::InvalidTicket);
        };
        *who = Some(user_id);
        let user = self
            .store
            .get_user(user_id)
            .await?
            .ok_or(Error::InvalidTicket)?;
        check_user(&rt.config, &user, false)?;
        if !totp_active(&user) {
            return Err(Error::MfaNotActive);
        }
        let otp = otp.trim();
        let proof = if is_totp_code(otp) {
            let Some((_, totp)) = self.totp_of(rt, &user).await? else {
                return Err(Error::NoTotpSecret);
            };
            check_code(&totp, otp, now).map(MfaProof::TotpStep)
        } else {
            recovery_hash(user.id, otp).map(MfaProof::RecoveryCode)
        };
        let pending = self.pending_session(rt, user.id, now);
        let outcome = match &proof {
            Some(proof) => {
                self.store
                    .finish_mfa_signin(user.id, &hash, proof, &pending.row)
                    .await?
            }
            None => MfaSignIn::ProofUsed,
        };
        match outcome {
            MfaSignIn::SignedIn => {}
            MfaSignIn::TicketGone => return Err(Error::InvalidTicket),
            MfaSignIn::ProofUsed => {
                if attempts >= MAX_ATTEMPTS {
                    self.store.delete_code(user.id, CodeKind::MfaTotp).await?;
                    let detail = json!({ "method": "mfa-totp", "attempts": attempts });
                    self.audit(Some(ctx), "otp.exhausted", Some(user.id), detail)
                        .await;
                }
                return Err(Error::InvalidTotp);
            }
        }
        if let Some(MfaProof::RecoveryCode(_)) = proof {
            let left = self.store.recovery_codes_left(user.id).await?;
            tracing::info!(event = "mfa.recovery_code_used", user_id = %user.id, left);
            let detail = json!({ "recoveryCodesLeft": left });
            self.audit(Some(ctx), "mfa.recovery_code_used", Some(user.id), detail)
                .await;
        }
        self.after_session_write(now, false).await?;
        self.finish_session(rt, user, pending, SessionKind::SignIn)
            .await
    }

    /// `POST /user/mfa/recovery-codes` (Latchkey): ten new single-use codes for the bearer
    /// with TOTP active, replacing any earlier set; shown once, stored hashed. Elevated when
    /// `AUTH_REQUIRE_ELEVATED_CLAIM` asks for it.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn new_recovery_codes(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
    ) -> Result<Vec<Secret>> {
        let rt = self.runtime();
        Self::require_mfa_enabled(&rt)?;
        let user = self.user_from_claims(claims, false).await?;
        self.require_elevation(claims, user.id, false).await?;
        if !totp_active(&user) {
            return Err(Error::MfaNotActive);
        }
        let codes: Vec<Secret> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes
            .iter()
            .filter_map(|c| recovery_hash(user.id, c.expose()))
            .collect();
        if hashes.len() != codes.len() {
            return Err(Error::Internal("a new recovery code is malformed".into()));
        }
        if !self
            .store
            .replace_recovery_codes(user.id, &hashes, self.now())
            .await?
        {
            return Err(Error::MfaNotActive);
        }
        let detail = json!({ "count": codes.len() });
        self.audit(
            Some(ctx),
            "mfa.recovery_codes_created",
            Some(user.id),
            detail,
        )
        .await;
        Ok(codes)
    }

    /// `GET /user/mfa` (Latchkey): whether TOTP is active and how many recovery codes remain.
    pub async fn mfa_status(&self, claims: &AccessClaims) -> Result<MfaStatus> {
        Self::require_mfa_enabled(&self.runtime())?;
        let user = self.user_from_claims(claims, false).await?;
        let recovery_codes_left = self.store.recovery_codes_left(user.id).await?;
        Ok(MfaStatus {
            active_mfa_type: user.active_mfa_type,
            recovery_codes_left,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_readable_and_hash_per_user() {
        let user = UserId::new_random();
        for _ in 0..200 {
            let code = new_recovery_code();
            let text = code.expose();
            assert_eq!(text.len(), 14, "{text}");
            assert_eq!(text.matches('-').count(), 2);
            let hash = recovery_hash(user, text).unwrap();
            assert_eq!(
                Some(hash.clone()),
                recovery_hash(user, &text.to_uppercase())
            );
            assert_ne!(Some(hash), recovery_hash(UserId::new_random(), text));
        }
        assert_eq!(recovery_hash(user, "123456"), None);
        assert_eq!(recovery_hash(user, "iiii-iiii-iiii"), None);
    }

    #[test]
    fn codes_check_within_one_step_of_skew_and_name_their_step() {
        let totp = totp(vec![1; SECRET_BYTES], "auth", "ada@example.com").unwrap();
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let code = totp.generate(1_700_000_000);
        assert_eq!(
            check_code(&totp, &code.to_string(), now),
            Some(1_700_000_000 / 30)
        );
        let early = totp.generate(1_700_000_000 - 30).to_string();
        assert_eq!(check_code(&totp, &early, now), Some(1_700_000_000 / 30 - 1));
        let old = totp.generate(1_700_000_000 - 90).to_string();
        assert_eq!(check_code(&totp, &old, now), None);
        assert_eq!(check_code(&totp, "abcdef", now), None);
    }

    #[test]
    fn labels_lose_colons() {
        assert!(totp(vec![1; SECRET_BYTES], "a:b", "c:d").is_ok());
    }
}
