//! `POST /signin/idtoken`: sign in with an ID token the app got from the provider itself.

use super::{oidc, sealed_id_token_link};
use crate::auth::Auth;
use crate::auth::error::{Error, Result};
use crate::auth::sessions::Session;
use crate::auth::signup::{SignUpOptions, checked_redirect};
use crate::auth::tokens::AccessClaims;
use crate::model::RequestContext;

/// What `POST /signin/idtoken` asked for.
#[derive(Debug)]
pub struct IdTokenSignIn {
    pub provider: String,
    pub id_token: String,
    pub nonce: Option<String>,
    pub options: SignUpOptions,
}

impl Auth {
    /// Verifies the ID token (the provider's keys, issuer, audience, expiry, nonce), then
    /// finds, links or creates the user exactly as the provider callback does.
    #[tracing::instrument(skip_all, fields(provider = %request.provider))]
    pub async fn sign_in_with_id_token(
        &self,
        ctx: &RequestContext,
        request: IdTokenSignIn,
    ) -> Result<Session> {
        let rt = self.runtime();
        // Nhost takes ID tokens from Apple and Google only.
        if !matches!(request.provider.as_str(), "apple" | "google") {
            return Err(Error::InvalidRequest("provider"));
        }
        let provider = rt
            .config
            .providers
            .get(&request.provider)
            .ok_or(Error::EndpointDisabled)?;
        checked_redirect(&rt.config, request.options.redirect_to.clone())?;
        let profile = oidc::verify_id_token(
            &rt,
            provider,
            self.now(),
            &request.id_token,
            request.nonce.as_deref(),
        )
        .await?;
        let link = sealed_id_token_link(&rt, provider, &profile, &request.id_token)?;
        self.provider_session(ctx, &rt, provider, &profile, link, &request.options)
            .await
    }

    /// `POST /link/idtoken`: links the account the verified ID token names to the bearer
    /// (elevated, as upstream). An account linked to another user is refused.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn link_with_id_token(
        &self,
        ctx: &RequestContext,
        claims: &AccessClaims,
        provider: &str,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<()> {
        let rt = self.runtime();
        if !matches!(provider, "apple" | "google") {
            return Err(Error::InvalidRequest("provider"));
        }
        let user = self.user_from_claims(claims, false).await?;
        self.require_elevation(claims, user.id, false).await?;
        let provider = rt
            .config
            .providers
            .get(provider)
            .ok_or(Error::EndpointDisabled)?;
        let profile = oidc::verify_id_token(&rt, provider, self.now(), id_token, nonce).await?;
        let link = sealed_id_token_link(&rt, provider, &profile, id_token)?;
        self.connect_provider(ctx, user.id, &link).await
    }
}
