//! ID tokens checked against the provider's (cached) keys, and the claims some providers add
//! to the standard ones: Microsoft's tenant (`tid`), object id (`oid`) and verified-domain
//! flag (`xms_edov`).

use openidconnect::core::{
    CoreGenderClaim, CoreIdTokenVerifier, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{AdditionalClaims, ClientId, IdTokenClaims, NonceVerifier};
use serde::{Deserialize, Serialize};

use super::discovery::TENANT_TEMPLATE;
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::Timestamp;

/// The non-standard claims we read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ProviderClaims {
    /// Microsoft: the tenant that issued the token.
    #[serde(default)]
    pub tid: Option<String>,
    /// Microsoft: the account's object id, stable across the tenant's applications.
    #[serde(default)]
    pub oid: Option<String>,
    /// Microsoft: "e-mail domain owner verified", an optional claim the app registration
    /// must ask for; `true` when the tenant owns the domain of `email`.
    #[serde(default)]
    pub xms_edov: Option<serde_json::Value>,
}

impl AdditionalClaims for ProviderClaims {}

pub(super) type IdToken = openidconnect::IdToken<
    ProviderClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub(super) type Claims = IdTokenClaims<ProviderClaims, CoreGenderClaim>;

/// Checks `token` (signature against the provider's keys, issuer, `audience`, expiry, and
/// the nonce by `nonce`) and returns its claims. A token naming a key we do not hold makes
/// the cache refetch the provider's keys (rate-limited there) before the check.
pub(super) async fn checked_claims(
    rt: &Runtime,
    provider: &ProviderConfig,
    now: Timestamp,
    token: &str,
    audience: &str,
    nonce: impl NonceVerifier,
) -> Result<Claims> {
    let refused = |what: String| Error::TokenExchange(format!("ID token refused: {what}"));
    let parsed: IdToken = token.parse().map_err(|_| refused("not a JWT".to_owned()))?;
    let kid = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid);
    let metadata = match &kid {
        Some(kid) => {
            rt.oidc_cache
                .metadata_with_key(rt, provider, now, kid)
                .await?
        }
        None => rt.oidc_cache.metadata(rt, provider, now).await?,
    };
    let issuer_template = metadata.issuer().as_str().contains(TENANT_TEMPLATE);
    let verifier = verifier(&metadata, audience).require_issuer_match(!issuer_template);
    let claims = parsed
        .claims(&verifier, nonce)
        .map_err(|e| refused(e.to_string()))?;
    if issuer_template {
        check_tenant_issuer(metadata.issuer().as_str(), claims).map_err(refused)?;
    }
    Ok(claims.clone())
}

/// Asymmetric signatures only: a public client's verifier never accepts an HMAC keyed with
/// the client secret, which the provider is not the only one to know.
fn verifier<'a>(metadata: &'a CoreProviderMetadata, audience: &str) -> CoreIdTokenVerifier<'a> {
    CoreIdTokenVerifier::new_public_client(
        ClientId::new(audience.to_owned()),
        metadata.issuer().clone(),
        metadata.jwks().clone(),
    )
}

/// Microsoft's multi-tenant endpoints (`common`, `organizations`) publish the issuer as
/// `https://login.microsoftonline.com/{tenantid}/v2.0`; each token's `iss` names the real
/// tenant. The crate cannot compare a template, so it skips the issuer and we check here that
/// the token has a `tid`, that it looks like a tenant id (no `/`, so it cannot reshape the
/// URL), and that `iss` is the template filled in with exactly it. Any tenant may sign in,
/// which is what `common` means; the signature still has to come from Microsoft's keys.
pub(super) fn check_tenant_issuer(
    template: &str,
    claims: &Claims,
) -> std::result::Result<(), String> {
    let tid = claims
        .additional_claims()
        .tid
        .as_deref()
        .filter(|t| {
            !t.is_empty()
                && t.len() <= 64
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .ok_or("no usable tid claim for a multi-tenant issuer")?;
    let expected = template.replace(TENANT_TEMPLATE, tid);
    if claims.issuer().as_str() != expected {
        return Err(format!("issuer does not match tenant {tid}"));
    }
    Ok(())
}
