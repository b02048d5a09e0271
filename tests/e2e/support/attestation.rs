//! A test attestation CA: turns the software authenticator's `none` attestation into a
//! `packed` one, signed by a leaf certificate this CA issued, as a hardware key would send.
//! Certificates and signatures come from OpenSSL, CBOR from serde_cbor_2.
#![allow(
    dead_code,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use std::path::PathBuf;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::authenticator::{b64url, b64url_decode};

pub struct TestCa {
    key: PKey<Private>,
    cert: X509,
}

fn p256_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn builder(serial: u32) -> X509Builder {
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let key = p256_key();
        let mut subject = X509NameBuilder::new().unwrap();
        subject.append_entry_by_text("C", "SE").unwrap();
        subject.append_entry_by_text("O", name).unwrap();
        subject.append_entry_by_text("CN", name).unwrap();
        let subject = subject.build();
        let mut b = builder(1);
        b.set_subject_name(&subject).unwrap();
        b.set_issuer_name(&subject).unwrap();
        b.set_pubkey(&key).unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        TestCa {
            key,
            cert: b.build(),
        }
    }

    /// Writes the root certificate as PEM to a fresh temp file.
    pub fn write_pem(&self) -> PathBuf {
        let path = std::env::temp_dir().join(format!("latchkey-ca-{}.pem", uuid::Uuid::new_v4()));
        std::fs::write(&path, self.cert.to_pem().unwrap()).unwrap();
        path
    }

    /// Re-wraps a registration credential's attestation as `packed` with an `x5c` chain
    /// [leaf issued by this CA]. The leaf meets WebAuthn's packed certificate requirements.
    pub fn attest(&self, credential: &mut Value) {
        let leaf_key = p256_key();
        let mut subject = X509NameBuilder::new().unwrap();
        subject.append_entry_by_text("C", "SE").unwrap();
        subject
            .append_entry_by_text("O", "Latchkey Test Keys")
            .unwrap();
        subject
            .append_entry_by_text("OU", "Authenticator Attestation")
            .unwrap();
        subject
            .append_entry_by_text("CN", "Test Key Batch 1")
            .unwrap();
        let mut b = builder(2);
        b.set_subject_name(&subject.build()).unwrap();
        b.set_issuer_name(self.cert.subject_name()).unwrap();
        b.set_pubkey(&leaf_key).unwrap();
        b.append_extension(BasicConstraints::new().build().unwrap())
            .unwrap();
        b.sign(&self.key, MessageDigest::sha256()).unwrap();
        let leaf = b.build();

        let response = &mut credential["response"];
        let client_data = b64url_decode(response["clientDataJSON"].as_str().unwrap());
        let object_bytes = b64url_decode(response["attestationObject"].as_str().unwrap());
        let object: Cbor = serde_cbor_2::from_slice(&object_bytes).unwrap();
        let Cbor::Map(mut map) = object else {
            panic!("attestationObject is not a map")
        };
        let Some(Cbor::Bytes(auth_data)) = map.get(&Cbor::Text("authData".into())).cloned() else {
            panic!("attestationObject without authData")
        };
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let mut signer = Signer::new(MessageDigest::sha256(), &leaf_key).unwrap();
        signer.update(&signed).unwrap();
        let sig = signer.sign_to_vec().unwrap();

        let mut statement = std::collections::BTreeMap::new();
        statement.insert(Cbor::Text("alg".into()), Cbor::Integer(-7));
        statement.insert(Cbor::Text("sig".into()), Cbor::Bytes(sig));
        statement.insert(
            Cbor::Text("x5c".into()),
            Cbor::Array(vec![Cbor::Bytes(leaf.to_der().unwrap())]),
        );
        map.insert(Cbor::Text("fmt".into()), Cbor::Text("packed".into()));
        map.insert(Cbor::Text("attStmt".into()), Cbor::Map(statement));
        let bytes = serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap();
        response["attestationObject"] = json!(b64url(&bytes));
    }
}
