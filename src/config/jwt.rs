//! JWT keys: `HASURA_GRAPHQL_JWT_SECRET` (Hasura's JSON form) and the previous keys of a
//! rotation.

use super::Vars;
use crate::model::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
}

impl JwtAlgorithm {
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            JwtAlgorithm::HS256 | JwtAlgorithm::HS384 | JwtAlgorithm::HS512
        )
    }
    pub fn name(self) -> &'static str {
        match self {
            JwtAlgorithm::HS256 => "HS256",
            JwtAlgorithm::HS384 => "HS384",
            JwtAlgorithm::HS512 => "HS512",
            JwtAlgorithm::RS256 => "RS256",
            JwtAlgorithm::RS384 => "RS384",
            JwtAlgorithm::RS512 => "RS512",
        }
    }
}

/// `HASURA_GRAPHQL_JWT_SECRET`, Hasura's JSON form.
#[derive(Debug, Clone)]
pub struct JwtSecret {
    pub algorithm: JwtAlgorithm,
    /// HMAC secret, or the PEM public key for RS*.
    pub key: Secret,
    /// PEM private key for RS* (`signing_key`).
    pub signing_key: Option<Secret>,
    pub kid: Option<String>,
}

/// A key that only verifies tokens (`LATCHKEY_JWT_PREVIOUS_KEYS`): the previous key during a
/// rotation, still published in the JWKS until the tokens it signed have expired.
#[derive(Debug, Clone)]
pub struct VerifyKey {
    pub algorithm: JwtAlgorithm,
    /// HMAC secret, or an RSA PEM key (public or private; only the public part is used).
    pub key: Secret,
    pub kid: String,
}

#[derive(serde::Deserialize)]
struct JwtSecretJson {
    #[serde(rename = "type")]
    algorithm: String,
    key: Option<String>,
    signing_key: Option<String>,
    kid: Option<String>,
    issuer: Option<String>,
    claims_namespace: Option<String>,
}

fn parse_algorithm(v: &mut Vars, var: &str, name: &str) -> JwtAlgorithm {
    match name {
        "HS256" => JwtAlgorithm::HS256,
        "HS384" => JwtAlgorithm::HS384,
        "HS512" => JwtAlgorithm::HS512,
        "RS256" => JwtAlgorithm::RS256,
        "RS384" => JwtAlgorithm::RS384,
        "RS512" => JwtAlgorithm::RS512,
        other => {
            v.errors.push(format!(
                "{var}: unsupported type {other:?} (HS256/384/512, RS256/384/512)"
            ));
            JwtAlgorithm::HS256
        }
    }
}

#[derive(serde::Deserialize)]
struct VerifyKeyJson {
    #[serde(rename = "type")]
    algorithm: String,
    key: String,
    kid: String,
}

pub(super) fn previous_keys(v: &mut Vars) -> Vec<VerifyKey> {
    const VAR: &str = "LATCHKEY_JWT_PREVIOUS_KEYS";
    let Some(text) = v.get(VAR).map(str::to_owned) else {
        return vec![];
    };
    let Ok(parsed) = serde_json::from_str::<Vec<VerifyKeyJson>>(&text) else {
        v.errors.push(format!(
            "{VAR}: not a JSON array of {{\"type\",\"key\",\"kid\"}}"
        ));
        return vec![];
    };
    parsed
        .into_iter()
        .map(|k| VerifyKey {
            algorithm: parse_algorithm(v, VAR, &k.algorithm),
            key: Secret::new(k.key),
            kid: k.kid,
        })
        .collect()
}

pub(super) fn jwt_settings(v: &mut Vars) -> (Option<JwtSecret>, String, String) {
    const VAR: &str = "HASURA_GRAPHQL_JWT_SECRET";
    let default_issuer = "hasura-auth".to_owned();
    let default_namespace = "https://hasura.io/jwt/claims".to_owned();
    let Some(text) = v.get(VAR).map(str::to_owned) else {
        return (None, default_issuer, default_namespace);
    };
    // Never echo the value: it is a secret.
    let parsed: JwtSecretJson = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(_) => {
            v.errors.push(format!(
                "{VAR}: not a JSON object with \"type\" and \"key\""
            ));
            return (None, default_issuer, default_namespace);
        }
    };
    let algorithm = parse_algorithm(v, VAR, &parsed.algorithm);
    let key = parsed.key.unwrap_or_default();
    if algorithm.is_hmac() && key.len() < 32 {
        v.errors
            .push(format!("{VAR}: an HMAC key must be at least 32 characters"));
    }
    if !algorithm.is_hmac() && parsed.signing_key.is_none() && !key.contains("PRIVATE KEY") {
        v.errors.push(format!(
            "{VAR}: RS* needs \"signing_key\" (a PEM private key)"
        ));
    }
    let secret = JwtSecret {
        algorithm,
        key: Secret::new(key),
        signing_key: parsed.signing_key.map(Secret::new),
        kid: parsed.kid,
    };
    (
        Some(secret),
        parsed.issuer.unwrap_or(default_issuer),
        parsed.claims_namespace.unwrap_or(default_namespace),
    )
}
