//! The one place that knows Nhost's error codes, statuses and messages.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth;
use crate::store::StoreError;

/// Every code of the OpenAPI `ErrorResponse` enum that Latchkey emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    InvalidRequest,
    DisabledEndpoint,
    SignupDisabled,
    DisabledUser,
    UnverifiedUser,
    ForbiddenAnonymous,
    InvalidEmailPassword,
    EmailAlreadyInUse,
    DefaultRoleMustBeInAllowedRoles,
    RoleNotAllowed,
    #[serde(rename = "redirectTo-not-allowed")] // upstream's spelling is the contract
    RedirectToNotAllowed,
    InvalidRefreshToken,
    InvalidTicket,
    InvalidPat,
    DisabledMfaTotp,
    NoTotpSecret,
    InvalidTotp,
    TotpAlreadyActive,
    UserNotAnonymous,
    PasswordTooShort,
    PasswordInHibpDatabase,
    CannotSendSms,
    InternalServerError,
    /// Not in Nhost's list: the database is unreachable. A distinct 503 lets load balancers
    /// and clients retry instead of treating the outage as a bug.
    ServiceUnavailable,
    /// Not in Nhost's list (upstream answers 429 with an empty body): a rate limit was hit.
    TooManyRequests,
    /// Not in Nhost's list: the request was not answered within `LATCHKEY_REQUEST_TIMEOUT`
    /// (typically a client that stalls while sending its body).
    RequestTimeout,
    /// The body is over `BODY_LIMIT`: `invalid-request` on the wire, with status 413.
    #[serde(rename = "invalid-request")]
    BodyTooLarge,
    InvalidState,
    #[serde(rename = "oauth-token-echange-failed")] // upstream's spelling is the contract
    OauthTokenExchangeFailed,
    OauthProfileFetchFailed,
    OauthProviderError,
    ProviderAccountAlreadyLinked,
    /// Not in the Go server's list: the TypeScript server's answer to a wrong or missing
    /// `X-Hasura-Admin-Secret` on `POST /user/provider/tokens`, kept for that route.
    InvalidAdminSecret,
}

impl ErrorCode {
    /// Status and message, worded as upstream.
    pub fn status_and_message(self) -> (StatusCode, &'static str) {
        use {ErrorCode::*, StatusCode as S};
        match self {
            InvalidRequest => (S::BAD_REQUEST, "The request payload is incorrect"),
            DisabledEndpoint => (S::CONFLICT, "This endpoint is disabled"),
            SignupDisabled => (S::FORBIDDEN, "Sign up is disabled."),
            DisabledUser => (S::UNAUTHORIZED, "User is disabled"),
            UnverifiedUser => (S::UNAUTHORIZED, "User is not verified."),
            ForbiddenAnonymous => (S::FORBIDDEN, "Forbidden, user is anonymous."),
            InvalidEmailPassword => (S::UNAUTHORIZED, "Incorrect email or password"),
            EmailAlreadyInUse => (S::CONFLICT, "Email already in use"),
            DefaultRoleMustBeInAllowedRoles => {
                (S::BAD_REQUEST, "Default role must be in allowed roles")
            }
            RoleNotAllowed => (S::BAD_REQUEST, "Role not allowed"),
            RedirectToNotAllowed => (
                S::BAD_REQUEST,
                "The value of \"options.redirectTo\" is not allowed.",
            ),
            InvalidRefreshToken => (S::UNAUTHORIZED, "Invalid or expired refresh token"),
            InvalidTicket => (S::UNAUTHORIZED, "Invalid ticket"),
            InvalidPat => (S::UNAUTHORIZED, "Invalid or expired personal access token"),
            DisabledMfaTotp => (S::UNAUTHORIZED, "User does not have TOTP MFA enabled"),
            NoTotpSecret => (S::BAD_REQUEST, "User does not have a TOTP secret"),
            InvalidTotp => (S::UNAUTHORIZED, "Invalid TOTP code"),
            TotpAlreadyActive => (S::BAD_REQUEST, "TOTP MFA is already active"),
            UserNotAnonymous => (S::BAD_REQUEST, "Logged in user is not anonymous"),
            PasswordTooShort => (S::BAD_REQUEST, "Password is too short"),
            PasswordInHibpDatabase => (S::BAD_REQUEST, "Password is in HIBP database"),
            CannotSendSms => (
                S::BAD_REQUEST,
                "Cannot send SMS, check your phone number is correct",
            ),
            InternalServerError => (S::INTERNAL_SERVER_ERROR, "Internal server error"),
            TooManyRequests => (S::TOO_MANY_REQUESTS, "Too many requests, try again later"),
            RequestTimeout => (S::REQUEST_TIMEOUT, "The request took too long"),
            BodyTooLarge => (S::PAYLOAD_TOO_LARGE, "The request body is too large"),
            InvalidState => (S::BAD_REQUEST, "Invalid state"),
            OauthTokenExchangeFailed => (S::BAD_REQUEST, "Failed to exchange token"),
            OauthProfileFetchFailed => (S::BAD_REQUEST, "Failed to get user profile"),
            OauthProviderError => (S::BAD_REQUEST, "Provider returned an error"),
            InvalidAdminSecret => (S::UNAUTHORIZED, "Invalid admin secret"),
            ProviderAccountAlreadyLinked => (
                S::BAD_REQUEST,
                "This provider account is already linked to another user",
            ),
            ServiceUnavailable => (
                S::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable, try again later",
            ),
        }
    }

    /// Codes `AUTH_CONCEAL_ERRORS` replaces with `invalid-request`: they tell who exists.
    pub fn is_sensitive(self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            SignupDisabled
                | DisabledUser
                | UnverifiedUser
                | ForbiddenAnonymous
                | InvalidEmailPassword
                | EmailAlreadyInUse
                | RoleNotAllowed
                | InvalidRefreshToken
                | InvalidTicket
                | DisabledMfaTotp
                | NoTotpSecret
                | InvalidTotp
        )
    }
}

/// An error on its way to the client. The cause is kept for the log, never sent.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub cause: Option<auth::Error>,
}

impl ApiError {
    pub fn invalid_admin_secret() -> Self {
        ApiError {
            code: ErrorCode::InvalidAdminSecret,
            cause: None,
        }
    }

    pub fn invalid_request() -> Self {
        ApiError {
            code: ErrorCode::InvalidRequest,
            cause: None,
        }
    }

    pub fn body_too_large() -> Self {
        ApiError {
            code: ErrorCode::BodyTooLarge,
            cause: None,
        }
    }
}

/// The cause of a 5xx, carried in response extensions to the logging middleware.
#[derive(Clone)]
pub struct ErrorCause(pub Arc<auth::Error>);

#[derive(Serialize)]
pub struct ErrorBody {
    pub status: u16,
    pub message: &'static str,
    pub error: ErrorCode,
    /// WebAuthn Signal API: a credential this server does not know, so the page can call
    /// `PublicKeyCredential.signalUnknownCredential({rpId, credentialId})`.
    #[serde(rename = "credentialId", skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

pub fn error_response(code: ErrorCode) -> Response {
    let (_, message) = code.status_and_message();
    error_body_response(code, message, None)
}

/// `error_response` with a more precise message than the code's, and Latchkey's extras.
fn error_body_response(
    code: ErrorCode,
    message: &'static str,
    credential_id: Option<String>,
) -> Response {
    let (status, _) = code.status_and_message();
    let body = ErrorBody {
        status: status.as_u16(),
        message,
        error: code,
        credential_id,
    };
    let mut response = (status, Json(body)).into_response();
    if code == ErrorCode::ServiceUnavailable {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
    }
    response.extensions_mut().insert(code);
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (_, mut message) = self.code.status_and_message();
        let mut credential_id = None;
        match &self.cause {
            Some(auth::Error::AttestationRefused) => {
                message = "This authenticator model is not allowed by this server";
            }
            Some(auth::Error::UnknownCredential { credential_id: id }) => {
                credential_id = Some(id.clone());
            }
            _ => {}
        }
        let mut response = error_body_response(self.code, message, credential_id);
        if let Some(auth::Error::RateLimited { retry_after }) = &self.cause {
            let seconds = retry_after.as_secs().max(1).to_string();
            if let Ok(value) = axum::http::HeaderValue::from_str(&seconds) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        if let Some(cause) = self.cause {
            response
                .extensions_mut()
                .insert(ErrorCause(Arc::new(cause)));
        }
        response
    }
}

impl From<auth::Error> for ApiError {
    fn from(err: auth::Error) -> Self {
        use auth::Error as E;
        let code = match &err {
            E::BadCredentials | E::CounterRegressed | E::UnknownCredential { .. } => {
                ErrorCode::InvalidEmailPassword
            }
            E::AttestationRefused => ErrorCode::InvalidRequest,
            E::EndpointDisabled => ErrorCode::DisabledEndpoint,
            E::SignupDisabled => ErrorCode::SignupDisabled,
            E::UserDisabled => ErrorCode::DisabledUser,
            E::Unverified => ErrorCode::UnverifiedUser,
            E::ForbiddenAnonymous => ErrorCode::ForbiddenAnonymous,
            E::EmailTaken => ErrorCode::EmailAlreadyInUse,
            E::DefaultRoleNotAllowed => ErrorCode::DefaultRoleMustBeInAllowedRoles,
            E::RoleNotAllowed => ErrorCode::RoleNotAllowed,
            E::RedirectNotAllowed => ErrorCode::RedirectToNotAllowed,
            E::InvalidRefreshToken => ErrorCode::InvalidRefreshToken,
            E::InvalidTicket => ErrorCode::InvalidTicket,
            E::InvalidPat => ErrorCode::InvalidPat,
            E::MfaNotActive => ErrorCode::DisabledMfaTotp,
            E::NoTotpSecret => ErrorCode::NoTotpSecret,
            E::InvalidTotp => ErrorCode::InvalidTotp,
            E::TotpAlreadyActive => ErrorCode::TotpAlreadyActive,
            E::UserNotAnonymous => ErrorCode::UserNotAnonymous,
            E::PasswordTooShort => ErrorCode::PasswordTooShort,
            E::PasswordPwned => ErrorCode::PasswordInHibpDatabase,
            E::SmsNotSent(_) => ErrorCode::CannotSendSms,
            // Nhost defines `invalid-otp` but answers a bad SMS code with `invalid-request`.
            E::InvalidCode => ErrorCode::InvalidRequest,
            // Not Nhost's: the breach check could not run; a retry may succeed.
            E::CheckUnavailable => ErrorCode::ServiceUnavailable,
            // Nhost (HA) answers bearer and elevation failures with 400 before the handler.
            E::Unauthenticated | E::ElevationRequired => ErrorCode::InvalidRequest,
            E::InvalidRequest(_) | E::ChallengeGone | E::Ceremony(_) => ErrorCode::InvalidRequest,
            E::BadVariables(_) => ErrorCode::InvalidRequest,
            E::RateLimited { .. } => ErrorCode::TooManyRequests,
            E::Store(StoreError::Unavailable(_)) => ErrorCode::ServiceUnavailable,
            // Latchkey's key management; unknown and foreign ids answer alike.
            E::UnknownKey | E::LastSignInMethod | E::UnknownPat => ErrorCode::InvalidRequest,
            E::InvalidState => ErrorCode::InvalidState,
            E::ProviderReported { .. } => ErrorCode::OauthProviderError,
            E::ProviderRefresh(_) => ErrorCode::OauthProviderError,
            E::TokenExchange(_) => ErrorCode::OauthTokenExchangeFailed,
            E::ProfileFetch(_) => ErrorCode::OauthProfileFetchFailed,
            // Newer upstream's code; older ones answer invalid-request.
            E::ProviderAccountLinked => ErrorCode::ProviderAccountAlreadyLinked,
            E::Store(_) | E::Mail(_) | E::Internal(_) => ErrorCode::InternalServerError,
        };
        ApiError {
            code,
            cause: Some(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_status_matches_http_status_for_every_code() {
        use ErrorCode::*;
        for code in [
            InvalidRequest,
            DisabledEndpoint,
            SignupDisabled,
            DisabledUser,
            UnverifiedUser,
            ForbiddenAnonymous,
            InvalidEmailPassword,
            EmailAlreadyInUse,
            DefaultRoleMustBeInAllowedRoles,
            RoleNotAllowed,
            RedirectToNotAllowed,
            InvalidRefreshToken,
            InvalidTicket,
            InvalidPat,
            DisabledMfaTotp,
            NoTotpSecret,
            InvalidTotp,
            TotpAlreadyActive,
            UserNotAnonymous,
            PasswordTooShort,
            PasswordInHibpDatabase,
            CannotSendSms,
            InternalServerError,
            ServiceUnavailable,
            TooManyRequests,
            RequestTimeout,
            BodyTooLarge,
        ] {
            let (status, message) = code.status_and_message();
            assert!(!message.is_empty());
            let wire = serde_json::to_value(code).unwrap();
            assert!(wire.as_str().unwrap().contains('-'), "{wire}");
            assert_eq!(error_response(code).status(), status);
        }
        assert_eq!(
            serde_json::to_value(RedirectToNotAllowed).unwrap(),
            "redirectTo-not-allowed"
        );
    }
}
