//! The provider's own tokens after sign-in (issue 19): refreshed with the stored refresh
//! token (`POST /user/provider/tokens`, admin) or one the app holds (`POST
//! /token/provider/{provider}`), and handed once to the session a sign-in created
//! (`GET /signin/provider/{provider}/callback/tokens`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::{self, Tokens};
use super::oidc;
use crate::auth::error::{Error, Result};
use crate::auth::sessions::Session;
use crate::auth::tokens::AccessClaims;
use crate::auth::{Auth, Runtime};
use crate::config::ProviderConfig;
use crate::config::providers::{self as specs, Protocol};
use crate::model::{
    ProviderLink, ProviderSessionStash, RefreshTokenId, RequestContext, Secret, Timestamp, UserId,
};

/// How long a sign-in's provider tokens wait for their one retrieval. The app asks right
/// after landing; past this they are swept, as upstream wants them fetched "immediately".
pub const HANDOVER_TTL: Duration = Duration::from_secs(300);

/// The provider's tokens as the app receives them (Nhost's `ProviderSession`).
#[derive(Debug)]
pub struct ProviderSession {
    pub access_token: Secret,
    /// Seconds left at the time of the answer; 0 when the provider gave no lifetime.
    pub expires_in: u64,
    pub expires_at: Timestamp,
    /// Only when the provider issued one (or rotated it).
    pub refresh_token: Option<Secret>,
}

/// What the hand-over row holds, as JSON, before it is sealed.
#[derive(Serialize, Deserialize)]
struct Stashed {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Timestamp,
}

impl Auth {
    /// After a provider sign-in: keeps the provider's tokens for one retrieval by the new
    /// session. A failure here does not undo the sign-in; it is logged and the tokens are
    /// simply not retrievable (the link keeps them, sealed).
    pub(super) async fn stash_provider_session(
        &self,
        rt: &Runtime,
        provider: &str,
        session: &Session,
        tokens: &Tokens,
    ) {
        let now = self.now();
        let stashed = Stashed {
            access_token: tokens.access.expose().to_owned(),
            // Twitter's token secret (OAuth 1.0a) is not a refresh token: it stays sealed.
            refresh_token: match rt.config.providers.get(provider).map(|p| p.spec.protocol) {
                Some(Protocol::OAuth1) => None,
                _ => tokens.refresh.as_ref().map(|t| t.expose().to_owned()),
            },
            expires_at: expiry(now, tokens.expires_in),
        };
        let sealed = serde_json::to_vec(&stashed)
            .map_err(|e| Error::Internal(format!("provider session: {e}")))
            .and_then(|plain| {
                let context = handover_context(provider, session.refresh_token_id);
                let plain = zeroize::Zeroizing::new(plain);
                rt.sealer.seal(&context, plain.as_slice())
            });
        let result = match sealed {
            Ok(session_sealed) => {
                let stash = ProviderSessionStash {
                    refresh_token_id: session.refresh_token_id,
                    user_id: session.user.id,
                    provider: provider.to_owned(),
                    session_sealed,
                    created_at: now,
                    expires_at: now + HANDOVER_TTL,
                };
                self.store
                    .insert_provider_session(&stash)
                    .await
                    .map_err(Error::from)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, provider, "provider tokens not kept for retrieval");
        }
    }

    /// `GET /signin/provider/{provider}/callback/tokens`: the tokens of the sign-in that
    /// created the caller's session, once. Another session of the same user, a second call,
    /// or a call after `HANDOVER_TTL` finds nothing.
    #[tracing::instrument(skip_all, fields(provider = %provider, user_id = %claims.user_id))]
    pub async fn take_provider_session(
        &self,
        claims: &AccessClaims,
        provider: &str,
    ) -> Result<ProviderSession> {
        if specs::spec(provider).is_none() {
            return Err(Error::InvalidRequest("unknown provider"));
        }
        // A token without `sid` (none we mint lacks it) belongs to no sign-in.
        let family = claims
            .session_id
            .ok_or(Error::InvalidRequest("no session"))?;
        let now = self.now();
        // Nhost: answers 200 with an empty access token when there is nothing to hand over.
        let sealed = self
            .store
            .take_provider_session(claims.user_id, family, provider, now)
            .await?
            .ok_or(Error::InvalidRequest("no provider session to hand over"))?;
        let rt = self.runtime();
        let plain = rt
            .sealer
            .open(&handover_context(provider, family), &sealed)?;
        let stashed: Stashed = serde_json::from_slice(&plain)
            .map_err(|e| Error::Internal(format!("stored provider session: {e}")))?;
        Ok(ProviderSession {
            access_token: Secret::new(stashed.access_token),
            expires_in: seconds_left(now, stashed.expires_at),
            expires_at: stashed.expires_at,
            refresh_token: stashed.refresh_token.map(Secret::new),
        })
    }

    /// `POST /user/provider/tokens` (admin): refreshes the user's stored tokens for
    /// `provider` with the stored refresh token and stores the new ones, sealed. The stored
    /// refresh token stays unless the provider rotated it.
    #[tracing::instrument(skip_all, fields(provider = %provider, user_id = %user_id))]
    pub async fn refresh_stored_provider_tokens(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        provider: &str,
    ) -> Result<()> {
        let rt = self.runtime();
        let config = refreshable(enabled(&rt, provider)?)?;
        let link = self
            .store
            .provider_link_of(user_id, config.spec.name)
            .await?
            .ok_or(Error::InvalidRequest("no such provider link"))?;
        let sealed_refresh = link
            .refresh_token_sealed
            .as_deref()
            .ok_or(Error::InvalidRequest("no refresh token stored"))?;
        let refresh = rt.sealer.open(
            &refresh_context(config.spec.name, &link.provider_user_id),
            sealed_refresh,
        )?;
        let refresh = Secret::new(String::from_utf8_lossy(&refresh).into_owned());
        let tokens = refresh_at_provider(&rt, config, self.now(), &refresh).await?;
        self.store_refreshed(&rt, user_id, &link, &tokens).await?;
        self.audit(
            Some(ctx),
            "provider.tokens_refreshed",
            Some(user_id),
            json!({ "provider": config.spec.name, "by": "admin" }),
        )
        .await;
        Ok(())
    }

    /// `POST /token/provider/{provider}`: exchanges the app's provider refresh token for new
    /// tokens. When it is the one stored for the caller's link, the stored tokens follow, so
    /// a provider that rotates refresh tokens does not leave a dead one behind.
    #[tracing::instrument(skip_all, fields(provider = %provider, user_id = %user_id))]
    pub async fn refresh_provider_session(
        &self,
        user_id: UserId,
        provider: &str,
        refresh_token: &str,
    ) -> Result<ProviderSession> {
        let rt = self.runtime();
        let config = refreshable(enabled(&rt, provider)?)?;
        if refresh_token.is_empty() {
            return Err(Error::InvalidRequest("empty refresh token"));
        }
        let presented = Secret::new(refresh_token.to_owned());
        let tokens = refresh_at_provider(&rt, config, self.now(), &presented).await?;
        if let Some(link) = self
            .store
            .provider_link_of(user_id, config.spec.name)
            .await?
        {
            let context = refresh_context(config.spec.name, &link.provider_user_id);
            let stored = link
                .refresh_token_sealed
                .as_deref()
                .and_then(|sealed| rt.sealer.open(&context, sealed).ok());
            if stored.is_some_and(|s| presented.ct_eq(&String::from_utf8_lossy(&s))) {
                self.store_refreshed(&rt, user_id, &link, &tokens).await?;
            }
        }
        let now = self.now();
        let expires_at = expiry(now, tokens.expires_in);
        Ok(ProviderSession {
            access_token: tokens.access,
            expires_in: seconds_left(now, expires_at),
            expires_at,
            refresh_token: tokens.refresh,
        })
    }

    /// Seals the new tokens under the link's contexts and replaces the stored ones.
    async fn store_refreshed(
        &self,
        rt: &Runtime,
        user_id: UserId,
        link: &ProviderLink,
        tokens: &Tokens,
    ) -> Result<()> {
        let name = &link.provider;
        let puid = &link.provider_user_id;
        let access = rt.sealer.seal(
            &format!("provider-access:{name}:{puid}"),
            tokens.access.expose().as_bytes(),
        )?;
        let refresh = tokens
            .refresh
            .as_ref()
            .map(|t| {
                rt.sealer
                    .seal(&refresh_context(name, puid), t.expose().as_bytes())
            })
            .transpose()?;
        let updated = ProviderLink {
            provider: name.clone(),
            provider_user_id: puid.clone(),
            access_token_sealed: access,
            refresh_token_sealed: refresh,
        };
        if !self
            .store
            .replace_provider_tokens(user_id, &updated, self.now())
            .await?
        {
            // Unlinked between the read and the write: nothing to keep the tokens for.
            return Err(Error::InvalidRequest("no such provider link"));
        }
        Ok(())
    }
}

/// The provider's configuration, if it is one we know and it is enabled.
fn enabled<'a>(rt: &'a Runtime, provider: &str) -> Result<&'a ProviderConfig> {
    if specs::spec(provider).is_none() {
        return Err(Error::InvalidRequest("unknown provider"));
    }
    rt.config
        .providers
        .get(provider)
        .ok_or(Error::EndpointDisabled)
}

/// `grant_type=refresh_token` at the provider's token endpoint (discovered for OpenID
/// providers), with the client credentials as for the code exchange.
async fn refresh_at_provider(
    rt: &Runtime,
    provider: &ProviderConfig,
    now: Timestamp,
    refresh: &Secret,
) -> Result<Tokens> {
    match provider.spec.protocol {
        Protocol::OpenIdConnect => oidc::refresh(rt, provider, now, refresh).await,
        Protocol::OAuth2 => client::refresh(rt, provider, refresh).await,
        Protocol::OAuth1 => Err(NOT_REFRESHABLE),
    }
}

/// OAuth 1.0a (Twitter) has no refresh: its access token does not expire, and what sits in
/// the link's refresh slot is the token secret, which is never handed out.
const NOT_REFRESHABLE: Error = Error::InvalidRequest("OAuth 1.0a tokens are not refreshed");

fn refreshable(provider: &ProviderConfig) -> Result<&ProviderConfig> {
    match provider.spec.protocol {
        Protocol::OAuth1 => Err(NOT_REFRESHABLE),
        Protocol::OAuth2 | Protocol::OpenIdConnect => Ok(provider),
    }
}

fn refresh_context(provider: &str, provider_user_id: &str) -> String {
    format!("provider-refresh:{provider}:{provider_user_id}")
}

/// The hand-over is sealed to its family: moved to another row, it does not open.
fn handover_context(provider: &str, family: RefreshTokenId) -> String {
    format!("provider-session:{provider}:{family}")
}

/// When the access token expires; with no lifetime given, now (as upstream: `expiresIn` 0).
fn expiry(now: Timestamp, expires_in: Option<Duration>) -> Timestamp {
    expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
}

fn seconds_left(now: Timestamp, expires_at: Timestamp) -> u64 {
    u64::try_from((expires_at - now).num_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_without_a_lifetime_is_now_and_never_negative() {
        let now = chrono::Utc::now();
        assert_eq!(expiry(now, None), now);
        let later = expiry(now, Some(Duration::from_secs(3600)));
        assert_eq!(seconds_left(now, later), 3600);
        assert_eq!(seconds_left(later, now), 0);
        assert_eq!(expiry(now, Some(Duration::MAX)), now, "overflow falls back");
    }
}
