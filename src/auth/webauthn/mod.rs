//! WebAuthn ceremonies over `webauthn-rs-core`: sign-up, sign-in (by e-mail or discoverable),
//! adding a key, and elevation. Every ceremony's state lives in the database, bound to its
//! flow and user, and is taken exactly once.

mod attestation;
mod authentication;
mod credential;
mod keys;
mod registration;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::proto::UserVerificationPolicy;

pub use attestation::AttestationTrust;
pub use authentication::RequestOptions;
pub use keys::{KeySignals, ManagedKey};
pub use registration::{CreationOptions, RegisteredKey};

use super::error::{Error, Result};
use crate::config::{UserVerification, WebauthnConfig};
use crate::model::{Purpose, Timestamp, User, UserId};

/// Builds the relying party once per configuration; a bad RP fails start-up, not a request.
pub fn relying_party(config: &WebauthnConfig) -> std::result::Result<WebauthnCore, String> {
    if config.rp_id.is_empty() || config.rp_id.contains('/') || config.rp_id.contains(':') {
        return Err(format!(
            "AUTH_WEBAUTHN_RP_ID: {:?} is not a domain",
            config.rp_id
        ));
    }
    let mut origins = config.rp_origins.clone();
    origins.extend(config.playground_origin.clone());
    Ok(WebauthnCore::new_unsafe_experts_only(
        &config.rp_name,
        &config.rp_id,
        origins,
        config.timeout,
        // Origins match exactly: no subdomains, no other ports.
        Some(false),
        Some(false),
    ))
}

impl super::Auth {
    /// The origins allowed to use this RP ID, for `/.well-known/webauthn` (WebAuthn L3
    /// related origin requests): `AUTH_WEBAUTHN_RP_ORIGINS` plus the client URL's origin,
    /// as browsers write them (no trailing slash).
    pub fn related_origins(&self) -> Vec<String> {
        self.runtime()
            .config
            .webauthn
            .rp_origins
            .iter()
            .map(|url| {
                let origin = url.origin();
                if origin.is_tuple() {
                    origin.ascii_serialization()
                } else {
                    url.as_str().to_owned()
                }
            })
            .collect()
    }
}

pub(crate) fn policy(uv: UserVerification) -> UserVerificationPolicy {
    match uv {
        UserVerification::Required => UserVerificationPolicy::Required,
        UserVerification::Preferred => UserVerificationPolicy::Preferred,
        UserVerification::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
    }
}

/// The account name and display name a signed-in user's keys are registered under: the
/// e-mail (or id), and the display name when set.
pub(crate) fn account_names(user: &User) -> (String, String) {
    let name = user.email.clone().unwrap_or_else(|| user.id.to_string());
    let display_name = if user.display_name.is_empty() {
        name.clone()
    } else {
        user.display_name.clone()
    };
    (name, display_name)
}

/// The WebAuthn user handle of a user: the bytes whose base64url text is the UUID string.
/// Nhost sends `user.id` as the plain UUID string and browsers base64url-decode it, so the
/// authenticator stores these 27 bytes; existing passkeys keep working.
pub(crate) fn user_handle(user_id: UserId) -> Vec<u8> {
    // 36 characters of [0-9a-f-] are valid unpadded base64url (36 * 6 = 27 * 8 bits).
    URL_SAFE_NO_PAD
        .decode(user_id.to_string())
        .unwrap_or_else(|_| user_id.as_uuid().as_bytes().to_vec())
}

/// Reads a user handle back to a user id. Accepts the Nhost form (27 bytes, see
/// `user_handle`), the 36 ASCII bytes of the UUID string, and the 16 raw UUID bytes.
pub(crate) fn user_id_from_handle(handle: &[u8]) -> Option<UserId> {
    let uuid = match handle.len() {
        16 => Uuid::from_slice(handle).ok(),
        36 => std::str::from_utf8(handle)
            .ok()
            .and_then(|s| Uuid::parse_str(s).ok()),
        27 => Uuid::parse_str(&URL_SAFE_NO_PAD.encode(handle)).ok(),
        _ => None,
    }?;
    Some(UserId::from_uuid(uuid))
}

/// The challenge the client signed, read from `clientDataJSON`: the key its ceremony is
/// stored under. Only this field is read here; webauthn-rs checks the rest.
pub(crate) fn client_challenge(client_data_json: &[u8]) -> Result<String> {
    #[derive(Deserialize)]
    struct ClientData {
        challenge: String,
    }
    let data: ClientData = serde_json::from_slice(client_data_json)
        .map_err(|_| Error::InvalidRequest("clientDataJSON"))?;
    if data.challenge.is_empty() || data.challenge.len() > 256 {
        return Err(Error::InvalidRequest("clientDataJSON.challenge"));
    }
    Ok(data.challenge.trim_end_matches('=').to_owned())
}

/// Counts a finished ceremony by flow and outcome: `finished`, or why it was refused.
pub(crate) fn observe<T>(purpose: Purpose, result: Result<T>) -> Result<T> {
    let outcome = match &result {
        Ok(_) => "finished",
        Err(err) => refusal_reason(err),
    };
    metrics::counter!("latchkey_webauthn_ceremonies_total",
        "flow" => purpose.as_str(), "outcome" => outcome)
    .increment(1);
    result
}

/// A bounded label for a refused ceremony, so dashboards can tell attacks from bugs.
fn refusal_reason(err: &Error) -> &'static str {
    use webauthn_rs_core::error::WebauthnError as W;
    match err {
        Error::ChallengeGone => "challenge_gone",
        Error::AttestationRefused => "attestation_refused",
        Error::UnknownCredential { .. } => "unknown_credential",
        Error::CounterRegressed => "counter_regressed",
        Error::Ceremony(W::InvalidRPOrigin) => "origin",
        Error::Ceremony(W::InvalidRPIDHash) => "rp_id",
        Error::Ceremony(W::UserNotVerified) => "user_verification",
        Error::Ceremony(W::AuthenticationFailure) => "bad_signature",
        Error::Ceremony(W::CredentialNotFound) => "unknown_credential",
        Error::Ceremony(W::MismatchedChallenge) => "challenge_mismatch",
        Error::Ceremony(_) => "invalid_credential",
        Error::EndpointDisabled => "disabled",
        Error::UserDisabled | Error::Unverified | Error::ForbiddenAnonymous => "user_state",
        Error::BadCredentials => "bad_credentials",
        Error::EmailTaken => "email_taken",
        Error::Store(_) | Error::Mail(_) | Error::Internal(_) => "server_error",
        _ => "invalid_request",
    }
}

pub(crate) fn expiry(now: Timestamp, timeout: Duration) -> Timestamp {
    now + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::minutes(5))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("ceremony state: {e}")))
}

pub(crate) fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Internal(format!("ceremony state: {e}")))
}

/// The credential's `id` must be the base64url form of its `rawId`, as browsers send it.
/// webauthn-rs reads only `rawId`, so a different `id` was accepted, and is what the audit log
/// records as the credential id (found by `tests/e2e/fuzz.rs`). Checked before the challenge
/// is taken: a malformed answer does not use it up.
pub(crate) fn check_credential_id(id: &str, raw_id: &[u8]) -> Result<()> {
    if id.trim_end_matches('=') == URL_SAFE_NO_PAD.encode(raw_id) {
        Ok(())
    } else {
        Err(Error::InvalidRequest("credential id is not its rawId"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_handle_round_trips_in_every_encoding() {
        let id = UserId::new_random();
        let handle = user_handle(id);
        assert_eq!(handle.len(), 27);
        assert_eq!(URL_SAFE_NO_PAD.encode(&handle), id.to_string());
        assert_eq!(user_id_from_handle(&handle), Some(id));
        assert_eq!(user_id_from_handle(id.to_string().as_bytes()), Some(id));
        assert_eq!(user_id_from_handle(id.as_uuid().as_bytes()), Some(id));
        assert_eq!(user_id_from_handle(b"short"), None);
        assert_eq!(user_id_from_handle(&[0xff; 36]), None);
    }

    #[test]
    fn client_challenge_is_read_and_bounded() {
        assert_eq!(
            client_challenge(br#"{"challenge":"abc","type":"x"}"#).unwrap(),
            "abc"
        );
        assert!(client_challenge(b"not json").is_err());
        assert!(client_challenge(br#"{"type":"x"}"#).is_err());
        let long = format!(r#"{{"challenge":"{}"}}"#, "a".repeat(300));
        assert!(client_challenge(long.as_bytes()).is_err());
    }
}
