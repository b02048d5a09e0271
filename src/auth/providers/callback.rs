//! The provider's redirect back: the flow taken once and checked against the browser, the
//! code exchanged, the profile read, and the user found, linked or created.

use serde_json::json;

use super::profiles::Profile;
use super::{ProviderFailure, apis, client, oauth1, oidc, sha256_hex};
use crate::auth::error::{Error, Result};
use crate::auth::sessions::{Session, SessionKind};
use crate::auth::signup::{
    SignUpOptions, email_allowed, gravatar_url, redirect_allowed, validate_options,
    verification_ticket,
};
use crate::auth::{Auth, Runtime, check_user};
use crate::config::ProviderConfig;
use crate::config::providers::{self as specs, Protocol};
use crate::model::{NewUser, ProviderLink, RedirectUrl, RequestContext, Secret, UserId};

/// What the provider's redirect back carried, and the browser's binding cookie.
#[derive(Debug, Default)]
pub struct ProviderCallback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
    pub browser_binding: Option<String>,
    /// Apple's `user` form field (JSON, first sign-in only): the name, nothing else taken.
    pub apple_user: Option<String>,
    /// OAuth 1.0a (Twitter): the authorized request token and its verifier, instead of a code.
    pub oauth_token: Option<String>,
    pub oauth_verifier: Option<String>,
    /// OAuth 1.0a: Twitter's answer when the user cancels (`denied=<request token>`).
    pub denied: Option<String>,
}

/// Where the flow ends: its `redirectTo`, with the new session's refresh token unless the
/// flow linked an account to a signed-in user (`connect`).
#[derive(Debug)]
pub struct ProviderDone {
    pub redirect_to: RedirectUrl,
    pub refresh_token: Option<Secret>,
}

impl Auth {
    /// `GET /signin/provider/{provider}/callback`. Every failure names where to redirect:
    /// the flow's own `redirectTo` once the state is known to be genuine, else
    /// `AUTH_CLIENT_URL`. Nothing is stored unless the whole sign-in succeeds.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn finish_provider_signin(
        &self,
        ctx: &RequestContext,
        provider: &str,
        callback: ProviderCallback,
    ) -> std::result::Result<ProviderDone, ProviderFailure> {
        let runtime = self.runtime();
        let config = &runtime.config;
        if specs::spec(provider).is_none() {
            return Err(ProviderFailure {
                redirect_to: None,
                error: Error::InvalidRequest("unknown provider"),
            });
        }
        let to_client = |error| ProviderFailure {
            redirect_to: Some(config.default_redirect.clone()),
            error,
        };
        let state = callback.state.as_deref().unwrap_or_default();
        let taken = self
            .store
            .take_provider_flow(&sha256_hex(state), provider, self.now())
            .await
            .map_err(|e| to_client(e.into()))?;
        let Some(flow) = taken else {
            // Replayed, expired, forged, or never issued: a login-CSRF attempt looks like this.
            tracing::warn!(
                event = "provider.invalid_state",
                "unknown or used provider state"
            );
            return Err(to_client(Error::InvalidState));
        };
        let options: SignUpOptions = serde_json::from_value(flow.options)
            .map_err(|e| to_client(Error::Internal(format!("stored provider options: {e}"))))?;
        // Checked again on return, as upstream: the allow-list may have changed meanwhile.
        let back = options
            .redirect_to
            .as_deref()
            .filter(|r| redirect_allowed(config, r))
            .and_then(RedirectUrl::parse)
            .ok_or_else(|| to_client(Error::RedirectNotAllowed))?;
        let fail = |error| ProviderFailure {
            redirect_to: Some(back.clone()),
            error,
        };
        let bound = callback
            .browser_binding
            .as_deref()
            .is_some_and(|b| Secret::new(flow.browser_hash.clone()).ct_eq(&sha256_hex(b)));
        if !bound {
            tracing::warn!(
                event = "provider.invalid_state",
                "callback from another browser"
            );
            return Err(fail(Error::InvalidState));
        }
        if let Some(error) = callback.error.filter(|e| !e.is_empty()) {
            return Err(fail(Error::ProviderReported {
                error,
                description: callback.error_description,
                uri: callback.error_uri,
            }));
        }
        if callback.denied.is_some() {
            return Err(fail(Error::ProviderReported {
                error: "access_denied".into(),
                description: Some("The user denied the authorization".into()),
                uri: None,
            }));
        }
        let Some(provider) = config.providers.get(provider) else {
            return Err(fail(Error::EndpointDisabled));
        };
        // OAuth 1.0a brings `oauth_token` and `oauth_verifier` instead of a code.
        let code =
            match provider.spec.protocol {
                Protocol::OAuth1 => String::new(),
                Protocol::OAuth2 | Protocol::OpenIdConnect => callback
                    .code
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| fail(Error::InvalidRequest("no code")))?,
            };
        let (tokens, profile) = match provider.spec.protocol {
            Protocol::OAuth1 => {
                let request = flow
                    .request_token
                    .as_ref()
                    .ok_or_else(|| fail(Error::InvalidState))?;
                let back = oauth1::Verified {
                    oauth_token: callback.oauth_token.as_deref(),
                    oauth_verifier: callback.oauth_verifier.as_deref(),
                };
                oauth1::exchange(&runtime, provider, &flow.state_hash, request, back)
                    .await
                    .map_err(fail)?
            }
            Protocol::OAuth2 => apis::sign_in(&runtime, provider, &code, &flow.pkce_verifier)
                .await
                .map_err(fail)?,
            Protocol::OpenIdConnect => {
                let nonce = flow
                    .nonce
                    .as_ref()
                    .ok_or_else(|| fail(Error::InvalidState))?;
                let now = self.now();
                let (tokens, mut profile) =
                    oidc::exchange(&runtime, provider, now, &code, &flow.pkce_verifier, nonce)
                        .await
                        .map_err(fail)?;
                if provider.spec.name == "apple" && profile.name.is_none() {
                    profile.name = callback
                        .apple_user
                        .as_deref()
                        .and_then(super::oidc_profiles::apple_name);
                }
                (tokens, profile)
            }
        };
        let link = sealed_link(&runtime, provider, &profile, &tokens).map_err(fail)?;
        if let Some(user_id) = flow.connect_user {
            self.connect_provider(ctx, user_id, &link)
                .await
                .map_err(fail)?;
            return Ok(ProviderDone {
                redirect_to: back,
                refresh_token: None,
            });
        }
        let session = self
            .provider_session(ctx, &runtime, provider, &profile, link, &options)
            .await
            .map_err(fail)?;
        self.stash_provider_session(&runtime, provider.spec.name, &session, &tokens)
            .await;
        Ok(ProviderDone {
            redirect_to: back,
            refresh_token: Some(session.refresh_token),
        })
    }

    /// `connect`: links the account to the signed-in user who started the flow.
    pub(super) async fn connect_provider(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        link: &ProviderLink,
    ) -> Result<()> {
        let detail = json!({ "provider": link.provider });
        if !self.store.link_provider(user_id, link, self.now()).await? {
            self.audit(
                Some(ctx),
                "provider.link_refused",
                Some(user_id),
                json!({
                    "provider": link.provider, "reason": "linked-to-another-user"
                }),
            )
            .await;
            return Err(Error::ProviderAccountLinked);
        }
        self.audit(Some(ctx), "provider.linked", Some(user_id), detail)
            .await;
        Ok(())
    }

    /// Signs in the account's user: the one linked to it, else the one with its e-mail if the
    /// provider verified that address, else a new user under the sign-up rules.
    pub(super) async fn provider_session(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        provider: &ProviderConfig,
        profile: &Profile,
        link: ProviderLink,
        options: &SignUpOptions,
    ) -> Result<Session> {
        let method = json!({ "method": format!("provider:{}", provider.spec.name) });
        let signed_in =
            |user_id| self.event(Some(ctx), "signin.succeeded", Some(user_id), method.clone());
        let now = self.now();
        if let Some(user_id) = self
            .store
            .user_by_provider(&link.provider, &link.provider_user_id)
            .await?
        {
            let user = self
                .store
                .get_user(user_id)
                .await?
                .ok_or(Error::BadCredentials)?;
            check_user(&rt.config, &user, false)?;
            // Keeps the newest tokens.
            self.store.link_provider(user.id, &link, now).await?;
            let event = signed_in(user.id);
            return self
                .start_session(rt, user, SessionKind::SignIn, Some(event))
                .await;
        }
        let existing = match &profile.email {
            Some(email) => self.store.find_user_by_email(email).await?,
            None => None,
        };
        if let Some(user) = existing {
            // Nhost: links whatever the provider says; anyone could then register a victim's
            // address at a provider that does not verify it and take over the account.
            if !profile.email_verified {
                self.audit(
                    Some(ctx),
                    "provider.link_refused",
                    Some(user.id),
                    json!({
                        "provider": link.provider, "reason": "unverified-email"
                    }),
                )
                .await;
                return Err(Error::EmailTaken);
            }
            check_user(&rt.config, &user, false)?;
            if !self.store.link_provider(user.id, &link, now).await? {
                return Err(Error::ProviderAccountLinked);
            }
            self.audit(
                Some(ctx),
                "provider.linked",
                Some(user.id),
                json!({ "provider": link.provider }),
            )
            .await;
            let event = signed_in(user.id);
            return self
                .start_session(rt, user, SessionKind::SignIn, Some(event))
                .await;
        }
        self.provider_signup(ctx, rt, profile, link, options, method)
            .await
    }

    /// A new user for the account, under the sign-up rules, signed in unless it may not be.
    async fn provider_signup(
        &self,
        ctx: &RequestContext,
        rt: &Runtime,
        profile: &Profile,
        link: ProviderLink,
        options: &SignUpOptions,
        method: serde_json::Value,
    ) -> Result<Session> {
        let config = &rt.config;
        if config.disable_signup {
            return Err(Error::SignupDisabled);
        }
        let email = profile.email.clone();
        let allowed = match &email {
            Some(email) => email_allowed(config, email),
            // Access lists name addresses: an account without one passes only when no list
            // admits specific addresses or domains.
            None => config.allowed_emails.is_empty() && config.allowed_email_domains.is_empty(),
        };
        if !allowed {
            return Err(Error::BadCredentials);
        }
        let display = profile
            .name
            .clone()
            .or_else(|| email.clone())
            .unwrap_or_default();
        let valid = validate_options(config, &display, options)?;
        let avatar_url = match (&profile.avatar_url, &email) {
            (Some(url), _) => url.clone(),
            (None, Some(email)) => gravatar_url(config, email),
            (None, None) => String::new(),
        };
        let now = self.now();
        let id = UserId::new_random();
        // An address the provider does not vouch for, while verification is required: the
        // user is created without a session and sent the verification mail, as upstream.
        // (No mail while new users start disabled: the ticket waits for an administrator.)
        let ticket =
            (email.is_some() && !profile.email_verified && config.email_verification_required)
                .then(|| verification_ticket(now));
        let mail = match (&ticket, &email) {
            (Some((clear, _, expires)), Some(address)) if !config.disable_new_users => {
                self.verification_mail(rt, id, address, &valid, clear.clone(), *expires)
            }
            _ => None,
        };
        let user = NewUser {
            id,
            display_name: valid.display_name,
            avatar_url,
            locale: valid.locale,
            email,
            email_verified: profile.email_verified,
            phone_number: None,
            is_anonymous: false,
            disabled: config.disable_new_users,
            default_role: valid.default_role,
            roles: valid.allowed_roles,
            metadata: valid.metadata,
            ticket: ticket.map(|(_, stored, expires)| (stored, expires)),
            password_hash: None,
            mail,
            provider: Some(link),
            now,
        };
        // A user who may not sign in yet (disabled, or an unverified address while
        // verification is required) is created without a session, as upstream.
        let may_sign_in = check_user(config, &user.to_user(), false);
        let pending = may_sign_in
            .is_ok()
            .then(|| self.pending_session(rt, user.id, now));
        let event = self.event(Some(ctx), "user.signed_up", Some(user.id), method.clone());
        match self
            .store
            .create_user(&user, None, pending.as_ref().map(|p| &p.row), Some(&event))
            .await?
        {
            crate::store::Inserted::New(_) => {}
            crate::store::Inserted::Conflict(crate::store::Conflict::ProviderAccount) => {
                return Err(Error::ProviderAccountLinked);
            }
            crate::store::Inserted::Conflict(_) => return Err(Error::EmailTaken),
        }
        if let Err(refused) = may_sign_in {
            self.deliver_now(rt, user.mail).await;
            return Err(refused);
        }
        let Some(pending) = pending else {
            return Err(Error::Internal(
                "no session for a user who may sign in".into(),
            ));
        };
        self.after_session_write(now, true).await?;
        self.audit(Some(ctx), "signin.succeeded", Some(user.id), method)
            .await;
        self.finish_session(rt, user.to_user(), pending, SessionKind::SignUp)
            .await
    }
}

/// The link to store: the provider's tokens sealed under the encryption key, each bound to
/// the account and its kind so a sealed value moved elsewhere does not open.
fn sealed_link(
    rt: &Runtime,
    provider: &ProviderConfig,
    profile: &Profile,
    tokens: &client::Tokens,
) -> Result<ProviderLink> {
    let name = provider.spec.name;
    let access = rt.sealer.seal(
        &format!("provider-access:{name}:{}", profile.id),
        tokens.access.expose().as_bytes(),
    )?;
    // OAuth 1.0a has no refresh token; the second slot holds the access token's secret, which
    // signs every request made with the token. Its own context keeps it from ever being opened
    // (and sent to a token endpoint) as a refresh token.
    let refresh_kind = match provider.spec.protocol {
        Protocol::OAuth1 => "provider-token-secret",
        Protocol::OAuth2 | Protocol::OpenIdConnect => "provider-refresh",
    };
    let refresh = tokens
        .refresh
        .as_ref()
        .map(|t| {
            rt.sealer.seal(
                &format!("{refresh_kind}:{name}:{}", profile.id),
                t.expose().as_bytes(),
            )
        })
        .transpose()?;
    Ok(ProviderLink {
        provider: name.to_owned(),
        provider_user_id: profile.id.clone(),
        access_token_sealed: access,
        refresh_token_sealed: refresh,
    })
}

/// The link for an account signed in with a bare ID token: there is no access token, so the
/// ID token itself is kept (sealed) in its place, as the column requires a value.
pub(crate) fn sealed_id_token_link(
    rt: &Runtime,
    provider: &ProviderConfig,
    profile: &Profile,
    id_token: &str,
) -> Result<ProviderLink> {
    let name = provider.spec.name;
    let sealed = rt.sealer.seal(
        &format!("provider-access:{name}:{}", profile.id),
        id_token.as_bytes(),
    )?;
    Ok(ProviderLink {
        provider: name.to_owned(),
        provider_user_id: profile.id.clone(),
        access_token_sealed: sealed,
        refresh_token_sealed: None,
    })
}
