//! What went wrong, in domain words. `http::error` maps each variant to Nhost's wire codes.

use crate::mail::MailError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such account, or a wrong secret: callers cannot tell which.
    #[error("bad credentials")]
    BadCredentials,
    #[error("endpoint disabled by configuration")]
    EndpointDisabled,
    #[error("sign-up disabled")]
    SignupDisabled,
    #[error("user is disabled")]
    UserDisabled,
    #[error("user e-mail is not verified")]
    Unverified,
    #[error("anonymous users may not do this")]
    ForbiddenAnonymous,
    #[error("e-mail already in use")]
    EmailTaken,
    #[error("default role must be in allowed roles")]
    DefaultRoleNotAllowed,
    #[error("role not allowed")]
    RoleNotAllowed,
    #[error("redirectTo not allowed")]
    RedirectNotAllowed,
    #[error("invalid or expired refresh token")]
    InvalidRefreshToken,
    /// An e-mail ticket that is unknown, used, expired or of a kind this flow does not take.
    #[error("invalid ticket")]
    InvalidTicket,
    /// A personal access token that is unknown, expired, or a regular refresh token.
    #[error("invalid or expired personal access token")]
    InvalidPat,
    /// No PAT of the bearer has this id.
    #[error("unknown personal access token")]
    UnknownPat,
    /// TOTP is not active for the user (deactivation, or an `mfaTotp:` ticket of a user who
    /// turned it off meanwhile), or recovery codes asked for without it.
    #[error("TOTP MFA is not active")]
    MfaNotActive,
    /// Activation before `GET /mfa/totp/generate` stored a secret.
    #[error("no TOTP secret")]
    NoTotpSecret,
    /// A wrong TOTP code, one already used, or an unknown or used recovery code.
    #[error("invalid TOTP code")]
    InvalidTotp,
    #[error("TOTP MFA already active")]
    TotpAlreadyActive,
    /// Missing, malformed, expired or badly signed bearer token.
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("elevated claim required")]
    ElevationRequired,
    /// The request is well-formed JSON but its content is unacceptable.
    #[error("password too short")]
    PasswordTooShort,
    #[error("password found in HIBP")]
    PasswordPwned,
    /// HIBP could not be asked in time and `LATCHKEY_HIBP_FAIL_OPEN` is off.
    #[error("password breach check unavailable")]
    CheckUnavailable,
    /// A wrong, expired, used or exhausted SMS code (or one for no such number).
    #[error("invalid SMS code")]
    InvalidCode,
    /// The SMS provider did not take the message: nothing was stored for it.
    #[error("SMS not sent")]
    SmsNotSent(#[source] crate::sms::SmsError),
    #[error("user is not anonymous")]
    UserNotAnonymous,
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// `/change-env` was given values the configuration refuses; one line per problem, each
    /// naming its variable (the caller's own input, so it may be shown to the caller).
    #[error("bad configuration variables: {}", .0.join("; "))]
    BadVariables(Vec<String>),
    /// No key with this id belongs to the bearer; another user's key reads the same.
    #[error("unknown security key")]
    UnknownKey,
    /// Deleting this key would leave the user no way to sign in (and `force` was not given).
    #[error("last sign-in method of the user")]
    LastSignInMethod,
    /// Unknown, used, expired, or issued for another flow or user.
    #[error("challenge unknown, used, expired or not for this flow")]
    ChallengeGone,
    /// webauthn-rs rejected the credential.
    #[error("webauthn ceremony failed")]
    Ceremony(#[source] webauthn_rs_core::error::WebauthnError),
    /// `AUTH_WEBAUTHN_ALLOWED_AAGUIDS` is set and the new key's attestation does not prove an
    /// allowed model (no statement, an untrusted chain, or another AAGUID).
    #[error("authenticator model not allowed")]
    AttestationRefused,
    /// A sign-in presented a credential id that no user has (deleted, or never registered
    /// here). The id (base64url) goes back to the page for `signalUnknownCredential`.
    #[error("unknown credential")]
    UnknownCredential { credential_id: String },
    /// The authenticator's signature counter did not increase: possibly a cloned key.
    #[error("signature counter regressed")]
    CounterRegressed,
    /// Too many requests from this client in a rate-limit window.
    #[error("rate limited")]
    RateLimited { retry_after: std::time::Duration },
    /// A provider callback whose state is unknown, used, expired, for another provider, or
    /// brought by another browser than the one that started the flow.
    #[error("invalid provider state")]
    InvalidState,
    /// The provider redirected back with an error instead of a code (`access_denied`, ...).
    #[error("the provider reported an error")]
    ProviderReported {
        error: String,
        description: Option<String>,
        uri: Option<String>,
    },
    /// The token endpoint refused the code or could not be reached.
    #[error("token exchange failed: {0}")]
    TokenExchange(String),
    /// The profile API failed or answered something without an account id.
    #[error("profile fetch failed: {0}")]
    ProfileFetch(String),
    /// The provider refused a refresh token, or its token endpoint failed.
    #[error("provider token refresh failed: {0}")]
    ProviderRefresh(String),
    /// The provider account is linked to another user.
    #[error("provider account linked to another user")]
    ProviderAccountLinked,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    /// A server-side fault that is not the database (e.g. serialising ceremony state).
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
