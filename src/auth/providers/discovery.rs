//! The OpenID providers' discovery documents and signing keys, cached per provider in the
//! `Runtime` for as long as the provider's `Cache-Control: max-age` says (within bounds).
//! Without it every flow start, callback and `/signin/idtoken` asked the provider twice.
//!
//! A token signed with a key we do not hold (the provider rotated its keys) refetches the key
//! set once, but at most once per `REFETCH_INTERVAL` per provider: otherwise anyone could make
//! us call the provider on every request by posting tokens with made-up `kid`s.
//!
//! When the provider cannot be reached, the copy we hold keeps serving for `STALE_IF_ERROR`
//! past its freshness, asked for anew once a minute, so a short outage of the discovery or
//! key endpoint does not stop sign-ins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{JsonWebKey, JsonWebKeyId};
use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use url::Url;

use super::client::PROVIDER_TIMEOUT;
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::Timestamp;
use crate::outgoing::{describe, read_limited};

/// Never trust a cached document for less than this, even if the provider says `no-cache`
/// or `max-age=0`: it bounds how often sign-ins make us call the provider.
pub(super) const MIN_AGE: Duration = Duration::from_secs(60);
/// Never trust one longer: a provider that revokes a key is heard within a day.
pub(super) const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// When the provider says nothing.
pub(super) const DEFAULT_AGE: Duration = Duration::from_secs(3600);
/// How long past its freshness a copy still serves while the provider cannot be reached
/// (RFC 5861's `stale-if-error`): a short outage of the provider's discovery or key endpoint
/// does not stop sign-ins whose tokens it already signed, a long one is not papered over.
pub(super) const STALE_IF_ERROR: Duration = Duration::from_secs(6 * 3600);
/// The least time between two key-set fetches caused by an unknown `kid`.
pub(super) const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Discovery documents and key sets are a few kilobytes.
const DOCUMENT_LIMIT: usize = 512 * 1024;

/// The cache: one slot per provider name, each behind an async lock, so concurrent sign-ins
/// with a cold (or stale) slot wait for one fetch instead of each making their own.
#[derive(Default)]
pub struct OidcCache {
    slots: Mutex<HashMap<&'static str, Arc<tokio::sync::Mutex<Option<Entry>>>>>,
}

impl std::fmt::Debug for OidcCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OidcCache")
    }
}

struct Entry {
    /// Without keys; `keys` are set into a copy on the way out.
    document: Cached<CoreProviderMetadata>,
    keys: Cached<CoreJsonWebKeySet>,
    /// When an unknown `kid` last made us fetch the keys, for the refetch interval.
    kid_refetched_at: Option<Timestamp>,
}

/// A fetched document: fresh until `until`; kept after that, while the provider cannot be
/// reached, until `stale_until`.
#[derive(Clone)]
struct Cached<T> {
    value: T,
    until: Timestamp,
    stale_until: Timestamp,
}

impl<T: Clone> Cached<T> {
    fn fetched(value: T, now: Timestamp, age: Duration) -> Self {
        Self {
            value,
            until: now + age,
            stale_until: now + age + STALE_IF_ERROR,
        }
    }

    /// What a fetch gave, or, when it failed and this copy is not too old, this copy again,
    /// to be tried anew in `MIN_AGE` (so an outage costs one failed call a minute, not one
    /// per sign-in).
    fn refreshed(
        old: Option<&Self>,
        fetched: Result<(T, Duration)>,
        now: Timestamp,
        provider: &str,
    ) -> Result<Self> {
        match (fetched, old) {
            (Ok((value, age)), _) => Ok(Self::fetched(value, now, age)),
            (Err(error), Some(old)) if old.stale_until > now => {
                tracing::warn!(
                    event = "provider.metadata_stale",
                    provider,
                    error = %error,
                    "the provider cannot be reached; using the copy fetched before"
                );
                Ok(Self {
                    value: old.value.clone(),
                    until: (now + MIN_AGE).min(old.stale_until),
                    stale_until: old.stale_until,
                })
            }
            (Err(error), _) => Err(error),
        }
    }
}

impl OidcCache {
    fn slot(&self, name: &'static str) -> Arc<tokio::sync::Mutex<Option<Entry>>> {
        let mut slots = match self.slots.lock() {
            Ok(slots) => slots,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(slots.entry(name).or_default())
    }

    /// The provider's metadata with its keys: from the cache while fresh, else fetched (the
    /// document, the keys, or both, whichever went stale). A failed fetch falls back on the
    /// stale copy for up to `STALE_IF_ERROR`.
    pub(super) async fn metadata(
        &self,
        rt: &Runtime,
        provider: &ProviderConfig,
        now: Timestamp,
    ) -> Result<CoreProviderMetadata> {
        let name = provider.spec.name;
        let slot = self.slot(name);
        let mut entry = slot.lock().await;
        let old = entry.as_ref();
        let document_fresh = old.is_some_and(|e| e.document.until > now);
        let document = match old {
            Some(e) if document_fresh => e.document.clone(),
            _ => {
                let fetched = fetch_document(rt, provider).await;
                Cached::refreshed(old.map(|e| &e.document), fetched, now, name)?
            }
        };
        let keys = match old {
            Some(e) if document_fresh && e.keys.until > now => e.keys.clone(),
            _ => {
                let fetched = fetch_keys(rt, provider, &document.value).await;
                Cached::refreshed(old.map(|e| &e.keys), fetched, now, name)?
            }
        };
        let kid_refetched_at = old.and_then(|e| e.kid_refetched_at);
        let fresh = Entry {
            document,
            keys,
            kid_refetched_at,
        };
        let metadata = fresh.metadata();
        *entry = Some(fresh);
        Ok(metadata)
    }

    /// The metadata for a token naming the key `kid`. If the cached set lacks it, the keys
    /// are fetched anew, unless an unknown `kid` already did that less than
    /// `REFETCH_INTERVAL` ago, or the provider cannot be reached: then the cached set is
    /// returned, and the token will fail its signature check.
    pub(super) async fn metadata_with_key(
        &self,
        rt: &Runtime,
        provider: &ProviderConfig,
        now: Timestamp,
        kid: &str,
    ) -> Result<CoreProviderMetadata> {
        let metadata = self.metadata(rt, provider, now).await?;
        if has_key(metadata.jwks(), kid) {
            return Ok(metadata);
        }
        let slot = self.slot(provider.spec.name);
        let mut guard = slot.lock().await;
        let Some(entry) = guard.as_mut() else {
            return Ok(metadata);
        };
        // Another request may have refetched while this one waited for the lock.
        let throttled = entry
            .kid_refetched_at
            .is_some_and(|at| now < at + REFETCH_INTERVAL);
        if has_key(&entry.keys.value, kid) || throttled {
            return Ok(entry.metadata());
        }
        tracing::info!(
            event = "provider.keys_refetched",
            provider = provider.spec.name,
            "an ID token names a key we do not hold; fetching the provider's keys again"
        );
        // The time is taken first: a failing provider is not asked again at once either.
        entry.kid_refetched_at = Some(now);
        match fetch_keys(rt, provider, &entry.document.value).await {
            Ok((keys, age)) => entry.keys = Cached::fetched(keys, now, age),
            Err(error) => tracing::warn!(
                event = "provider.keys_refetch_failed",
                provider = provider.spec.name,
                error = %error,
                "the provider's keys could not be fetched again; keeping the ones we hold"
            ),
        }
        Ok(entry.metadata())
    }
}

impl Entry {
    fn metadata(&self) -> CoreProviderMetadata {
        self.document
            .value
            .clone()
            .set_jwks(self.keys.value.clone())
    }
}

fn has_key(keys: &CoreJsonWebKeySet, kid: &str) -> bool {
    let kid = JsonWebKeyId::new(kid.to_owned());
    keys.keys().iter().any(|k| k.key_id() == Some(&kid))
}

/// `<issuer>/.well-known/openid-configuration`, whose `issuer` must be the one configured,
/// as OpenID Connect Discovery §4.3 requires. Microsoft's multi-tenant endpoints (`common`,
/// `organizations`, `consumers`) are the one exception: their document names the issuer
/// `.../{tenantid}/v2.0`, a template each token's `tid` fills in (checked per token).
async fn fetch_document(
    rt: &Runtime,
    provider: &ProviderConfig,
) -> Result<(CoreProviderMetadata, Duration)> {
    let failed =
        |what: String| Error::Internal(format!("{} discovery: {what}", provider.spec.name));
    let issuer = provider
        .issuer
        .as_ref()
        .ok_or_else(|| failed("no issuer".into()))?;
    let expected = issuer_text(issuer);
    let url = Url::parse(&format!("{expected}/.well-known/openid-configuration"))
        .map_err(|e| failed(e.to_string()))?;
    let (body, age) = get(rt, &url).await.map_err(failed)?;
    let document: CoreProviderMetadata =
        serde_json::from_slice(&body).map_err(|e| failed(format!("unreadable: {e}")))?;
    let named = document.issuer().as_str();
    let templated = provider
        .tenant
        .as_deref()
        .is_some_and(|tenant| named.replace(TENANT_TEMPLATE, tenant) == expected);
    if named != expected && !templated {
        return Err(failed(format!("the document names issuer {named}")));
    }
    Ok((document, age))
}

/// Microsoft's placeholder for the tenant in a multi-tenant discovery document's issuer.
pub(super) const TENANT_TEMPLATE: &str = "{tenantid}";

/// The key set: `LATCHKEY_PROVIDER_<NAME>_JWKS_URL` if set, else the document's `jwks_uri`.
async fn fetch_keys(
    rt: &Runtime,
    provider: &ProviderConfig,
    document: &CoreProviderMetadata,
) -> Result<(CoreJsonWebKeySet, Duration)> {
    let failed = |what: String| Error::Internal(format!("{} JWKS: {what}", provider.spec.name));
    let url = provider
        .jwks_url
        .clone()
        .unwrap_or_else(|| document.jwks_uri().url().clone());
    let (body, age) = get(rt, &url).await.map_err(failed)?;
    let keys = serde_json::from_slice(&body).map_err(|e| failed(format!("unreadable: {e}")))?;
    Ok((keys, age))
}

async fn get(rt: &Runtime, url: &Url) -> std::result::Result<(Vec<u8>, Duration), String> {
    let response = rt
        .http
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .timeout(PROVIDER_TIMEOUT)
        .send()
        .await
        .map_err(describe)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("status {status}"));
    }
    let age = cache_age(response.headers());
    let body = read_limited(response, DOCUMENT_LIMIT).await?;
    Ok((body, age))
}

/// How long to keep an answer: its `Cache-Control: max-age`, within `MIN_AGE..=MAX_AGE`;
/// `no-store`/`no-cache` count as the minimum, no (readable) header as `DEFAULT_AGE`.
pub(super) fn cache_age(headers: &HeaderMap) -> Duration {
    let directives: Vec<String> = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if directives
        .iter()
        .any(|d| d == "no-store" || d == "no-cache")
    {
        return MIN_AGE;
    }
    directives
        .iter()
        .find_map(|d| {
            d.strip_prefix("max-age=")?
                .trim_matches('"')
                .parse::<u64>()
                .ok()
        })
        .map_or(DEFAULT_AGE, |secs| {
            Duration::from_secs(secs).clamp(MIN_AGE, MAX_AGE)
        })
}

/// The issuer as written: `Url` adds a `/` to a bare origin, which the ID token's `iss` and
/// the discovery document do not have.
pub(super) fn issuer_text(issuer: &Url) -> String {
    if issuer.path() == "/" && issuer.query().is_none() {
        issuer.as_str().trim_end_matches('/').to_owned()
    } else {
        issuer.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn cache_ages_follow_max_age_within_bounds() {
        let cases: &[(&[&str], u64)] = &[
            (&[], 3600),
            (
                &["public, max-age=19845, must-revalidate, no-transform"],
                19845,
            ),
            (&["max-age=5"], 60),
            (&["max-age=0"], 60),
            (&["max-age=99999999"], 86400),
            (&["no-cache"], 60),
            (&["public", "no-store"], 60),
            (&["max-age=nonsense"], 3600),
            (&["Max-Age=120"], 120),
        ];
        for (values, secs) in cases {
            let mut headers = HeaderMap::new();
            for v in *values {
                headers.append(CACHE_CONTROL, HeaderValue::from_static(v));
            }
            assert_eq!(
                cache_age(&headers),
                Duration::from_secs(*secs),
                "{values:?}"
            );
        }
    }

    #[test]
    fn bare_origins_lose_their_slash() {
        let url = Url::parse("https://accounts.google.com").unwrap();
        assert_eq!(issuer_text(&url), "https://accounts.google.com");
        let url = Url::parse("https://login.microsoftonline.com/common/v2.0").unwrap();
        assert_eq!(
            issuer_text(&url),
            "https://login.microsoftonline.com/common/v2.0"
        );
    }
}
