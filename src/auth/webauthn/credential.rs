//! Between stored keys (Nhost's columns: COSE bytes, base64url id) and webauthn-rs credentials.

use std::str::FromStr;

use serde_cbor_2::Value;
use uuid::Uuid;
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::{
    AttestationFormat, AttestationMetadata, AuthenticatorTransport, COSEKey, Credential,
    ParsedAttestation, ParsedAttestationData, RegisteredExtensions, Registration,
    UserVerificationPolicy,
};

use crate::auth::error::{Error, Result};
use crate::model::SecurityKey;

/// Rebuilds the webauthn-rs credential of a stored key. Keys written by upstream Nhost have
/// no flags stored; they read as "not backup eligible", and the request options allow the
/// upgrade (see `authentication::request_options`).
pub(crate) fn to_credential(
    key: &SecurityKey,
    policy: UserVerificationPolicy,
) -> Result<Credential> {
    let cose: Value = serde_cbor_2::from_slice(&key.public_key)
        .map_err(|_| Error::Internal(format!("key {}: public key is not CBOR", key.id)))?;
    let cred = COSEKey::try_from(&cose)
        .map_err(|_| Error::Internal(format!("key {}: unsupported COSE key", key.id)))?;
    let transports = key
        .transports
        .iter()
        .filter_map(|t| AuthenticatorTransport::from_str(t).ok())
        .collect::<Vec<_>>();
    let attestation_format = key
        .attestation_format
        .as_deref()
        .and_then(|f| AttestationFormat::try_from(f).ok())
        .unwrap_or(AttestationFormat::None);
    Ok(Credential {
        cred_id: key.credential_id.as_bytes().to_vec(),
        cred,
        counter: key.counter,
        transports: (!transports.is_empty()).then_some(transports),
        user_verified: key.user_verified,
        backup_eligible: key.backup_eligible.unwrap_or(false),
        backup_state: key.backup_state.unwrap_or(false),
        registration_policy: policy,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation {
            data: ParsedAttestationData::None,
            metadata: AttestationMetadata::None,
        },
        attestation_format,
    })
}

/// What Nhost's columns need from a registration that webauthn-rs already verified: the
/// COSE_Key bytes and the authenticator's AAGUID.
pub(crate) struct AttestedKey {
    pub cose_key: Vec<u8>,
    pub aaguid: Option<Uuid>,
}

/// Reads the attested credential data out of an attestation object with webauthn-rs's parser.
pub(crate) fn attested_key(attestation_object: &[u8]) -> Result<AttestedKey> {
    let bad = || Error::InvalidRequest("attestationObject");
    let object: Value = serde_cbor_2::from_slice(attestation_object).map_err(|_| bad())?;
    let Value::Map(entries) = object else {
        return Err(bad());
    };
    let auth_data = entries
        .iter()
        .find_map(|(k, v)| match (k, v) {
            (Value::Text(name), Value::Bytes(bytes)) if name == "authData" => Some(bytes),
            _ => None,
        })
        .ok_or_else(bad)?;
    let data =
        AuthenticatorData::<Registration>::try_from(auth_data.as_slice()).map_err(|_| bad())?;
    let acd = data.acd.ok_or_else(bad)?;
    let cose_key = serde_cbor_2::to_vec(&acd.credential_pk).map_err(|_| bad())?;
    let aaguid = Uuid::from_slice(&acd.aaguid).ok().filter(|u| !u.is_nil());
    Ok(AttestedKey { cose_key, aaguid })
}

/// The attestation format's wire name (`packed`, `none`, ...).
pub(crate) fn format_name(format: &AttestationFormat) -> String {
    serde_json::to_value(format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "none".into())
}

pub(crate) fn transport_names(transports: &Option<Vec<AuthenticatorTransport>>) -> Vec<String> {
    transports
        .iter()
        .flatten()
        .filter(|t| !matches!(t, AuthenticatorTransport::Unknown))
        .filter_map(|t| serde_json::to_value(t).ok()?.as_str().map(str::to_owned))
        .collect()
}
