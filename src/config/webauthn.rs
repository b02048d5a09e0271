//! WebAuthn relying-party settings (`AUTH_WEBAUTHN_*`).

use std::time::Duration;

use url::Url;

use super::Vars;

/// `AUTH_WEBAUTHN_USER_VERIFICATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserVerification {
    Required,
    Preferred,
    Discouraged,
}

#[derive(Debug, Clone)]
pub struct WebauthnConfig {
    pub enabled: bool,
    pub rp_id: String,
    pub rp_name: String,
    /// Exact origins accepted in `clientDataJSON.origin` (web and `android:apk-key-hash:`).
    pub rp_origins: Vec<Url>,
    /// The server's own origin while the playground is served (`AUTH_PLAYGROUND_ENABLED`):
    /// accepted in ceremonies like `rp_origins`, but not listed in `/.well-known/webauthn`.
    pub playground_origin: Option<Url>,
    pub timeout: Duration,
    pub user_verification: UserVerification,
}

pub(super) fn webauthn_settings(v: &mut Vars, client_url: &Url) -> WebauthnConfig {
    let rp_id = v
        .get("AUTH_WEBAUTHN_RP_ID")
        .map(str::to_owned)
        .or_else(|| client_url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    let rp_name = v.string("AUTH_WEBAUTHN_RP_NAME", &rp_id);
    let mut rp_origins = Vec::new();
    for origin in v.list("AUTH_WEBAUTHN_RP_ORIGINS") {
        match Url::parse(&origin) {
            Ok(url) => rp_origins.push(url),
            Err(_) => v.errors.push(format!(
                "AUTH_WEBAUTHN_RP_ORIGINS: {origin:?} is not an origin"
            )),
        }
    }
    // Nhost appends the client URL as an origin; a URL with a path would never match a
    // browser origin, so only its origin part is used.
    if let Ok(client_origin) = Url::parse(&client_url.origin().ascii_serialization())
        && !rp_origins.contains(&client_origin)
    {
        rp_origins.push(client_origin);
    }
    // Nhost: the timeout was read as a duration and never applied; here it is milliseconds
    // and bounds both the browser prompt and the stored challenge.
    let timeout_ms = v.number("AUTH_WEBAUTHN_ATTESTATION_TIMEOUT", 60_000u64);
    if !(1_000..=600_000).contains(&timeout_ms) {
        v.errors.push(format!(
            "AUTH_WEBAUTHN_ATTESTATION_TIMEOUT: {timeout_ms} ms is outside 1000..=600000"
        ));
    }
    let user_verification = match v.get("AUTH_WEBAUTHN_USER_VERIFICATION") {
        None | Some("required") => UserVerification::Required,
        Some("preferred") => UserVerification::Preferred,
        Some("discouraged") => UserVerification::Discouraged,
        Some(_) => v.bad(
            "AUTH_WEBAUTHN_USER_VERIFICATION",
            "expected required, preferred or discouraged",
            UserVerification::Required,
        ),
    };
    WebauthnConfig {
        enabled: v.bool("AUTH_WEBAUTHN_ENABLED", false),
        rp_id,
        rp_name,
        rp_origins,
        playground_origin: None,
        timeout: Duration::from_millis(timeout_ms),
        user_verification,
    }
}
