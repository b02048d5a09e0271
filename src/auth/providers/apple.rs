//! Sign in with Apple's client secret: not a fixed string but an ES256 JWT the team signs
//! with its private key (`AUTH_PROVIDER_APPLE_{TEAM_ID,KEY_ID,PRIVATE_KEY}`), here signed
//! afresh for each code exchange and valid for five minutes.
// Nhost: signs one at start-up valid for 180 days (Apple's maximum); a leaked one is then
// good for half a year.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::discovery::issuer_text;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::config::providers::AppleKey;
use crate::model::Timestamp;

/// Long enough for one exchange, with room for clock skew.
const SECRET_TTL: Duration = Duration::from_secs(300);

#[derive(Serialize)]
struct ClientSecretClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// The client secret for one code exchange: `iss` the team, `sub` the client (services) id,
/// `aud` Apple's issuer, `kid` the key's id.
pub(super) fn client_secret(
    provider: &ProviderConfig,
    key: &AppleKey,
    now: Timestamp,
) -> Result<String> {
    let failed = |what: String| Error::Internal(format!("apple client secret: {what}"));
    let issuer = provider
        .issuer
        .as_ref()
        .ok_or_else(|| failed("no issuer".into()))?;
    let audience = issuer_text(issuer);
    let claims = ClientSecretClaims {
        iss: &key.team_id,
        sub: &provider.client_id,
        aud: &audience,
        iat: now.timestamp(),
        exp: now.timestamp() + i64::try_from(SECRET_TTL.as_secs()).unwrap_or(300),
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.key_id.clone());
    // Checked at start-up, so this fails only if the key changed underneath.
    let signing = EncodingKey::from_ec_pem(key.private_key_pem.expose().as_bytes())
        .map_err(|e| failed(e.to_string()))?;
    jsonwebtoken::encode(&header, &claims, &signing).map_err(|e| failed(e.to_string()))
}
