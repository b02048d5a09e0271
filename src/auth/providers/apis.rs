//! What each plain OAuth 2 provider needs beyond the standard flow: whether it takes PKCE,
//! how its token endpoint takes the client's credentials, extra authorization parameters,
//! and the requests that read the account's profile.

use url::Url;

use super::client::{self, Tokens};
use super::profiles::{self, Profile};
use crate::auth::Runtime;
use crate::auth::error::{Error, Result};
use crate::config::ProviderConfig;
use crate::model::Secret;

/// One provider's protocol details.
pub(super) struct Quirks {
    /// Send a PKCE S256 challenge and its verifier.
    pub pkce: bool,
    /// The client id and secret go in the token request's form body rather than in an HTTP
    /// Basic `Authorization` header.
    pub credentials_in_body: bool,
    /// Fixed extra parameters of the authorization URL.
    pub authorize_params: &'static [(&'static str, &'static str)],
    /// Authorization parameters a sign-in may choose itself (Nhost's
    /// `providerSpecificParams`); chosen ones replace the configured defaults.
    pub selectors: &'static [&'static str],
}

const STANDARD: Quirks = Quirks {
    pkce: true,
    credentials_in_body: false,
    authorize_params: &[],
    selectors: &[],
};

/// PKCE goes to the providers that document it (GitHub, GitLab, Spotify, Discord, which
/// wants S256 and a verifier of at least 43 characters, as ours are; Facebook; WorkOS SSO).
/// Bitbucket Cloud, Strava, Twitch and Windows Live do not document it: rather than send a
/// parameter they may reject, or silently ignore (which protects nothing), they get none, and
/// their flows rely on the single-use, browser-bound state alone. Credentials go where each
/// provider's documentation puts them: a Basic header for those that show one, else the
/// form body.
pub(super) fn quirks(provider: &str) -> Quirks {
    let body = Quirks {
        credentials_in_body: true,
        ..STANDARD
    };
    match provider {
        "bitbucket" => Quirks {
            pkce: false,
            ..STANDARD
        },
        "facebook" => body,
        "workos" => Quirks {
            selectors: &["connection", "organization"],
            ..body
        },
        "twitch" | "windowslive" => Quirks {
            pkce: false,
            ..body
        },
        // As upstream: Strava asks again each time, so a changed scope choice takes effect.
        "strava" => Quirks {
            pkce: false,
            authorize_params: &[("approval_prompt", "force")],
            ..body
        },
        _ => STANDARD,
    }
}

/// Exchanges the code, then reads the account's profile the provider's way.
pub(super) async fn sign_in(
    rt: &Runtime,
    provider: &ProviderConfig,
    code: &str,
    verifier: &Secret,
) -> Result<(Tokens, Profile)> {
    let (tokens, answer) = client::exchange(rt, provider, code, verifier).await?;
    let profile = match provider.spec.name {
        // WorkOS puts the profile in the token response.
        "workos" => {
            let profile = answer
                .profile
                .as_ref()
                .ok_or_else(|| Error::ProfileFetch("workos: no profile with the token".into()))?;
            mapped(profiles::workos(profile))?
        }
        _ => fetch_profile(rt, provider, &tokens.access).await?,
    };
    Ok((tokens, profile))
}

fn mapped(profile: std::result::Result<Profile, &'static str>) -> Result<Profile> {
    profile.map_err(|e| Error::ProfileFetch(e.to_owned()))
}

/// `url` plus `/<tail>`: GitHub's and Bitbucket's e-mails live beside the profile, so a
/// self-hosted or overridden profile URL moves them too.
fn beside(url: &Url, tail: &str) -> Result<Url> {
    Url::parse(&format!("{}/{tail}", url.as_str().trim_end_matches('/')))
        .map_err(|e| Error::Internal(format!("{tail} URL: {e}")))
}

/// The profile, from the provider's API.
async fn fetch_profile(
    rt: &Runtime,
    provider: &ProviderConfig,
    access: &Secret,
) -> Result<Profile> {
    let name = provider.spec.name;
    let url = provider
        .userinfo_url
        .as_ref()
        .ok_or_else(|| Error::Internal(format!("{name}: no profile URL")))?;
    let get = |url| client::get_json(rt, url, access);
    match name {
        "github" => {
            let user = get(url).await?;
            let emails = get(&beside(url, "emails")?).await?;
            mapped(profiles::github(&user, &emails))
        }
        "bitbucket" => {
            let user = get(url).await?;
            let emails = get(&beside(url, "emails")?).await?;
            mapped(profiles::bitbucket(&user, &emails))
        }
        // Helix wants the application's client id beside the user's token.
        "twitch" => {
            let headers = [("Client-Id", provider.client_id.as_str())];
            mapped(profiles::twitch(
                &client::get_json_with(rt, url, access, &headers).await?,
            ))
        }
        "discord" => mapped(profiles::discord(&get(url).await?)),
        "facebook" => mapped(profiles::facebook(&get(url).await?)),
        "gitlab" => mapped(profiles::gitlab(&get(url).await?)),
        "spotify" => mapped(profiles::spotify(&get(url).await?)),
        "strava" => mapped(profiles::strava(&get(url).await?)),
        "windowslive" => mapped(profiles::windowslive(&get(url).await?)),
        other => Err(Error::Internal(format!("{other}: no profile mapping"))),
    }
}
