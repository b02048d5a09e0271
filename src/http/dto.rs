//! Nhost wire shapes (camelCase, named after the OpenAPI schemas) and their conversions.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs_core::proto::{
    AuthenticatorAssertionResponseRaw, AuthenticatorAttestationResponseRaw, PublicKeyCredential,
    RegisterPublicKeyCredential,
};

use super::error::ApiError;
use crate::auth::webauthn::ManagedKey;
use crate::auth::{self, SignUpOptions as DomainSignUpOptions};
use crate::model::{Timestamp, User as DomainUser};

fn wire_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A stored key as `GET /user/webauthn/keys` lists it (Latchkey's own endpoint; the fields
/// are the Hasura column names of `authUserSecurityKeys`, plus Latchkey's columns).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityKey {
    pub id: String,
    pub user_id: String,
    pub nickname: Option<String>,
    pub credential_id: String,
    pub transports: Vec<String>,
    pub counter: u32,
    pub created_at: Option<String>,
    pub last_used_at: Option<String>,
    pub aaguid: Option<String>,
    pub authenticator_name: Option<String>,
    pub backup_eligible: Option<bool>,
    pub backed_up: Option<bool>,
}

impl SecurityKey {
    pub fn from_domain(managed: ManagedKey) -> Self {
        let k = managed.key;
        SecurityKey {
            id: k.id.to_string(),
            user_id: k.user_id.to_string(),
            nickname: k.nickname,
            credential_id: k.credential_id.to_base64url(),
            transports: k.transports,
            counter: k.counter,
            created_at: k.created_at.map(wire_time),
            last_used_at: k.last_used_at.map(wire_time),
            aaguid: k.aaguid.map(|a| a.to_string()),
            authenticator_name: managed.authenticator_name,
            backup_eligible: k.backup_eligible,
            backed_up: k.backup_state,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub created_at: String,
    pub display_name: String,
    pub avatar_url: String,
    pub locale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub is_anonymous: bool,
    pub default_role: String,
    pub roles: Vec<String>,
    pub metadata: Value,
    pub active_mfa_type: Option<String>,
}

impl User {
    /// `in_session`: Nhost always sends `activeMfaType: null` inside sessions.
    pub fn from_domain(u: DomainUser, in_session: bool) -> Self {
        User {
            id: u.id.to_string(),
            created_at: u
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            display_name: u.display_name,
            avatar_url: u.avatar_url,
            locale: u.locale,
            email: u.email,
            email_verified: u.email_verified,
            phone_number: u.phone_number,
            phone_number_verified: u.phone_number_verified,
            is_anonymous: u.is_anonymous,
            default_role: u.default_role,
            roles: u.roles,
            metadata: u.metadata.unwrap_or(Value::Null),
            active_mfa_type: if in_session { None } else { u.active_mfa_type },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_token: String,
    pub access_token_expires_in: u64,
    pub refresh_token: String,
    pub refresh_token_id: String,
    pub user: User,
}

impl From<auth::Session> for Session {
    fn from(s: auth::Session) -> Self {
        Session {
            access_token: s.access_token,
            access_token_expires_in: s.access_token_expires_in,
            refresh_token: s.refresh_token.expose().to_owned(),
            refresh_token_id: s.refresh_token_id.to_string(),
            user: User::from_domain(s.user, true),
        }
    }
}

/// `{session}` or `{}` (the property omitted, as upstream) when there is none.
#[derive(Serialize)]
pub struct SessionPayload {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
}

impl SessionPayload {
    pub fn of(session: Option<auth::Session>) -> Self {
        SessionPayload {
            session: session.map(Session::from),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpOptions {
    pub allowed_roles: Option<Vec<String>>,
    pub default_role: Option<String>,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    pub metadata: Option<Value>,
    pub redirect_to: Option<String>,
}

impl From<SignUpOptions> for DomainSignUpOptions {
    fn from(o: SignUpOptions) -> Self {
        DomainSignUpOptions {
            allowed_roles: o.allowed_roles,
            default_role: o.default_role,
            display_name: o.display_name,
            locale: o.locale,
            metadata: o.metadata,
            redirect_to: o.redirect_to,
        }
    }
}

/// `CredentialCreationResponse` (`PublicKeyCredential.toJSON()` of a registration).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialCreationResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub raw_id: String,
    pub client_extension_results: Option<Value>,
    pub authenticator_attachment: Option<String>,
    pub response: AuthenticatorAttestationResponse,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticatorAttestationResponse {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    pub attestation_object: String,
    pub transports: Option<Vec<String>>,
    pub authenticator_data: Option<String>,
    pub public_key: Option<String>,
    pub public_key_algorithm: Option<i64>,
}

/// `CredentialAssertionResponse` (`PublicKeyCredential.toJSON()` of an assertion).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialAssertionResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub raw_id: String,
    pub client_extension_results: Option<Value>,
    pub authenticator_attachment: Option<String>,
    pub response: AuthenticatorAssertionResponse,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticatorAssertionResponse {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
    pub user_handle: Option<String>,
}

/// Base64url as browsers send it; padding and the standard alphabet are tolerated, as the
/// Go library upstream tolerates them.
fn bytes(text: &str) -> Result<Vec<u8>, ApiError> {
    let text = text.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .map_err(|_| ApiError::invalid_request())
}

fn check_type(type_: &str) -> Result<(), ApiError> {
    if type_ == "public-key" {
        Ok(())
    } else {
        Err(ApiError::invalid_request())
    }
}

impl TryFrom<CredentialCreationResponse> for RegisterPublicKeyCredential {
    type Error = ApiError;
    fn try_from(c: CredentialCreationResponse) -> Result<Self, ApiError> {
        check_type(&c.type_)?;
        let transports = c.response.transports.map(|ts| {
            ts.iter()
                .filter_map(|t| serde_json::from_value(Value::from(t.as_str())).ok())
                .collect()
        });
        Ok(RegisterPublicKeyCredential {
            id: c.id,
            raw_id: bytes(&c.raw_id)?,
            response: AuthenticatorAttestationResponseRaw {
                attestation_object: bytes(&c.response.attestation_object)?,
                client_data_json: bytes(&c.response.client_data_json)?,
                transports,
            },
            type_: c.type_,
            extensions: Default::default(),
        })
    }
}

impl TryFrom<CredentialAssertionResponse> for PublicKeyCredential {
    type Error = ApiError;
    fn try_from(c: CredentialAssertionResponse) -> Result<Self, ApiError> {
        check_type(&c.type_)?;
        let user_handle = match c.response.user_handle.as_deref() {
            None | Some("") => None,
            Some(handle) => Some(bytes(handle)?),
        };
        Ok(PublicKeyCredential {
            id: c.id,
            raw_id: bytes(&c.raw_id)?,
            response: AuthenticatorAssertionResponseRaw {
                authenticator_data: bytes(&c.response.authenticator_data)?,
                client_data_json: bytes(&c.response.client_data_json)?,
                signature: bytes(&c.response.signature)?,
                user_handle,
            },
            extensions: Default::default(),
            type_: c.type_,
        })
    }
}

/// `GET /user/webauthn/signals`: each member is the argument of the Signal API call of the
/// same name, e.g. `PublicKeyCredential.signalAllAcceptedCredentials(body.allAcceptedCredentials)`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySignals {
    pub all_accepted_credentials: AllAcceptedCredentials,
    pub current_user_details: CurrentUserDetails,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllAcceptedCredentials {
    pub rp_id: String,
    pub user_id: String,
    pub all_accepted_credential_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentUserDetails {
    pub rp_id: String,
    pub user_id: String,
    pub name: String,
    pub display_name: String,
}

impl KeySignals {
    pub fn from_domain(s: crate::auth::webauthn::KeySignals) -> Self {
        KeySignals {
            all_accepted_credentials: AllAcceptedCredentials {
                rp_id: s.rp_id.clone(),
                user_id: s.user_id.clone(),
                all_accepted_credential_ids: s.credential_ids,
            },
            current_user_details: CurrentUserDetails {
                rp_id: s.rp_id,
                user_id: s.user_id,
                name: s.name,
                display_name: s.display_name,
            },
        }
    }
}
