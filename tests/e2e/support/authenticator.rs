//! Software WebAuthn authenticator + minimal "browser" client for end-to-end tests (the
//! benchmark, `bench/`, includes this same file for its users' passkeys).
//!
//! Works purely on JSON (`serde_json::Value`), so it is independent of the server code:
//! it consumes the bare `PublicKeyCredentialCreationOptions` / `PublicKeyCredentialRequestOptions`
//! objects the server sends and produces the browser `PublicKeyCredential.toJSON()` shape
//! (binary fields base64url without padding, `clientExtensionResults: {}`,
//! `authenticatorAttachment: "platform"`).
//!
//! All crypto/CBOR is done by 1Password's `passkey-authenticator` (CTAP2 `make_credential` /
//! `get_assertion`, ES256 or EdDSA keys, attestation format `"none"`); this module only builds
//! `clientDataJSON` (`{"type","challenge","origin","crossOrigin":false}`) and the JSON envelope.
//!
//! Public API:
//! - `SoftAuthenticator::new(origin)`, `set_origin`, `set_user_verification`, `set_rp_id_override`,
//!   `set_counter`, `credential_ids`
//! - `register(&opts).await` / `assert(&opts).await` panic on failure; `try_register` /
//!   `try_assert` return `Result<Value, String>` (e.g. excluded credential, no credential).
//! - Tamper helpers: `flip_signature_bit`, `set_client_data_field`, `set_user_handle`,
//!   `clear_uv_flag_in_auth_data`.
//!
//! Behaviour notes:
//! - Credentials are discoverable; without `allowCredentials` the most recently registered
//!   credential for `rpId` is used. `excludeCredentials` is honoured (registration fails).
//! - passkey-authenticator always sets the BE and BS flags (synced passkey) plus UP; UV is set
//!   unless `set_user_verification(false)`. The signature counter starts at 0 on registration and
//!   is incremented *before* signing each assertion.
// Test-support code: panicking on malformed input is the desired failure mode, and `Value`
// indexing returns `Null` for missing keys. (Clippy's test exemptions do not cover helper modules.)
#![allow(
    dead_code,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use passkey_authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey_crypto::{iana, rust_crypto::RustCryptoBackend};
use passkey_types::{
    Bytes, Passkey,
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

/// Encodes bytes as base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url (or standard base64), padded or not.
pub fn b64url_decode(s: &str) -> Vec<u8> {
    let s = s.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .unwrap_or_else(|e| panic!("invalid base64url {s:?}: {e}"))
}

/// In-memory, always-discoverable credential store, in registration order.
#[derive(Default)]
struct Store(Vec<Passkey>);

#[async_trait]
impl CredentialStore for Store {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        ids: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        // With an id list the rp id is ignored (the client layer already picked the credential,
        // possibly for an overridden rp id); otherwise most recent first for this rp id.
        let found: Vec<Passkey> = match ids {
            Some(ids) => (self.0.iter())
                .filter(|pk| ids.iter().any(|d| d.id == pk.credential_id))
                .cloned()
                .collect(),
            None => (self.0.iter().rev())
                .filter(|pk| pk.rp_id == rp_id)
                .cloned()
                .collect(),
        };
        if found.is_empty() {
            Err(Ctap2Error::NoCredentials.into())
        } else {
            Ok(found)
        }
    }

    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: make_credential::Options,
    ) -> Result<(), StatusCode> {
        self.0.push(cred);
        Ok(())
    }

    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), StatusCode> {
        for pk in self.0.iter_mut() {
            if pk.credential_id == cred.credential_id {
                *pk = cred.clone();
            }
        }
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo {
            discoverability: DiscoverabilitySupport::ForcedDiscoverable,
        }
    }
}

/// "User" that is always present and verifies whenever asked; refuses excluded credentials.
struct AlwaysPresentUser;

#[async_trait]
impl UserValidationMethod for AlwaysPresentUser {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        hint: UiHint<'a, Passkey>,
        _presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        if matches!(hint, UiHint::InformExcludedCredentialFound(_)) {
            return Err(Ctap2Error::CredentialExcluded);
        }
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

/// A software platform authenticator plus the browser-side client logic.
pub struct SoftAuthenticator {
    inner: Authenticator<Store, AlwaysPresentUser, RustCryptoBackend>,
    origin: String,
    uv: bool,
    rp_id_override: Option<String>,
}

impl SoftAuthenticator {
    /// `origin` e.g. `"http://localhost:3000"`; user verification (UV flag) on by default.
    pub fn new(origin: &str) -> Self {
        Self::with_aaguid(origin, [0; 16])
    }

    /// An authenticator that attests this AAGUID (its model id).
    pub fn with_aaguid(origin: &str, aaguid: [u8; 16]) -> Self {
        let mut inner = Authenticator::new(
            Aaguid::from(aaguid),
            Store::default(),
            AlwaysPresentUser,
            RustCryptoBackend,
        );
        inner.set_make_credentials_with_signature_counter(true);
        inner
            .set_algorithms(&[iana::Algorithm::ES256, iana::Algorithm::EdDSA])
            .expect("ES256/EdDSA are supported by the RustCrypto backend");
        Self {
            inner,
            origin: origin.to_owned(),
            uv: true,
            rp_id_override: None,
        }
    }

    /// Origin written into `clientDataJSON`.
    pub fn set_origin(&mut self, origin: &str) {
        self.origin = origin.to_owned();
    }

    /// `false`: the UV flag is not set in authenticator data (UP still is).
    pub fn set_user_verification(&mut self, uv: bool) {
        self.uv = uv;
    }

    /// Signs for this RP ID instead of the one in the options (wrong rpIdHash); origin unchanged.
    pub fn set_rp_id_override(&mut self, rp_id: Option<&str>) {
        self.rp_id_override = rp_id.map(str::to_owned);
    }

    /// Sets the stored counter of every credential; the next assertion reports `value + 1`.
    pub fn set_counter(&mut self, value: u32) {
        for pk in self.inner.store_mut().0.iter_mut() {
            pk.counter = Some(value);
        }
    }

    /// Base64url ids of all stored credentials, in registration order.
    pub fn credential_ids(&self) -> Vec<String> {
        (self.inner.store().0.iter())
            .map(|pk| b64url(&pk.credential_id))
            .collect()
    }

    /// Like [`Self::try_register`], panicking on failure.
    pub async fn register(&mut self, creation_options: &Value) -> Value {
        self.try_register(creation_options)
            .await
            .unwrap_or_else(|e| panic!("soft authenticator registration failed: {e}"))
    }

    /// Like [`Self::try_assert`], panicking on failure.
    pub async fn assert(&mut self, request_options: &Value) -> Value {
        self.try_assert(request_options)
            .await
            .unwrap_or_else(|e| panic!("soft authenticator assertion failed: {e}"))
    }

    /// `navigator.credentials.create()` for bare creation options; returns the toJSON() shape.
    pub async fn try_register(&mut self, opts: &Value) -> Result<Value, String> {
        let rp_id = match opts["rp"]["id"].as_str() {
            Some(id) => id.to_owned(),
            None => self.origin_host(),
        };
        let user = &opts["user"];
        let user_id = b64url_decode(user["id"].as_str().ok_or("user.id missing")?);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        // Unknown algorithms (e.g. ones passkey-types has no IANA constant for) are skipped.
        let params: Vec<PublicKeyCredentialParameters> = (opts["pubKeyCredParams"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|p| serde_json::from_value(p.clone()).ok())
            .collect();
        let client_data = self.client_data("webauthn.create", opts)?;
        let request = make_credential::Request {
            client_data_hash: Sha256::digest(&client_data).to_vec().into(),
            rp: PublicKeyCredentialRpEntity {
                id: self.rp_id_override.clone().unwrap_or(rp_id),
                name: opts["rp"]["name"].as_str().map(str::to_owned),
            },
            user: wa::PublicKeyCredentialUserEntity {
                id: user_id.into(),
                name: text(&user["name"]),
                display_name: text(&user["displayName"]),
            },
            pub_key_cred_params: params,
            exclude_list: Some(descriptors(&opts["excludeCredentials"])),
            extensions: None,
            options: make_credential::Options {
                rk: true,
                up: true,
                uv: self.uv,
            },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = (self.inner.make_credential(request).await)
            .map_err(|e| format!("make_credential: {e:?}"))?;
        let cred_id = (response.auth_data.attested_credential_data.as_ref())
            .ok_or("no attested credential data")?
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

    /// `navigator.credentials.get()` for bare request options; returns the toJSON() shape.
    pub async fn try_assert(&mut self, opts: &Value) -> Result<Value, String> {
        let rp_id = match opts["rpId"].as_str() {
            Some(id) => id.to_owned(),
            None => self.origin_host(),
        };
        let allowed = descriptors(&opts["allowCredentials"]);
        let store = &self.inner.store().0;
        let chosen = if allowed.is_empty() {
            store.iter().rev().find(|pk| pk.rp_id == rp_id)
        } else {
            (store.iter()).find(|pk| allowed.iter().any(|d| d.id == pk.credential_id))
        }
        .ok_or_else(|| format!("no credential for rp id {rp_id:?}"))?;
        let allow_list = vec![PublicKeyCredentialDescriptor {
            ty: PublicKeyCredentialType::PublicKey,
            id: chosen.credential_id.clone(),
            transports: None,
        }];
        let client_data = self.client_data("webauthn.get", opts)?;
        let request = get_assertion::Request {
            rp_id: self.rp_id_override.clone().unwrap_or(rp_id),
            client_data_hash: Sha256::digest(&client_data).to_vec().into(),
            allow_list: Some(allow_list),
            extensions: None,
            options: get_assertion::Options {
                up: true,
                uv: self.uv,
            },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = (self.inner.get_assertion(request).await)
            .map_err(|e| format!("get_assertion: {e:?}"))?;
        let cred_id = response.credential.ok_or("no credential in response")?.id;
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

    /// Browser-ordered clientDataJSON with the challenge copied verbatim from the options.
    fn client_data(&self, ty: &str, opts: &Value) -> Result<Vec<u8>, String> {
        let challenge = opts["challenge"].as_str().ok_or("challenge missing")?;
        let s = |v: &str| Value::from(v).to_string();
        Ok(format!(
            r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
            s(ty),
            s(challenge),
            s(&self.origin)
        )
        .into_bytes())
    }

    /// Effective domain of the origin, the browser default when the options carry no RP ID.
    fn origin_host(&self) -> String {
        (url::Url::parse(&self.origin).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Parses `[{type, id}]` credential descriptors (ids base64url), ignoring anything malformed.
fn descriptors(list: &Value) -> Vec<PublicKeyCredentialDescriptor> {
    (list.as_array().into_iter().flatten())
        .filter_map(|d| d["id"].as_str())
        .map(|id| PublicKeyCredentialDescriptor {
            ty: PublicKeyCredentialType::PublicKey,
            id: Bytes::from(b64url_decode(id)),
            transports: None,
        })
        .collect()
}

/// Decodes `credential.response[field]`, lets `edit` change the bytes, re-encodes it.
fn edit_response_bytes(credential: &mut Value, field: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let slot = &mut credential["response"][field];
    let mut bytes = b64url_decode(slot.as_str().unwrap_or_else(|| panic!("no {field}")));
    edit(&mut bytes);
    *slot = Value::from(b64url(&bytes));
}

/// Flips the lowest bit of the last signature byte (DER stays well-formed, signature invalid).
pub fn flip_signature_bit(assertion: &mut Value) {
    edit_response_bytes(assertion, "signature", |sig| {
        *sig.last_mut().expect("empty signature") ^= 0x01;
    });
}

/// Sets `field` (e.g. "origin", "challenge", "type") in the decoded clientDataJSON.
pub fn set_client_data_field(credential: &mut Value, field: &str, value: Value) {
    edit_response_bytes(credential, "clientDataJSON", |bytes| {
        let mut data: Value = serde_json::from_slice(bytes).expect("clientDataJSON is JSON");
        data[field] = value;
        *bytes = serde_json::to_vec(&data).expect("serializable");
    });
}

/// Replaces `response.userHandle` (base64url) or sets it to `null`.
pub fn set_user_handle(assertion: &mut Value, handle_b64url: Option<&str>) {
    assertion["response"]["userHandle"] = handle_b64url.map_or(Value::Null, Value::from);
}

/// Clears the UV bit in an assertion's authenticatorData (this also invalidates the signature).
pub fn clear_uv_flag_in_auth_data(assertion: &mut Value) {
    edit_response_bytes(assertion, "authenticatorData", |data| {
        *data.get_mut(32).expect("authenticatorData too short") &= !0x04;
    });
}
