//! Access tokens (JWT with Hasura claims), JWKS, and refresh-token values and hashes.

use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::{Error, Result};
use crate::config::{Config, JwtAlgorithm};
use crate::model::{RefreshTokenId, Secret, Timestamp, User, UserId};

/// The claim that marks an elevated token: the user id again.
const ELEVATED: &str = "x-hasura-auth-elevated";

/// Signing and verification keys built once from `HASURA_GRAPHQL_JWT_SECRET` (and
/// `LATCHKEY_JWT_PREVIOUS_KEYS`, which only verify).
pub struct TokenKeys {
    algorithm: Algorithm,
    kid: Option<String>,
    encoding: EncodingKey,
    /// The signing key's verifier first, then previous keys.
    verifiers: Vec<Verifier>,
    jwks: JwkSet,
    issuer: String,
    namespace: String,
    access_ttl: Duration,
}

struct Verifier {
    kid: Option<String>,
    key: DecodingKey,
    validation: Validation,
}

/// What a verified bearer token says.
#[derive(Debug, Clone)]
pub struct AccessClaims {
    pub user_id: UserId,
    /// `x-hasura-auth-elevated` equals the subject.
    pub elevated: bool,
    /// `sid`: the refresh-token family the token was minted for, so a credential change can
    /// end the user's other sessions and keep this one.
    pub session_id: Option<RefreshTokenId>,
}

fn algorithm(alg: JwtAlgorithm) -> Algorithm {
    match alg {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::HS384 => Algorithm::HS384,
        JwtAlgorithm::HS512 => Algorithm::HS512,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::RS384 => Algorithm::RS384,
        JwtAlgorithm::RS512 => Algorithm::RS512,
    }
}

/// The public half of an RSA key as a JWK (with `kid` and `use`) and its verifying key.
/// `pem` may hold the private key (then only its public part is kept) or the public key.
fn rsa_public(
    pem: &Secret,
    alg: Algorithm,
    kid: Option<String>,
) -> std::result::Result<(Jwk, DecodingKey, String), String> {
    let bad = |what: &str| format!("JWT key: {what}");
    let mut jwk = if pem.expose().contains("PRIVATE KEY") {
        let encoding = EncodingKey::from_rsa_pem(pem.expose().as_bytes())
            .map_err(|_| bad("not an RSA private key"))?;
        Jwk::from_encoding_key(&encoding, alg).map_err(|_| bad("cannot derive the public key"))?
    } else {
        let decoding = DecodingKey::from_rsa_pem(pem.expose().as_bytes())
            .map_err(|_| bad("not an RSA public key"))?;
        Jwk::from_decoding_key(&decoding, Some(alg))
            .map_err(|_| bad("cannot read the public key"))?
    };
    let (n, e) = match &jwk.algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) => (rsa.n.clone(), rsa.e.clone()),
        _ => return Err(bad("not an RSA key")),
    };
    // Nhost: a random kid per process breaks verification across replicas; a kid derived
    // from the public key is the same everywhere.
    let kid = kid
        .unwrap_or_else(|| hex::encode(Sha256::digest(n.as_bytes()).get(..16).unwrap_or_default()));
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let key = DecodingKey::from_rsa_components(&n, &e).map_err(|_| bad("bad RSA public key"))?;
    Ok((jwk, key, kid))
}

fn validation(alg: Algorithm, issuer: &str) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
    // Expiry is checked against the domain clock in `verify`, so tests can move time.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation
}

impl TokenKeys {
    /// `dev_key` is used when no JWT secret is configured (HS256).
    pub fn new(config: &Config, dev_key: &Secret) -> std::result::Result<Self, String> {
        let issuer = config.jwt_issuer.as_str();
        let mut jwks = JwkSet { keys: vec![] };
        let (alg, kid, encoding, decoding) = match &config.jwt_secret {
            None => {
                let key = dev_key.expose().as_bytes();
                (
                    Algorithm::HS256,
                    None,
                    EncodingKey::from_secret(key),
                    DecodingKey::from_secret(key),
                )
            }
            // Nhost (MONO): HMAC keys are never published, the JWKS is empty.
            Some(secret) if secret.algorithm.is_hmac() => {
                let key = secret.key.expose().as_bytes();
                let alg = algorithm(secret.algorithm);
                (
                    alg,
                    secret.kid.clone(),
                    EncodingKey::from_secret(key),
                    DecodingKey::from_secret(key),
                )
            }
            Some(secret) => {
                let alg = algorithm(secret.algorithm);
                let private_pem = secret.signing_key.as_ref().unwrap_or(&secret.key);
                let encoding = EncodingKey::from_rsa_pem(private_pem.expose().as_bytes())
                    .map_err(|_| "HASURA_GRAPHQL_JWT_SECRET: signing_key is not an RSA PEM key")?;
                let (jwk, decoding, kid) = rsa_public(private_pem, alg, secret.kid.clone())?;
                jwks.keys.push(jwk);
                (alg, Some(kid), encoding, decoding)
            }
        };
        let mut verifiers = vec![Verifier {
            kid: kid.clone(),
            key: decoding,
            validation: validation(alg, issuer),
        }];
        for previous in &config.previous_jwt_keys {
            let prev_alg = algorithm(previous.algorithm);
            let key = if previous.algorithm.is_hmac() {
                DecodingKey::from_secret(previous.key.expose().as_bytes())
            } else {
                let (jwk, key, _) =
                    rsa_public(&previous.key, prev_alg, Some(previous.kid.clone()))?;
                jwks.keys.push(jwk);
                key
            };
            verifiers.push(Verifier {
                kid: Some(previous.kid.clone()),
                key,
                validation: validation(prev_alg, issuer),
            });
        }
        Ok(TokenKeys {
            algorithm: alg,
            kid,
            encoding,
            verifiers,
            jwks,
            issuer: config.jwt_issuer.clone(),
            namespace: config.claims_namespace.clone(),
            access_ttl: config.access_token_ttl,
        })
    }

    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Signs an access token for `user`; `elevated` adds `x-hasura-auth-elevated`.
    /// `session` becomes the `sid` claim (not Nhost's; Hasura ignores unknown claims).
    /// `custom` claims join the namespace object but never replace a built-in one.
    pub fn mint(
        &self,
        user: &User,
        elevated: bool,
        session: RefreshTokenId,
        now: Timestamp,
        custom: &[(String, String)],
    ) -> Result<String> {
        let iat = now.timestamp();
        let exp = iat.saturating_add(i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX));
        let mut hasura = Map::new();
        hasura.insert("x-hasura-allowed-roles".into(), json!(allowed_roles(user)));
        hasura.insert("x-hasura-default-role".into(), json!(default_role(user)));
        hasura.insert("x-hasura-user-id".into(), json!(user.id.to_string()));
        hasura.insert(
            "x-hasura-user-is-anonymous".into(),
            json!(user.is_anonymous.to_string()),
        );
        if elevated {
            hasura.insert(ELEVATED.into(), json!(user.id.to_string()));
        }
        for (key, value) in custom {
            // Nhost: lets a custom claim named `auth-elevated` into tokens minted without
            // elevation; from a path the user can write (metadata), that forges elevation.
            if key != ELEVATED && !hasura.contains_key(key) {
                hasura.insert(key.clone(), json!(value));
            }
        }
        let mut claims = Map::new();
        claims.insert(self.namespace.clone(), Value::Object(hasura));
        claims.insert("sub".into(), json!(user.id.to_string()));
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(exp));
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sid".into(), json!(session.to_string()));
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("signing access token: {e}")))
    }

    /// Checks signature, algorithm, issuer and expiry at `now`. The token's `kid` picks the
    /// key (the signing key when it has none); the algorithm must be that key's.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthenticated)?;
        let verifier = match &header.kid {
            Some(kid) => self
                .verifiers
                .iter()
                .find(|v| v.kid.as_deref() == Some(kid.as_str())),
            None => self.verifiers.first(),
        }
        .ok_or(Error::Unauthenticated)?;
        let data = jsonwebtoken::decode::<Value>(token, &verifier.key, &verifier.validation)
            .map_err(|_| Error::Unauthenticated)?;
        let claims = data.claims;
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(Error::Unauthenticated)?;
        if exp <= now.timestamp() {
            return Err(Error::Unauthenticated);
        }
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(Error::Unauthenticated)?;
        let user_id = Uuid::parse_str(sub).map_err(|_| Error::Unauthenticated)?;
        let elevated = claims
            .get(&self.namespace)
            .and_then(|ns| ns.get(ELEVATED))
            .and_then(Value::as_str)
            .is_some_and(|v| v == sub);
        let session_id = claims
            .get("sid")
            .and_then(Value::as_str)
            .and_then(|sid| Uuid::parse_str(sid).ok())
            .map(RefreshTokenId::from_uuid);
        Ok(AccessClaims {
            user_id: UserId::from_uuid(user_id),
            elevated,
            session_id,
        })
    }
}

fn default_role(user: &User) -> &str {
    if user.is_anonymous {
        "anonymous"
    } else {
        &user.default_role
    }
}

/// The user's roles plus the default role, as Nhost puts them in the token.
fn allowed_roles(user: &User) -> Vec<String> {
    if user.is_anonymous {
        return vec!["anonymous".into()];
    }
    let mut roles = user.roles.clone();
    if !roles.contains(&user.default_role) {
        roles.push(user.default_role.clone());
    }
    roles
}

/// A fresh refresh token (a UUIDv4, Nhost's format) and its stored hash.
pub fn new_refresh_token() -> (Secret, String) {
    let token = Secret::new(Uuid::new_v4().to_string());
    let hash = hash_refresh_token(token.expose());
    (token, hash)
}

/// `\x` + lowercase hex of SHA-256 over the token text: what Nhost stores.
pub fn hash_refresh_token(token: &str) -> String {
    format!("\\x{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// Random key material for the development HS256 key.
pub fn random_key_hex() -> String {
    hex::encode(super::random_bytes::<48>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_hash_has_nhost_format() {
        let h = hash_refresh_token("abc");
        assert_eq!(
            h,
            "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.len(), 66);
    }

    #[test]
    fn new_tokens_are_distinct_uuids() {
        let (a, ha) = new_refresh_token();
        let (b, hb) = new_refresh_token();
        assert!(Uuid::parse_str(a.expose()).is_ok());
        assert_ne!(a.expose(), b.expose());
        assert_ne!(ha, hb);
    }
}
