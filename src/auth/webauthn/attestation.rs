//! Attestation policy: which authenticator models may register. With
//! `AUTH_WEBAUTHN_ALLOWED_AAGUIDS`, a new key must carry an attestation statement that chains
//! to a configured trust anchor *and* names an allowed AAGUID; anything else is refused.

use std::collections::BTreeMap;

use fido_mds::FidoMds;
use uuid::Uuid;
use webauthn_rs_core::proto::{AttestationCaList, AttestationCaListBuilder};

use crate::config::AttestationPolicy;

/// The allow-list with the trust anchors that vouch for it, built once per configuration.
pub struct AttestationTrust {
    pub allowed_aaguids: Vec<Uuid>,
    pub cas: AttestationCaList,
}

impl AttestationTrust {
    /// Reads the CA file and the MDS blob; any problem stops start-up with its own message.
    pub fn load(policy: &AttestationPolicy) -> Result<Self, String> {
        let mut builder = AttestationCaListBuilder::new();
        if let Some(path) = &policy.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE: {path}: {e}"))?;
            let certs = openssl::x509::X509::stack_from_pem(&pem)
                .map_err(|e| format!("LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE: {path}: {e}"))?;
            if certs.is_empty() {
                return Err(format!(
                    "LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE: {path}: no PEM certificate found"
                ));
            }
            // Each root vouches for exactly the allowed models, so a root that also signs
            // other models does not let those in.
            for cert in certs {
                let der = cert
                    .to_der()
                    .map_err(|e| format!("LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE: {path}: {e}"))?;
                for aaguid in &policy.allowed_aaguids {
                    builder
                        .insert_device_der(&der, *aaguid, aaguid.to_string(), BTreeMap::new())
                        .map_err(|e| {
                            format!("LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE: {path}: {e}")
                        })?;
                }
            }
        }
        let mut cas = builder.build();
        if let Some(path) = &policy.mds_file {
            cas.union(&mds_roots(path, &policy.allowed_aaguids)?);
        }
        if cas.is_empty() {
            return Err(
                "AUTH_WEBAUTHN_ALLOWED_AAGUIDS: no trust anchor found for any allowed AAGUID"
                    .into(),
            );
        }
        Ok(AttestationTrust {
            allowed_aaguids: policy.allowed_aaguids.clone(),
            cas,
        })
    }

    pub fn allows(&self, aaguid: Option<Uuid>) -> bool {
        aaguid.is_some_and(|a| self.allowed_aaguids.contains(&a))
    }
}

/// The attestation roots the FIDO Metadata Service lists for the allowed models. The blob's
/// signature is checked against the FIDO Alliance's roots by `fido-mds`.
fn mds_roots(path: &str, allowed: &[Uuid]) -> Result<AttestationCaList, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("LATCHKEY_WEBAUTHN_MDS_FILE: {path}: {e}"))?;
    let mds: FidoMds = text.trim().parse().map_err(|e| {
        format!("LATCHKEY_WEBAUTHN_MDS_FILE: {path}: not a valid, signed MDS3 blob ({e:?})")
    })?;
    let devices: Vec<_> = mds
        .fido2
        .iter()
        .filter(|device| allowed.contains(&device.aaguid))
        .cloned()
        .collect();
    if devices.is_empty() {
        return Ok(AttestationCaListBuilder::new().build());
    }
    FidoMds::fido2_to_attestation_ca_list(&devices).ok_or_else(|| {
        format!("LATCHKEY_WEBAUTHN_MDS_FILE: {path}: a root certificate of an allowed model is unreadable")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ca_file: Option<&str>, mds_file: Option<&str>) -> AttestationPolicy {
        AttestationPolicy {
            allowed_aaguids: vec![Uuid::new_v4()],
            ca_file: ca_file.map(str::to_owned),
            mds_file: mds_file.map(str::to_owned),
        }
    }

    fn temp_file(contents: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("latchkey-test-{}", Uuid::new_v4()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn load_error(policy: &AttestationPolicy) -> String {
        match AttestationTrust::load(policy) {
            Ok(_) => panic!("loaded"),
            Err(err) => err,
        }
    }

    #[test]
    fn unreadable_anchor_files_stop_start_up_with_their_variable_named() {
        let missing = load_error(&policy(Some("/nonexistent/cas.pem"), None));
        assert!(
            missing.starts_with("LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE"),
            "{missing}"
        );

        let not_pem = temp_file("hello");
        let err = load_error(&policy(not_pem.to_str(), None));
        assert!(err.contains("no PEM certificate"), "{err}");

        // A blob not signed by the FIDO Alliance's roots is refused, never half-trusted.
        let forged = temp_file("eyJhbGciOiJFUzI1NiJ9.eyJlbnRyaWVzIjpbXX0.c2ln");
        let err = load_error(&policy(None, forged.to_str()));
        assert!(err.starts_with("LATCHKEY_WEBAUTHN_MDS_FILE"), "{err}");
        assert!(err.contains("not a valid, signed MDS3 blob"), "{err}");
        for path in [not_pem, forged] {
            let _ = std::fs::remove_file(path);
        }
    }
}
