//! WebAuthn relying-party settings (`AUTH_WEBAUTHN_*`).

use std::time::Duration;

use url::Url;
use uuid::Uuid;

use super::Vars;

/// `AUTH_WEBAUTHN_USER_VERIFICATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserVerification {
    Required,
    Preferred,
    Discouraged,
}

/// `AUTH_WEBAUTHN_ATTESTATION`: the attestation conveyance asked of authenticators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attestation {
    None,
    Indirect,
    Direct,
}

/// Which authenticator models may register: set by `AUTH_WEBAUTHN_ALLOWED_AAGUIDS`, and
/// verified against trust anchors from a PEM file and/or a FIDO MDS3 blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationPolicy {
    pub allowed_aaguids: Vec<Uuid>,
    /// PEM bundle of attestation root certificates (`LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE`).
    pub ca_file: Option<String>,
    /// FIDO Metadata Service v3 blob, a signed JWT (`LATCHKEY_WEBAUTHN_MDS_FILE`).
    pub mds_file: Option<String>,
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
    pub attestation: Attestation,
    /// `None`: any authenticator may register (attestation statements are still checked for
    /// internal consistency by webauthn-rs).
    pub attestation_policy: Option<AttestationPolicy>,
}

/// `enabled_by_default`: upstream's default is off; the zero-config SQLite run turns it on
/// so that `latchkey serve` alone is a working passkey server.
pub(super) fn webauthn_settings(
    v: &mut Vars,
    client_url: &Url,
    enabled_by_default: bool,
) -> WebauthnConfig {
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
    let attestation_policy = attestation_policy(v);
    let attestation = match v.get("AUTH_WEBAUTHN_ATTESTATION") {
        // Verifying a model needs its attestation statement.
        None if attestation_policy.is_some() => Attestation::Direct,
        None | Some("none") => Attestation::None,
        Some("indirect") => Attestation::Indirect,
        Some("direct") => Attestation::Direct,
        Some(_) => v.bad(
            "AUTH_WEBAUTHN_ATTESTATION",
            "expected none, indirect or direct",
            Attestation::None,
        ),
    };
    if attestation == Attestation::None && attestation_policy.is_some() {
        v.errors.push(
            "AUTH_WEBAUTHN_ATTESTATION: none cannot verify AUTH_WEBAUTHN_ALLOWED_AAGUIDS; \
             use direct (the default when an allow-list is set)"
                .into(),
        );
    }
    WebauthnConfig {
        enabled: v.bool("AUTH_WEBAUTHN_ENABLED", enabled_by_default),
        rp_id,
        rp_name,
        rp_origins,
        playground_origin: None,
        timeout: Duration::from_millis(timeout_ms),
        user_verification,
        attestation,
        attestation_policy,
    }
}

/// The allow-list and its trust anchors. The files are read when the relying party is
/// built, so a bad file stops start-up with its own message.
fn attestation_policy(v: &mut Vars) -> Option<AttestationPolicy> {
    let ca_file = v
        .get("LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE")
        .map(str::to_owned);
    let mds_file = v.get("LATCHKEY_WEBAUTHN_MDS_FILE").map(str::to_owned);
    let mut allowed_aaguids = Vec::new();
    for text in v.list("AUTH_WEBAUTHN_ALLOWED_AAGUIDS") {
        match Uuid::parse_str(&text) {
            Ok(aaguid) => allowed_aaguids.push(aaguid),
            Err(_) => v.errors.push(format!(
                "AUTH_WEBAUTHN_ALLOWED_AAGUIDS: {text:?} is not an AAGUID (a UUID)"
            )),
        }
    }
    if allowed_aaguids.is_empty() {
        if ca_file.is_some() || mds_file.is_some() {
            v.errors.push(
                "LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE/LATCHKEY_WEBAUTHN_MDS_FILE: \
                 only used with AUTH_WEBAUTHN_ALLOWED_AAGUIDS"
                    .into(),
            );
        }
        return None;
    }
    if ca_file.is_none() && mds_file.is_none() {
        v.errors.push(
            "AUTH_WEBAUTHN_ALLOWED_AAGUIDS: needs trust anchors to verify attestation; \
             set LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE and/or LATCHKEY_WEBAUTHN_MDS_FILE"
                .into(),
        );
    }
    Some(AttestationPolicy {
        allowed_aaguids,
        ca_file,
        mds_file,
    })
}
