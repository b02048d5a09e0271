//! A software passkey (one P-256 key) and the browser-side client logic, on JSON only.
//!
//! Same approach as the e2e tests' authenticator: 1Password's `passkey-authenticator` does
//! the CTAP2 `make_credential` / `get_assertion` work (real ES256 keys, `none` attestation);
//! this module builds `clientDataJSON` and the `PublicKeyCredential.toJSON()` envelope.
// Only `serde_json::Value` is indexed here, which answers `Null` for a missing key.
#![allow(clippy::indexing_slicing)]

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passkey_authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey_crypto::{iana, rust_crypto::RustCryptoBackend};
use passkey_types::{
    Passkey,
    ctap2::{
        Aaguid, Ctap2Error, StatusCode, get_assertion,
        make_credential::{self, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity},
    },
    webauthn::{
        self as wa, PublicKeyCredentialDescriptor, PublicKeyCredentialParameters,
        PublicKeyCredentialType,
    },
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64url_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .with_context(|| format!("invalid base64url {s:?}"))
}

/// Holds the one credential this authenticator makes.
#[derive(Default)]
struct OneKey(Option<Passkey>);

#[async_trait]
impl CredentialStore for OneKey {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        _ids: Option<&[PublicKeyCredentialDescriptor]>,
        _rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        self.0
            .clone()
            .map(|pk| vec![pk])
            .ok_or_else(|| Ctap2Error::NoCredentials.into())
    }

    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: make_credential::Options,
    ) -> Result<(), StatusCode> {
        self.0 = Some(cred);
        Ok(())
    }

    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), StatusCode> {
        self.0 = Some(cred.clone());
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo {
            discoverability: DiscoverabilitySupport::ForcedDiscoverable,
        }
    }
}

/// A user who is always present and verified.
struct Present;

#[async_trait]
impl UserValidationMethod for Present {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        _presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence: true,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

/// A platform authenticator with one ES256 passkey, plus the browser's part.
pub struct SoftPasskey {
    inner: Authenticator<OneKey, Present, RustCryptoBackend>,
    origin: String,
}

impl SoftPasskey {
    pub fn new(origin: &str) -> anyhow::Result<Self> {
        let mut inner = Authenticator::new(
            Aaguid::from([0; 16]),
            OneKey::default(),
            Present,
            RustCryptoBackend,
        );
        inner.set_make_credentials_with_signature_counter(true);
        inner
            .set_algorithms(&[iana::Algorithm::ES256])
            .map_err(|e| anyhow!("ES256: {e:?}"))?;
        Ok(Self {
            inner,
            origin: origin.to_owned(),
        })
    }

    /// `navigator.credentials.create()` for the server's creation options.
    pub async fn register(&mut self, opts: &Value) -> anyhow::Result<Value> {
        let rp_id = opts["rp"]["id"]
            .as_str()
            .context("rp.id missing")?
            .to_owned();
        let user = &opts["user"];
        let user_id = b64url_decode(user["id"].as_str().context("user.id missing")?)?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let params: Vec<PublicKeyCredentialParameters> = (opts["pubKeyCredParams"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|p| serde_json::from_value(p.clone()).ok())
            .collect();
        let client_data = self.client_data("webauthn.create", opts)?;
        let request = make_credential::Request {
            client_data_hash: Sha256::digest(&client_data).to_vec().into(),
            rp: PublicKeyCredentialRpEntity {
                id: rp_id,
                name: opts["rp"]["name"].as_str().map(str::to_owned),
            },
            user: wa::PublicKeyCredentialUserEntity {
                id: user_id.into(),
                name: text(&user["name"]),
                display_name: text(&user["displayName"]),
            },
            pub_key_cred_params: params,
            exclude_list: None,
            extensions: None,
            options: make_credential::Options {
                rk: true,
                up: true,
                uv: true,
            },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = (self.inner.make_credential(request).await)
            .map_err(|e| anyhow!("make_credential: {e:?}"))?;
        let cred_id = (response.auth_data.attested_credential_data.as_ref())
            .context("no attested credential data")?
            .credential_id()
            .to_vec();
        Ok(json!({
            "id": b64url(&cred_id),
            "rawId": b64url(&cred_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&client_data),
                "attestationObject": b64url(&response.as_webauthn_bytes()),
                "authenticatorData": b64url(&response.auth_data.to_vec()),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }))
    }

    /// `navigator.credentials.get()` for the server's request options.
    pub async fn assert(&mut self, opts: &Value) -> anyhow::Result<Value> {
        let rp_id = opts["rpId"].as_str().context("rpId missing")?.to_owned();
        let cred_id = (self.inner.store().0.as_ref())
            .context("no credential registered")?
            .credential_id
            .clone();
        let client_data = self.client_data("webauthn.get", opts)?;
        let request = get_assertion::Request {
            rp_id,
            client_data_hash: Sha256::digest(&client_data).to_vec().into(),
            allow_list: Some(vec![PublicKeyCredentialDescriptor {
                ty: PublicKeyCredentialType::PublicKey,
                id: cred_id,
                transports: None,
            }]),
            extensions: None,
            options: get_assertion::Options { up: true, uv: true },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = (self.inner.get_assertion(request).await)
            .map_err(|e| anyhow!("get_assertion: {e:?}"))?;
        let cred_id = response.credential.context("no credential in response")?.id;
        Ok(json!({
            "id": b64url(&cred_id),
            "rawId": b64url(&cred_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&client_data),
                "authenticatorData": b64url(&response.auth_data.to_vec()),
                "signature": b64url(&response.signature),
                "userHandle": response.user.map(|u| b64url(&u.id)),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }))
    }

    /// Browser-ordered clientDataJSON echoing the options' challenge.
    fn client_data(&self, ty: &str, opts: &Value) -> anyhow::Result<Vec<u8>> {
        let challenge = opts["challenge"].as_str().context("challenge missing")?;
        let s = |v: &str| Value::from(v).to_string();
        Ok(format!(
            r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
            s(ty),
            s(challenge),
            s(&self.origin)
        )
        .into_bytes())
    }
}
