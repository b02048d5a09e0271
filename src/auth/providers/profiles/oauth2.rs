//! The plain OAuth 2 providers besides GitHub: each one's profile API answer mapped to a
//! `Profile`. The ids are upstream's (so accounts linked by Nhost Auth keep working); the
//! e-mail counts as verified only where the provider's answer says so (see each function).

use serde_json::Value;

use super::{Profile, text};

const NO_ID: &str = "no account id in the profile";

/// The provider's id for the account: a string, or a number as its decimal text.
fn account_id(value: &Value) -> Result<String, &'static str> {
    match value {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(NO_ID),
    }
}

/// An e-mail address, lowercased as the GitHub mapping does.
fn email(value: &Value) -> Option<String> {
    text(value).map(|e| e.to_lowercase())
}

/// An absolute http(s) URL, else nothing: Strava answers a relative placeholder
/// (`avatar/athlete/medium.png`) for an athlete without a photo.
fn picture(value: &Value) -> Option<String> {
    text(value).filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// Given and family names joined, when there are any.
fn full_name(given: &Value, family: &Value) -> Option<String> {
    let joined = [text(given), text(family)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// Bitbucket: `GET /2.0/user` (the account, id `uuid`) and `GET /2.0/user/emails` (a page of
/// `{email, is_primary, is_confirmed}`). The e-mail is the primary address, verified only if
/// Bitbucket confirmed it (`is_primary && is_confirmed`).
// Nhost: takes the first confirmed address, primary or not, else the first unconfirmed one,
// and calls whichever it took verified.
pub fn bitbucket(user: &Value, emails: &Value) -> Result<Profile, &'static str> {
    let entries = emails["values"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let primary = entries.iter().find(|e| e["is_primary"] == true);
    let address = primary.and_then(|e| email(&e["email"]));
    let email_verified = address.is_some() && primary.is_some_and(|e| e["is_confirmed"] == true);
    Ok(Profile {
        id: account_id(&user["uuid"])?,
        email: address,
        email_verified,
        name: text(&user["display_name"]).or_else(|| text(&user["nickname"])),
        avatar_url: user.pointer("/links/avatar/href").and_then(picture),
    })
}

/// Discord: `GET /users/@me`. `verified` is Discord's own flag for the account's address
/// (sent with the `email` scope); the name is the display name (`global_name`), else the
/// username; the avatar is built from its hash on Discord's CDN.
// Nhost: calls any address verified, and names the user `username#discriminator`.
pub fn discord(user: &Value) -> Result<Profile, &'static str> {
    let id = account_id(&user["id"])?;
    let address = email(&user["email"]);
    let avatar_url = text(&user["avatar"])
        .filter(|hash| hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(|hash| format!("https://cdn.discordapp.com/avatars/{id}/{hash}.png"));
    Ok(Profile {
        email_verified: address.is_some() && user["verified"] == true,
        email: address,
        name: text(&user["global_name"]).or_else(|| text(&user["username"])),
        avatar_url,
        id,
    })
}

/// Facebook: `GET /me?fields=id,name,email,picture`. The Graph API has no verification flag
/// for `email`, so it is never counted as verified: an account reached through Facebook is
/// never linked by address to an existing user.
// Nhost: calls any address verified.
pub fn facebook(user: &Value) -> Result<Profile, &'static str> {
    Ok(Profile {
        id: account_id(&user["id"])?,
        email: email(&user["email"]),
        email_verified: false,
        name: text(&user["name"]),
        avatar_url: user.pointer("/picture/data/url").and_then(picture),
    })
}

/// GitLab: `GET /api/v4/user`. The address is verified when GitLab says it confirmed it
/// (`confirmed_at` set). On a self-managed instance whose administrators turned e-mail
/// confirmation off, GitLab sets `confirmed_at` itself: trusting that instance is the
/// operator's choice when pointing Latchkey at it.
// Nhost: calls any address verified.
pub fn gitlab(user: &Value) -> Result<Profile, &'static str> {
    let address = email(&user["email"]);
    Ok(Profile {
        id: account_id(&user["id"])?,
        email_verified: address.is_some() && text(&user["confirmed_at"]).is_some(),
        email: address,
        name: text(&user["name"]).or_else(|| text(&user["username"])),
        avatar_url: picture(&user["avatar_url"]),
    })
}

/// Spotify: `GET /v1/me`. Spotify documents `email` as unverified ("there is no proof that
/// it actually belongs to the user"), so it never is here.
// Nhost: calls any address verified.
pub fn spotify(user: &Value) -> Result<Profile, &'static str> {
    let images = user["images"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    Ok(Profile {
        id: account_id(&user["id"])?,
        email: email(&user["email"]),
        email_verified: false,
        name: text(&user["display_name"]),
        avatar_url: images.iter().find_map(|i| picture(&i["url"])),
    })
}

/// Strava: `GET /api/v3/athlete`. Strava's API gives no e-mail at all (as upstream).
pub fn strava(athlete: &Value) -> Result<Profile, &'static str> {
    Ok(Profile {
        id: account_id(&athlete["id"])?,
        email: None,
        email_verified: false,
        name: full_name(&athlete["firstname"], &athlete["lastname"])
            .or_else(|| text(&athlete["username"])),
        avatar_url: picture(&athlete["profile_medium"]).or_else(|| picture(&athlete["profile"])),
    })
}

/// Twitch: `GET /helix/users` (a `data` list holding the token's user). Helix gives no
/// verification flag with `email` (only its documentation's wording), and Twitch accounts
/// can change their address before confirming it, so it is not counted as verified.
// Nhost: calls any address verified.
pub fn twitch(answer: &Value) -> Result<Profile, &'static str> {
    let user = answer["data"]
        .as_array()
        .and_then(|users| users.first())
        .ok_or(NO_ID)?;
    Ok(Profile {
        id: account_id(&user["id"])?,
        email: email(&user["email"]),
        email_verified: false,
        name: text(&user["display_name"]).or_else(|| text(&user["login"])),
        avatar_url: picture(&user["profile_image_url"]),
    })
}

/// Windows Live: `GET /v5.0/me`. The preferred address, else the account's; the API has no
/// verification flag, so it is not counted as verified.
// Nhost: calls any address verified, and names the user `name + " " + last_name`.
pub fn windowslive(user: &Value) -> Result<Profile, &'static str> {
    let emails = &user["emails"];
    Ok(Profile {
        id: account_id(&user["id"])?,
        email: email(&emails["preferred"]).or_else(|| email(&emails["account"])),
        email_verified: false,
        name: text(&user["name"]).or_else(|| full_name(&user["first_name"], &user["last_name"])),
        avatar_url: picture(&user["profile_image_url"]),
    })
}

/// WorkOS: the `profile` object of the token response. The address is whatever the
/// organisation's identity provider asserts, with no verification flag, so it is not counted
/// as verified.
// Nhost: asks `GET /sso/profile` for the same object, and calls any address verified.
pub fn workos(profile: &Value) -> Result<Profile, &'static str> {
    Ok(Profile {
        id: account_id(&profile["id"])?,
        email: email(&profile["email"]),
        email_verified: false,
        name: full_name(&profile["first_name"], &profile["last_name"]),
        avatar_url: None,
    })
}
