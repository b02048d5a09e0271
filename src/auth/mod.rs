//! The domain: sessions, tokens, sign-up rules, WebAuthn ceremonies, elevation.
//! No HTTP types and no SQL here; storage is reached through `store::Store`.

pub(crate) mod audit;
mod authenticators;
mod claims;
mod clock;
pub mod encryption;
mod error;
mod hibp;
mod mfa;
mod outbox;
mod password;
mod passwordless;
mod pats;
pub mod providers;
pub mod ratelimit;
pub(crate) mod sessions;
mod signup;
mod sms;
mod tickets;
pub mod tokens;
pub mod webauthn;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

pub use authenticators::AuthenticatorNames;
pub use clock::{Clock, SystemClock, TestClock};
pub use error::{Error, Result};
pub use mfa::{MfaStatus, TotpSetup};
pub use outbox::OutboxWorker;
pub use password::{DeanonymizeMethod, PasswordSignIn};
pub use pats::CreatedPat;
pub use sessions::Session;
pub use signup::SignUpOptions;
pub use tickets::{TicketError, TicketSignIn};
pub use tokens::AccessClaims;
pub use webauthn::ManagedKey;

use crate::config::{Config, ElevationMode, EncryptionKey, SmsProvider};
use crate::mail::Mailer;
use crate::model::{Secret, Timestamp, User, UserId};
use crate::store::Store;
use tokens::TokenKeys;

/// CPU-bound work off the async worker threads, in the caller's span: bcrypt (tens of
/// milliseconds at cost 10) and signature checks (a P-256 verification is about 0.3 ms with
/// webauthn-rs-core's pure-Rust verifier), so they do not stall other requests' I/O.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|e| Error::Internal(format!("blocking task: {e}")))
}

/// Settings name of the generated development JWT key.
const DEV_JWT_KEY: &str = "dev_jwt_hs256_key";
/// Settings name of the generated development encryption key (`AUTH_ENCRYPTION_KEY` unset).
const DEV_ENCRYPTION_KEY: &str = "dev_encryption_key";

/// The keys generated for a server started without configured ones, shared by every
/// replica through the settings table.
struct DevKeys {
    jwt: Secret,
    encryption: EncryptionKey,
}

/// Everything derived from the configuration; replaced whole by `/change-env`.
pub struct Runtime {
    pub config: Config,
    pub tokens: TokenKeys,
    pub webauthn: webauthn_rs_core::WebauthnCore,
    /// Trust anchors for `AUTH_WEBAUTHN_ALLOWED_AAGUIDS`; `None` admits every authenticator.
    pub attestation: Option<webauthn::AttestationTrust>,
    /// Built from the SMTP settings, so `/change-env` can point at another mail server.
    pub mailer: Arc<dyn Mailer>,
    /// Encrypts secrets kept at rest (`AUTH_ENCRYPTION_KEY`, else the development key).
    pub sealer: encryption::Sealer,
    /// The one client for outgoing HTTP (HIBP, Hasura, SMS providers), with the configured proxies and roots.
    pub http: reqwest::Client,
    pub(crate) custom_claims: claims::CustomClaims,
    /// Renders mails from the templates and sender configured.
    pub composer: crate::mail::Composer,
    /// The SMS provider (`AUTH_SMS_PROVIDER`), over `http`.
    pub sms: crate::sms::Sms,
    /// A bcrypt hash at the configured cost that no password matches in practice: unknown
    /// accounts are verified against it, so they take as long as known ones.
    pub dummy_password_hash: String,
    /// OpenID providers' discovery documents and keys, kept as long as they say.
    pub oidc_cache: providers::OidcCache,
}

pub struct Auth {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Replaces the configured mailer when set (tests record mails instead of sending them).
    mailer: Option<Arc<dyn Mailer>>,
    /// The variables in force: the start-up ones with every `/change-env` applied on top.
    /// The lock also makes concurrent changes apply one after the other, none lost.
    vars: tokio::sync::Mutex<BTreeMap<String, String>>,
    dev_keys: DevKeys,
    runtime: RwLock<Arc<Runtime>>,
    authenticators: AuthenticatorNames,
}

impl Auth {
    /// Builds the domain over a migrated store. Fails on keys that cannot be used.
    pub async fn new(
        config: Config,
        base_vars: Vec<(String, String)>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> std::result::Result<Self, String> {
        // Every replica reads the same stored key, so sessions survive restarts and
        // load-balancing even without a configured secret.
        let dev_key = store
            .setting_or_init(DEV_JWT_KEY, &tokens::random_key_hex())
            .await
            .map_err(|e| format!("reading the development JWT key: {e}"))?;
        let dev_encryption = store
            .setting_or_init(DEV_ENCRYPTION_KEY, &hex::encode(random_bytes::<32>()))
            .await
            .map_err(|e| format!("reading the development encryption key: {e}"))?;
        let dev_keys = DevKeys {
            jwt: Secret::new(dev_key),
            encryption: EncryptionKey::from_hex(&dev_encryption)
                .ok_or("the stored development encryption key is not 32 bytes of hex")?,
        };
        let runtime = build_runtime(config, &dev_keys, mailer.as_ref())?;
        let authenticators = AuthenticatorNames::bundled()?;
        let mut roles = runtime.config.allowed_roles.clone();
        roles.push(runtime.config.default_role.clone());
        store
            .ensure_roles(&roles)
            .await
            .map_err(|e| format!("creating roles: {e}"))?;
        Ok(Auth {
            store,
            clock,
            mailer,
            vars: tokio::sync::Mutex::new(base_vars.into_iter().collect()),
            dev_keys,
            runtime: RwLock::new(Arc::new(runtime)),
            authenticators,
        })
    }

    /// The configuration in force for one request.
    pub fn runtime(&self) -> Arc<Runtime> {
        match self.runtime.read() {
            Ok(rt) => Arc::clone(&rt),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The product name of an authenticator model, if its AAGUID is in the bundled table.
    pub fn authenticator_name(&self, aaguid: Option<uuid::Uuid>) -> Option<&str> {
        self.authenticators.name(aaguid)
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The development inbox, newest first: the newest `limit` of the mails written to
    /// `LATCHKEY_MAIL_DIR` (unless mail goes to an SMTP server) and of the texts written to
    /// `LATCHKEY_SMS_DIR` (while SMS sign-in is on with the `dev` provider: a real provider's
    /// traffic is never shown). `None` when neither folder is in use.
    pub async fn dev_inbox(&self, limit: usize) -> Option<Vec<crate::mail::InboxEntry>> {
        use crate::mail::{InboxEntry, InboxKind};
        let rt = self.runtime();
        let mails = rt.config.mail.smtp.is_none();
        let sms = &rt.config.sms;
        let texts = sms.passwordless_enabled && matches!(sms.provider, SmsProvider::Dev);
        if !mails && !texts {
            return None;
        }
        let mut inbox = if mails {
            crate::mail::read_inbox(&rt.config.mail.mail_dir, limit).await
        } else {
            Vec::new()
        };
        if texts {
            let written = crate::sms::read_texts(&sms.sms_dir, limit).await;
            inbox.extend(written.into_iter().map(|t| InboxEntry {
                kind: InboxKind::Sms,
                template: "signin-passwordless-sms".to_owned(),
                to: t.to,
                subject: String::new(),
                created_at: t.written_at,
                link: None,
                text: t.text,
                file: t.name,
            }));
        }
        inbox.sort_by(|a, b| b.file.cmp(&a.file));
        inbox.truncate(limit);
        Some(inbox)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Test-only `/change-env`: a partial update of the live configuration. The given
    /// variables replace their current values (an empty value means the default); every
    /// other variable keeps the value it has now, whether from start-up or an earlier change.
    /// All or nothing: with any bad value (`Error::BadVariables`) nothing changes.
    pub async fn change_env(&self, changes: Vec<(String, String)>) -> Result<()> {
        let mut vars = self.vars.lock().await;
        let mut next = vars.clone();
        next.extend(changes);
        let config = Config::from_vars(next.iter()).map_err(|e| Error::BadVariables(e.0))?;
        let runtime = build_runtime(config, &self.dev_keys, self.mailer.as_ref())
            .map_err(|e| Error::BadVariables(vec![e]))?;
        let mut roles = runtime.config.allowed_roles.clone();
        roles.push(runtime.config.default_role.clone());
        self.store.ensure_roles(&roles).await?;
        if let Ok(mut current) = self.runtime.write() {
            *current = Arc::new(runtime);
        }
        *vars = next;
        Ok(())
    }

    /// Verifies a bearer token (signature, issuer, expiry), without loading the user.
    pub fn verify_access_token(&self, token: &str) -> Result<AccessClaims> {
        self.runtime().tokens.verify(token, self.now())
    }

    /// The bearer's user, checked as Nhost's "user from JWT": gone or disabled → 401,
    /// unverified (when required) → 401, anonymous → 403 unless `allow_anonymous`.
    pub async fn user_from_claims(
        &self,
        claims: &AccessClaims,
        allow_anonymous: bool,
    ) -> Result<User> {
        let user = self
            .store
            .get_user(claims.user_id)
            .await?
            .ok_or(Error::BadCredentials)?;
        check_user(&self.runtime().config, &user, allow_anonymous)?;
        Ok(user)
    }

    /// `AUTH_REQUIRE_ELEVATED_CLAIM` for the endpoints Nhost marks `BearerAuthElevated`.
    /// `adds_first_key`: the add-key endpoints, exempt while the user has no key yet.
    pub async fn require_elevation(
        &self,
        claims: &AccessClaims,
        user_id: UserId,
        adds_first_key: bool,
    ) -> Result<()> {
        let needs_count = match self.runtime().config.require_elevated_claim {
            _ if claims.elevated => false,
            ElevationMode::Disabled => false,
            ElevationMode::Recommended => true,
            ElevationMode::Required => adds_first_key,
        };
        let keys = if needs_count {
            usize::try_from(self.store.count_keys(user_id).await?).unwrap_or(usize::MAX)
        } else {
            // Not consulted.
            usize::MAX
        };
        self.elevation_check(claims, keys, adds_first_key)
    }

    /// `require_elevation` for a caller that has read the user's keys (`keys` of them).
    pub(crate) fn elevation_check(
        &self,
        claims: &AccessClaims,
        keys: usize,
        adds_first_key: bool,
    ) -> Result<()> {
        if claims.elevated {
            return Ok(());
        }
        match self.runtime().config.require_elevated_claim {
            ElevationMode::Disabled => Ok(()),
            ElevationMode::Recommended if keys == 0 => Ok(()),
            // Nhost compares the raw path and so breaks under AUTH_API_PREFIX; here the
            // caller says what the endpoint is.
            ElevationMode::Required if adds_first_key && keys == 0 => Ok(()),
            ElevationMode::Recommended | ElevationMode::Required => Err(Error::ElevationRequired),
        }
    }
}

/// `N` random bytes from the operating system, for keys and secrets.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

fn build_runtime(
    config: Config,
    dev_keys: &DevKeys,
    mailer: Option<&Arc<dyn Mailer>>,
) -> std::result::Result<Runtime, String> {
    let tokens = TokenKeys::new(&config, &dev_keys.jwt)?;
    let sealer = encryption::Sealer::new(
        config
            .encryption_key
            .as_ref()
            .unwrap_or(&dev_keys.encryption)
            .bytes(),
    );
    let webauthn = webauthn::relying_party(&config.webauthn)?;
    let attestation = config
        .webauthn
        .attestation_policy
        .as_ref()
        .map(webauthn::AttestationTrust::load)
        .transpose()?;
    let mailer = match mailer {
        Some(mailer) => Arc::clone(mailer),
        None => crate::mail::from_config(&config)?,
    };
    let http = crate::outgoing::http_client(&config.outgoing)?;
    let custom_claims = claims::CustomClaims::new(config.custom_claims.clone());
    let composer = crate::mail::composer_from_config(&config)?;
    let sms = crate::sms::from_config(&config.sms, &http)?;
    let dummy_password_hash = bcrypt::hash(tokens::random_key_hex(), config.password.bcrypt_cost)
        .map_err(|e| format!("bcrypt: {e}"))?;
    Ok(Runtime {
        config,
        tokens,
        webauthn,
        attestation,
        mailer,
        sealer,
        http,
        custom_claims,
        composer,
        sms,
        dummy_password_hash,
        oidc_cache: providers::OidcCache::default(),
    })
}

/// The user checks Nhost applies before issuing or honouring a session: every sign-in,
/// refresh and bearer request. The e-mail lists come first, as upstream: an address blocked
/// (or no longer allowed) since sign-up gets `BadCredentials` even if disabled as well.
/// A user without an e-mail (signed up by SMS) is not subject to the e-mail lists, and the
/// verification requirement asks for its phone number to be verified instead.
// Nhost: checks "unverified" before "anonymous", so anonymous sessions cannot refresh while
// e-mail verification is required; anonymous users have no e-mail to verify, so not here.
// Nhost: holds a phone-only user to the e-mail requirement (it answers 401 `unverified-user`
// on `GET /user` and refresh after an SMS sign-in); its SMS sign-in has verified its number.
pub(crate) fn check_user(config: &Config, user: &User, allow_anonymous: bool) -> Result<()> {
    if !signup::user_email_allowed(config, user) {
        return Err(Error::BadCredentials);
    }
    if user.disabled {
        return Err(Error::UserDisabled);
    }
    if user.is_anonymous {
        return if allow_anonymous {
            Ok(())
        } else {
            Err(Error::ForbiddenAnonymous)
        };
    }
    let verified = match (&user.email, &user.phone_number) {
        (Some(_), _) => user.email_verified,
        (None, Some(_)) => user.phone_number_verified,
        // A provider account without an address (Strava always, GitHub sometimes): there is
        // nothing to verify, and the provider account is the credential. As upstream.
        (None, None) => true,
    };
    if config.email_verification_required && !verified {
        return Err(Error::Unverified);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    fn user(email: Option<&str>, phone: Option<&str>) -> User {
        User {
            id: UserId::new_random(),
            created_at: chrono::Utc::now(),
            display_name: String::new(),
            avatar_url: String::new(),
            locale: "en".into(),
            email: email.map(str::to_owned),
            email_verified: false,
            phone_number: phone.map(str::to_owned),
            phone_number_verified: false,
            is_anonymous: false,
            disabled: false,
            default_role: "user".into(),
            roles: vec!["user".into()],
            metadata: None,
            active_mfa_type: None,
        }
    }

    #[test]
    fn phone_only_users_are_held_to_their_number() {
        let required = config(&[("AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS", "example.com")]);
        let mut phone = user(None, Some("+33612345678"));
        assert!(matches!(
            check_user(&required, &phone, false),
            Err(Error::Unverified)
        ));
        phone.phone_number_verified = true;
        assert!(check_user(&required, &phone, false).is_ok());
        // A verified number does not stand in for an address the user has.
        let mut both = user(Some("ada@example.com"), Some("+33612345678"));
        both.phone_number_verified = true;
        assert!(matches!(
            check_user(&required, &both, false),
            Err(Error::Unverified)
        ));
        both.email_verified = true;
        assert!(check_user(&required, &both, false).is_ok());
        // The e-mail lists judge addresses: a number-only user passes, an address outside
        // the allowed domains does not.
        let mut outside = user(Some("ada@elsewhere.test"), None);
        outside.email_verified = true;
        assert!(matches!(
            check_user(&required, &outside, false),
            Err(Error::BadCredentials)
        ));
        phone.disabled = true;
        assert!(matches!(
            check_user(&required, &phone, false),
            Err(Error::UserDisabled)
        ));
        let relaxed = config(&[("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "false")]);
        assert!(check_user(&relaxed, &user(None, Some("+33612345678")), false).is_ok());
    }

    #[test]
    fn a_user_with_neither_address_nor_number_has_nothing_to_verify() {
        let required = config(&[]);
        assert!(check_user(&required, &user(None, None), false).is_ok());
        let mut disabled = user(None, None);
        disabled.disabled = true;
        assert!(matches!(
            check_user(&required, &disabled, false),
            Err(Error::UserDisabled)
        ));
    }
}
