//! Configuration from Nhost's environment variable names, parsed and validated once at start.
//! `Config::from_vars` takes any list of pairs, so tests never touch the process environment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use url::Url;

use crate::model::RedirectUrl;

mod claims;
mod encryption;
mod jwt;
mod limits;
mod mail;
mod outgoing;
mod password;
pub mod providers;
mod providers_oidc;
mod ratelimit;
pub mod reference;
mod sms;
mod webauthn;

pub use claims::{CustomClaim, CustomClaimsConfig, HasuraEndpoint};
pub use encryption::EncryptionKey;
pub use jwt::{JwtAlgorithm, JwtSecret, VerifyKey};
use jwt::{jwt_settings, previous_keys};
use limits::limits_settings;
pub use limits::{LimitsConfig, MIN_HEADER_BYTES};
pub use mail::{MailConfig, SmtpAuthMethod, SmtpConfig};
pub use outgoing::OutgoingConfig;
pub use password::PasswordConfig;
pub use providers::{ProviderConfig, ProvidersConfig};
use ratelimit::rate_limit_settings;
pub use ratelimit::{Limit, RateLimitConfig};
pub use sms::{SmsConfig, SmsProvider, TwilioConfig};
use webauthn::webauthn_settings;
pub use webauthn::{Attestation, AttestationPolicy, UserVerification, WebauthnConfig};

/// Where sessions live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl DatabaseUrl {
    /// The URL with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(url) => url.clone(),
            DatabaseUrl::Postgres(url) => match Url::parse(url) {
                Ok(mut parsed) if parsed.password().is_some() => {
                    let _ = parsed.set_password(Some("***"));
                    parsed.to_string()
                }
                _ => url.clone(),
            },
        }
    }
}

/// `AUTH_REQUIRE_ELEVATED_CLAIM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElevationMode {
    Disabled,
    Recommended,
    Required,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `AUTH_HOST`: the address to listen on; every interface (`0.0.0.0`) by default.
    pub host: IpAddr,
    pub port: u16,
    pub api_prefix: String,
    pub server_url: Url,
    pub client_url: Url,
    /// `AUTH_CLIENT_URL` as written, the default `redirectTo`: Nhost hands it out as given,
    /// where `client_url` would add a `/` to a bare origin.
    pub default_redirect: RedirectUrl,
    pub database: DatabaseUrl,
    /// `None`: a development HS256 key is generated and kept in the database.
    pub jwt_secret: Option<JwtSecret>,
    pub previous_jwt_keys: Vec<VerifyKey>,
    /// `AUTH_ENCRYPTION_KEY`; `None`: a development key is generated and kept in the database.
    pub encryption_key: Option<EncryptionKey>,
    pub jwt_issuer: String,
    pub claims_namespace: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub default_role: String,
    pub allowed_roles: Vec<String>,
    pub locale_default: String,
    pub allowed_locales: Vec<String>,
    pub disable_signup: bool,
    pub disable_new_users: bool,
    pub anonymous_users_enabled: bool,
    /// `POST /signin/passwordless/email` (magic links).
    pub passwordless_email_enabled: bool,
    /// `POST /signin/otp/email` and its verify.
    pub otp_email_enabled: bool,
    /// How long a magic link or one-time code stays valid (`LATCHKEY_OTP_TTL`).
    pub otp_ttl: Duration,
    /// TOTP multi-factor authentication: `/mfa/totp/generate`, `/user/mfa`, `/signin/mfa/totp`.
    pub mfa_enabled: bool,
    /// The issuer label authenticator apps show (`AUTH_MFA_TOTP_ISSUER`).
    pub mfa_totp_issuer: String,
    pub email_verification_required: bool,
    pub require_elevated_claim: ElevationMode,
    pub conceal_errors: bool,
    pub enable_change_env: bool,
    pub allowed_redirect_urls: Vec<String>,
    pub allowed_emails: Vec<String>,
    pub allowed_email_domains: Vec<String>,
    pub blocked_emails: Vec<String>,
    pub blocked_email_domains: Vec<String>,
    pub gravatar_enabled: bool,
    pub gravatar_default: String,
    pub gravatar_rating: String,
    pub webauthn: WebauthnConfig,
    /// `AUTH_PLAYGROUND_ENABLED`: serve the passkey playground page at `/`.
    pub playground_enabled: bool,
    pub operations: OperationsConfig,
    pub limits: LimitsConfig,
    pub rate_limits: RateLimitConfig,
    pub mail: MailConfig,
    pub sms: SmsConfig,
    pub password: PasswordConfig,
    pub custom_claims: CustomClaimsConfig,
    pub outgoing: OutgoingConfig,
    /// The enabled OAuth and OpenID Connect sign-in providers.
    pub providers: ProvidersConfig,
    /// `HASURA_GRAPHQL_ADMIN_SECRET`: admits the admin-only `POST /user/provider/tokens`.
    /// Unset, that route refuses everyone.
    pub admin_secret: Option<crate::model::Secret>,
}

/// Logging, metrics and shutdown: how the process runs, not what it answers.
#[derive(Debug, Clone)]
pub struct OperationsConfig {
    /// `AUTH_DEBUG`: Latchkey's own logs at debug level.
    pub debug: bool,
    /// `AUTH_LOG_FORMAT_TEXT`: plain text instead of JSON lines.
    pub log_text: bool,
    /// `LATCHKEY_METRICS_ADDR`: serve `/metrics` on this address instead of the API port.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `LATCHKEY_SHUTDOWN_TIMEOUT`: how long in-flight requests may finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `LATCHKEY_AUDIT_RETENTION_DAYS`: audit-log rows older than this are deleted; `None`
    /// (the value 0) keeps them forever.
    pub audit_retention: Option<Duration>,
}

/// Every bad variable, named, so one start tells the operator everything to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads variables and remembers every problem instead of stopping at the first.
struct Vars {
    vars: BTreeMap<String, String>,
    errors: Vec<String>,
}

impl Vars {
    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_owned()
    }

    fn bool(&mut self, name: &str, default: bool) -> bool {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(_) => self.bad(name, "expected true or false", default),
        }
    }

    fn number<T: std::str::FromStr>(&mut self, name: &str, default: T) -> T {
        match self.get(name).map(str::parse::<T>) {
            None => default,
            Some(Ok(v)) => v,
            Some(Err(_)) => self.bad(name, "expected a non-negative whole number", default),
        }
    }

    fn seconds(&mut self, name: &str, default: u64) -> Duration {
        Duration::from_secs(self.number(name, default))
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
            })
            .into_iter()
            .flatten()
            .collect()
    }

    /// `None` (with the error recorded) when the value is not an absolute http(s) URL.
    fn url(&mut self, name: &str, default: &str) -> Option<Url> {
        let text = self.string(name, default);
        match Url::parse(&text) {
            Ok(url) if url.has_host() && matches!(url.scheme(), "http" | "https") => Some(url),
            _ => {
                self.errors
                    .push(format!("{name}: not an absolute http(s) URL: {text:?}"));
                None
            }
        }
    }

    fn bad<T>(&mut self, name: &str, why: &str, fallback: T) -> T {
        let value = self.get(name).unwrap_or_default().to_owned();
        self.errors.push(format!("{name}: {why}, got {value:?}"));
        fallback
    }
}

impl Config {
    /// Builds the configuration from variable pairs (the process environment in `main`).
    pub fn from_vars<I, K, V>(vars: I) -> Result<Config, ConfigErrors>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut v = Vars {
            vars: vars
                .into_iter()
                .map(|(k, val)| (k.into(), val.into()))
                .collect(),
            errors: Vec::new(),
        };
        let host = listen_host(&mut v);
        let port = v.number("AUTH_PORT", 4000u16);
        let api_prefix = v
            .string("AUTH_API_PREFIX", "")
            .trim_end_matches('/')
            .to_owned();
        if !api_prefix.is_empty() && !api_prefix.starts_with('/') {
            v.errors.push(format!(
                "AUTH_API_PREFIX: must start with '/', got {api_prefix:?}"
            ));
        }
        let server_default = format!("http://localhost:{port}{api_prefix}");
        let server_url = v.url("AUTH_SERVER_URL", &server_default);
        let client_url = v.url("AUTH_CLIENT_URL", CLIENT_URL);
        let database = database_url(&v);
        let (jwt_secret, jwt_issuer, claims_namespace) = jwt_settings(&mut v);
        let previous_jwt_keys = previous_keys(&mut v);
        let encryption_key = encryption::encryption_key(&mut v);

        let default_role = v.string("AUTH_USER_DEFAULT_ROLE", "user");
        let mut allowed_roles = v.list("AUTH_USER_DEFAULT_ALLOWED_ROLES");
        if allowed_roles.is_empty() {
            allowed_roles.push("me".into());
        }
        if !allowed_roles.contains(&default_role) {
            allowed_roles.push(default_role.clone());
        }
        let locale_default = v.string("AUTH_LOCALE_DEFAULT", "en");
        let mut allowed_locales = v.list("AUTH_LOCALE_ALLOWED_LOCALES");
        if !allowed_locales.contains(&locale_default) {
            allowed_locales.push(locale_default.clone());
        }
        for locale in &allowed_locales {
            if !(2..=3).contains(&locale.len()) {
                v.errors.push(format!(
                    "AUTH_LOCALE_ALLOWED_LOCALES: {locale:?} is not 2-3 letters"
                ));
            }
        }

        let require_elevated_claim = match v.get("AUTH_REQUIRE_ELEVATED_CLAIM") {
            None | Some("disabled") => ElevationMode::Disabled,
            Some("recommended") => ElevationMode::Recommended,
            Some("required") => ElevationMode::Required,
            Some(_) => v.bad(
                "AUTH_REQUIRE_ELEVATED_CLAIM",
                "expected disabled, recommended or required",
                ElevationMode::Disabled,
            ),
        };
        let default_redirect = RedirectUrl::parse(&v.string("AUTH_CLIENT_URL", CLIENT_URL));
        let (Some(server_url), Some(client_url), Some(default_redirect)) =
            (server_url, client_url, default_redirect)
        else {
            return Err(ConfigErrors(v.errors));
        };
        // Trying Latchkey out needs no settings: with SQLite (the zero-config run) passkeys and
        // the playground are on; once a PostgreSQL URL is set, upstream's defaults (off) apply.
        let zero_config = matches!(database, DatabaseUrl::Sqlite(_));
        let mut webauthn = webauthn_settings(&mut v, &client_url, zero_config);
        // The playground's page talks to this server from the server's own origin, so that
        // origin must be allowed in ceremonies too.
        let playground_enabled = v.bool("AUTH_PLAYGROUND_ENABLED", zero_config);
        if playground_enabled {
            webauthn.playground_origin = Url::parse(&server_url.origin().ascii_serialization())
                .ok()
                .filter(|origin| !webauthn.rp_origins.contains(origin));
        }
        let operations = operations_settings(&mut v);
        let limits = limits_settings(&mut v);
        let rate_limits = rate_limit_settings(&mut v);
        let mail = mail::mail_settings(&mut v);
        let sms = sms::sms_settings(&mut v);
        let password = password::password_settings(&mut v);
        let custom_claims = claims::custom_claims_settings(&mut v);
        let outgoing = outgoing::outgoing_settings(&mut v);
        let providers = providers::providers_settings(&mut v);
        let admin_secret = v
            .get("HASURA_GRAPHQL_ADMIN_SECRET")
            .map(|s| crate::model::Secret::new(s.to_owned()));

        let config = Config {
            host,
            port,
            api_prefix,
            server_url,
            client_url,
            default_redirect,
            database,
            jwt_secret,
            previous_jwt_keys,
            encryption_key,
            jwt_issuer,
            claims_namespace,
            access_token_ttl: v.seconds("AUTH_ACCESS_TOKEN_EXPIRES_IN", 900),
            refresh_token_ttl: v.seconds("AUTH_REFRESH_TOKEN_EXPIRES_IN", 2_592_000),
            default_role,
            allowed_roles,
            locale_default,
            allowed_locales,
            disable_signup: v.bool("AUTH_DISABLE_SIGNUP", false),
            disable_new_users: v.bool("AUTH_DISABLE_NEW_USERS", false),
            anonymous_users_enabled: v.bool("AUTH_ANONYMOUS_USERS_ENABLED", false),
            passwordless_email_enabled: v.bool("AUTH_EMAIL_PASSWORDLESS_ENABLED", false),
            otp_email_enabled: v.bool("AUTH_OTP_EMAIL_ENABLED", false),
            otp_ttl: v.seconds("LATCHKEY_OTP_TTL", 600),
            mfa_enabled: v.bool("AUTH_MFA_ENABLED", false),
            mfa_totp_issuer: v.string("AUTH_MFA_TOTP_ISSUER", "auth"),
            email_verification_required: v.bool("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", true),
            require_elevated_claim,
            conceal_errors: v.bool("AUTH_CONCEAL_ERRORS", false),
            enable_change_env: v.bool("AUTH_ENABLE_CHANGE_ENV", false),
            allowed_redirect_urls: v.list("AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS"),
            allowed_emails: lower(v.list("AUTH_ACCESS_CONTROL_ALLOWED_EMAILS")),
            allowed_email_domains: lower(v.list("AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS")),
            blocked_emails: lower(v.list("AUTH_ACCESS_CONTROL_BLOCKED_EMAILS")),
            blocked_email_domains: lower(v.list("AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS")),
            gravatar_enabled: v.bool("AUTH_GRAVATAR_ENABLED", true),
            gravatar_default: v.string("AUTH_GRAVATAR_DEFAULT", "blank"),
            gravatar_rating: v.string("AUTH_GRAVATAR_RATING", "g"),
            webauthn,
            playground_enabled,
            operations,
            limits,
            rate_limits,
            mail,
            sms,
            password,
            custom_claims,
            outgoing,
            providers,
            admin_secret,
        };
        if v.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(v.errors))
        }
    }

    /// Where the API listens: `AUTH_HOST` and `AUTH_PORT`.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// One line per setting for the startup log, secrets shown as `***`.
    pub fn summary(&self) -> String {
        let jwt = match &self.jwt_secret {
            Some(s) => format!("{} key=*** kid={:?}", s.algorithm.name(), s.kid),
            None => "HS256 development key (generated, stored in the database)".into(),
        };
        format!(
            "listen={} prefix={:?} server_url={} client_url={} database={} jwt={} issuer={} \
             webauthn.enabled={} rp_id={} origins=[{}] uv={:?} elevated_claim={:?} \
             email_verification_required={} anonymous={} signup_disabled={} playground={} \
             custom_claims={} claims_from={} https_proxy={} {} {}",
            self.listen_addr(),
            self.api_prefix,
            self.server_url,
            self.client_url,
            self.database.redacted(),
            jwt,
            self.jwt_issuer,
            self.webauthn.enabled,
            self.webauthn.rp_id,
            self.webauthn
                .rp_origins
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>()
                .join(","),
            self.webauthn.user_verification,
            self.require_elevated_claim,
            self.email_verification_required,
            self.anonymous_users_enabled,
            self.disable_signup,
            self.playground_enabled,
            self.custom_claims.claims.len(),
            match &self.custom_claims.hasura {
                Some(hasura) => hasura.url.as_str(),
                None => "user fields",
            },
            self.outgoing.https_proxy.is_some(),
            self.mail.summary(),
            self.sms.summary(),
        )
    }
}

/// `AUTH_CLIENT_URL`'s default.
const CLIENT_URL: &str = "http://localhost:3000";

fn lower(items: Vec<String>) -> Vec<String> {
    items.into_iter().map(|s| s.to_ascii_lowercase()).collect()
}

/// `AUTH_HOST`: an IP address, v4 or v6 (`[::1]` accepted too). A host name is refused, so
/// the address cannot change with DNS. (Upstream dropped the variable in 0.6.1 and listens
/// on every interface; a single host behind a local proxy wants `127.0.0.1`.)
fn listen_host(v: &mut Vars) -> IpAddr {
    let every_interface = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let Some(text) = v.get("AUTH_HOST").map(str::to_owned) else {
        return every_interface;
    };
    match text.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(addr) => addr,
        Err(_) => v.bad(
            "AUTH_HOST",
            "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::",
            every_interface,
        ),
    }
}

fn database_url(v: &Vars) -> DatabaseUrl {
    let url = v
        .get("LATCHKEY_DATABASE_URL")
        .or_else(|| v.get("POSTGRES_CONNECTION"))
        .or_else(|| v.get("HASURA_GRAPHQL_DATABASE_URL"))
        .unwrap_or("sqlite://latchkey.db");
    if url.starts_with("sqlite:") {
        DatabaseUrl::Sqlite(url.to_owned())
    } else {
        DatabaseUrl::Postgres(url.to_owned())
    }
}

fn operations_settings(v: &mut Vars) -> OperationsConfig {
    let metrics_addr = match v.get("LATCHKEY_METRICS_ADDR").map(str::parse) {
        None => None,
        Some(Ok(addr)) => Some(addr),
        Some(Err(_)) => v.bad(
            "LATCHKEY_METRICS_ADDR",
            "expected host:port, e.g. 0.0.0.0:9100",
            None,
        ),
    };
    OperationsConfig {
        debug: v.bool("AUTH_DEBUG", false),
        log_text: v.bool("AUTH_LOG_FORMAT_TEXT", false),
        metrics_addr,
        shutdown_timeout: v.seconds("LATCHKEY_SHUTDOWN_TIMEOUT", 30),
        audit_retention: match v.number::<u64>("LATCHKEY_AUDIT_RETENTION_DAYS", 90) {
            0 => None,
            days => Some(Duration::from_secs(days.saturating_mul(86_400))),
        },
    }
}

/// The variables this build reads. Each has one entry in `reference::REFERENCE`, which the
/// book's configuration page is generated from (a unit test checks both).
pub const VARIABLES: &[&str] = &[
    "AUTH_HOST",
    "AUTH_PORT",
    "AUTH_API_PREFIX",
    "AUTH_SERVER_URL",
    "AUTH_CLIENT_URL",
    "LATCHKEY_DATABASE_URL",
    "POSTGRES_CONNECTION",
    "HASURA_GRAPHQL_DATABASE_URL",
    "HASURA_GRAPHQL_JWT_SECRET",
    "LATCHKEY_JWT_PREVIOUS_KEYS",
    "AUTH_ENCRYPTION_KEY",
    "AUTH_ACCESS_TOKEN_EXPIRES_IN",
    "AUTH_REFRESH_TOKEN_EXPIRES_IN",
    "AUTH_USER_DEFAULT_ROLE",
    "AUTH_USER_DEFAULT_ALLOWED_ROLES",
    "AUTH_LOCALE_DEFAULT",
    "AUTH_LOCALE_ALLOWED_LOCALES",
    "AUTH_DISABLE_SIGNUP",
    "AUTH_DISABLE_NEW_USERS",
    "AUTH_ANONYMOUS_USERS_ENABLED",
    "AUTH_EMAIL_PASSWORDLESS_ENABLED",
    "AUTH_OTP_EMAIL_ENABLED",
    "LATCHKEY_OTP_TTL",
    "AUTH_MFA_ENABLED",
    "AUTH_MFA_TOTP_ISSUER",
    "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED",
    "AUTH_REQUIRE_ELEVATED_CLAIM",
    "AUTH_CONCEAL_ERRORS",
    "AUTH_ENABLE_CHANGE_ENV",
    "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS",
    "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS",
    "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS",
    "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS",
    "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS",
    "AUTH_GRAVATAR_ENABLED",
    "AUTH_GRAVATAR_DEFAULT",
    "AUTH_GRAVATAR_RATING",
    "AUTH_WEBAUTHN_ENABLED",
    "AUTH_WEBAUTHN_RP_ID",
    "AUTH_WEBAUTHN_RP_NAME",
    "AUTH_WEBAUTHN_RP_ORIGINS",
    "AUTH_WEBAUTHN_ATTESTATION_TIMEOUT",
    "AUTH_WEBAUTHN_USER_VERIFICATION",
    "AUTH_WEBAUTHN_ATTESTATION",
    "AUTH_WEBAUTHN_ALLOWED_AAGUIDS",
    "LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE",
    "LATCHKEY_WEBAUTHN_MDS_FILE",
    "AUTH_PLAYGROUND_ENABLED",
    "AUTH_DEBUG",
    "AUTH_LOG_FORMAT_TEXT",
    "LATCHKEY_METRICS_ADDR",
    "LATCHKEY_SHUTDOWN_TIMEOUT",
    "LATCHKEY_AUDIT_RETENTION_DAYS",
    "LATCHKEY_MAX_HEADER_BYTES",
    "LATCHKEY_HEADER_READ_TIMEOUT",
    "LATCHKEY_REQUEST_TIMEOUT",
    "LATCHKEY_DB_MAX_CONNECTIONS",
    "LATCHKEY_DB_ACQUIRE_TIMEOUT",
    "AUTH_RATE_LIMIT_ENABLE",
    "AUTH_RATE_LIMIT_GLOBAL_BURST",
    "AUTH_RATE_LIMIT_GLOBAL_INTERVAL",
    "AUTH_RATE_LIMIT_EMAIL_BURST",
    "AUTH_RATE_LIMIT_EMAIL_INTERVAL",
    "AUTH_RATE_LIMIT_EMAIL_IS_GLOBAL",
    "AUTH_RATE_LIMIT_SMS_BURST",
    "AUTH_RATE_LIMIT_SMS_INTERVAL",
    "AUTH_RATE_LIMIT_BRUTE_FORCE_BURST",
    "AUTH_RATE_LIMIT_BRUTE_FORCE_INTERVAL",
    "AUTH_RATE_LIMIT_SIGNUPS_BURST",
    "AUTH_RATE_LIMIT_SIGNUPS_INTERVAL",
    "LATCHKEY_TRUSTED_PROXIES",
    "AUTH_SMTP_HOST",
    "AUTH_SMTP_PORT",
    "AUTH_SMTP_SECURE",
    "AUTH_SMTP_USER",
    "AUTH_SMTP_PASS",
    "AUTH_SMTP_SENDER",
    "AUTH_SMTP_AUTH_METHOD",
    "AUTH_SMTP_X_SMTPAPI_HEADER",
    "AUTH_EMAIL_TEMPLATES_PATH",
    "LATCHKEY_MAIL_DIR",
    "LATCHKEY_MAIL_SEND_TIMEOUT",
    "AUTH_SMS_PASSWORDLESS_ENABLED",
    "AUTH_SMS_PROVIDER",
    "AUTH_SMS_TWILIO_ACCOUNT_SID",
    "AUTH_SMS_TWILIO_AUTH_TOKEN",
    "AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID",
    "AUTH_SMS_MODICA_USERNAME",
    "AUTH_SMS_MODICA_PASSWORD",
    "LATCHKEY_SMS_DIR",
    "LATCHKEY_SMS_TWILIO_BASE_URL",
    "LATCHKEY_SMS_TWILIO_VERIFY_BASE_URL",
    "LATCHKEY_SMS_MODICA_BASE_URL",
    "AUTH_PASSWORD_MIN_LENGTH",
    "AUTH_PASSWORD_HIBP_ENABLED",
    "LATCHKEY_HIBP_URL",
    "LATCHKEY_HIBP_FAIL_OPEN",
    "LATCHKEY_BCRYPT_COST",
    "LATCHKEY_REVOKE_SESSIONS_ON_CREDENTIAL_CHANGE",
    "AUTH_JWT_CUSTOM_CLAIMS",
    "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS",
    "HASURA_GRAPHQL_GRAPHQL_URL",
    "HASURA_GRAPHQL_ADMIN_SECRET",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL",
    "AUTH_PROVIDER_GITHUB_TOKEN_URL",
    "AUTH_PROVIDER_GITHUB_USER_PROFILE_URL",
    "AUTH_PROVIDER_GOOGLE_AUDIENCE",
    "AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION",
    "AUTH_PROVIDER_WORKOS_DEFAULT_CONNECTION",
    "AUTH_PROVIDER_WORKOS_DEFAULT_DOMAIN",
    "AUTH_PROVIDER_APPLE_AUDIENCE",
    "AUTH_PROVIDER_APPLE_TEAM_ID",
    "AUTH_PROVIDER_APPLE_KEY_ID",
    "AUTH_PROVIDER_APPLE_PRIVATE_KEY",
    "AUTH_PROVIDER_AZUREAD_TENANT",
    "AUTH_PROVIDER_ENTRAID_TENANT",
    "AUTH_PROVIDER_TWITTER_CONSUMER_KEY",
    "AUTH_PROVIDER_TWITTER_CONSUMER_SECRET",
    "LATCHKEY_PROVIDER_TWITTER_REQUEST_TOKEN_URL",
];

/// Whether Latchkey reads this variable: one of `VARIABLES`, or a per-provider one
/// (`providers::PROVIDER_VARIABLE_PATTERNS` for each provider).
pub fn is_variable(name: &str) -> bool {
    VARIABLES.contains(&name) || providers::is_provider_variable(name)
}

#[cfg(test)]
mod tests;
