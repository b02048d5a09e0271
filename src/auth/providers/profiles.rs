//! What each provider says about the account that signed in, mapped to one shape: one small
//! function per provider, each tested with a table of real-looking answers.

use serde_json::Value;

mod oauth2;
#[cfg(test)]
mod oauth2_tests;

pub use oauth2::{
    bitbucket, discord, facebook, gitlab, spotify, strava, twitch, windowslive, workos,
};

/// The account at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The provider's stable id for the account (never the e-mail, which can change hands).
    pub id: String,
    pub email: Option<String>,
    /// Whether the provider vouches that the account controls `email`. Only then may the
    /// account be linked to an existing user with that address.
    pub email_verified: bool,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
}

/// GitHub: `GET /user` and `GET /user/emails`. The e-mail is the primary address if GitHub
/// has verified it; else the primary address, unverified.
// Nhost: takes the first entry of /user/emails, verified or not, and calls it verified if
// that entry is.
pub fn github(user: &Value, emails: &Value) -> Result<Profile, &'static str> {
    let id = match &user["id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => return Err("no account id in the profile"),
    };
    let entries = emails.as_array().map(Vec::as_slice).unwrap_or_default();
    let primary = entries.iter().find(|e| e["primary"] == Value::Bool(true));
    let email = primary.and_then(|e| text(&e["email"]));
    let email_verified = email.is_some() && primary.is_some_and(|e| e["verified"] == true);
    Ok(Profile {
        id,
        email: email.map(|e| e.to_lowercase()),
        email_verified,
        name: text(&user["name"]).or_else(|| text(&user["login"])),
        avatar_url: text(&user["avatar_url"]),
    })
}

/// Twitter (OAuth 1.0a): `GET account/verify_credentials.json?include_email=true`. The id is
/// `id_str`: the numeric `id` exceeds what JavaScript numbers hold, so Twitter sends both.
///
/// Twitter has no verified flag. Its API reference for `include_email` says the address "will
/// be returned ... as a string. If the user does not have an email address on their account, or
/// if the email address is not verified, null will be returned." So an address present is one
/// Twitter verified, and only then is there an address at all: an account without one is
/// created without an e-mail and is never linked to an existing user by address.
pub fn twitter(user: &Value) -> Result<Profile, &'static str> {
    let id = match (&user["id_str"], &user["id"]) {
        (Value::String(s), _) if is_decimal(s) => s.clone(),
        (_, Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err("no account id in the profile"),
    };
    let email = text(&user["email"]).map(|e| e.to_lowercase());
    Ok(Profile {
        id,
        email_verified: email.is_some(),
        email,
        name: text(&user["name"]).or_else(|| text(&user["screen_name"])),
        avatar_url: text(&user["profile_image_url_https"]),
    })
}

/// Twitter's ids are unsigned decimal numbers.
fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A non-empty string, trimmed.
fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// id, e-mail, verified, name; or the error.
    type Expected = Result<
        (
            &'static str,
            Option<&'static str>,
            bool,
            Option<&'static str>,
        ),
        &'static str,
    >;
    type Case = (&'static str, Value, Value, Expected);

    #[test]
    fn github_profiles() {
        let ada =
            json!({"id": 42, "login": "ada", "name": "Ada", "avatar_url": "https://a.test/1"});
        let cases: &[Case] = &[
            (
                "primary verified among others",
                ada.clone(),
                json!([
                    {"email": "old@x.test", "primary": false, "verified": true},
                    {"email": "Ada@X.test", "primary": true, "verified": true}
                ]),
                Ok(("42", Some("ada@x.test"), true, Some("Ada"))),
            ),
            (
                "primary not verified: kept, but unverified",
                ada.clone(),
                json!([
                    {"email": "other@x.test", "primary": false, "verified": true},
                    {"email": "ada@x.test", "primary": true, "verified": false}
                ]),
                Ok(("42", Some("ada@x.test"), false, Some("Ada"))),
            ),
            (
                "no primary entry: no e-mail (never the first unverified one)",
                ada.clone(),
                json!([{"email": "a@x.test", "primary": false, "verified": false}]),
                Ok(("42", None, false, Some("Ada"))),
            ),
            (
                "no e-mails at all; the login stands in for a missing name",
                json!({"id": "7", "login": "bob", "name": null}),
                json!([]),
                Ok(("7", None, false, Some("bob"))),
            ),
            (
                "emails not a list",
                ada.clone(),
                json!({"message": "Not Found"}),
                Ok(("42", None, false, Some("Ada"))),
            ),
            (
                "no id",
                json!({"login": "x"}),
                json!([]),
                Err("no account id in the profile"),
            ),
            (
                "id null",
                json!({"id": null}),
                json!([]),
                Err("no account id in the profile"),
            ),
        ];
        for (name, user, emails, expected) in cases {
            let got = github(user, emails);
            match (got, expected) {
                (Ok(p), Ok((id, email, verified, display))) => {
                    assert_eq!(p.id, *id, "{name}");
                    assert_eq!(p.email.as_deref(), *email, "{name}");
                    assert_eq!(p.email_verified, *verified, "{name}");
                    assert_eq!(p.name.as_deref(), *display, "{name}");
                }
                (Err(e), Err(expected)) => assert_eq!(e, *expected, "{name}"),
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
        let avatar = github(&ada, &json!([])).unwrap().avatar_url;
        assert_eq!(avatar.as_deref(), Some("https://a.test/1"));
    }
    #[test]
    fn twitter_profiles() {
        type Expected = Result<
            (
                &'static str,
                Option<&'static str>,
                bool,
                Option<&'static str>,
            ),
            &'static str,
        >;
        let cases: &[(&str, Value, Expected)] = &[
            (
                "an address is one Twitter verified",
                json!({"id": 1_234_567_890_123_456_789_u64, "id_str": "1234567890123456789",
                       "name": "Ada", "screen_name": "ada", "email": "Ada@X.test",
                       "profile_image_url_https": "https://pbs.test/ada.jpg"}),
                Ok(("1234567890123456789", Some("ada@x.test"), true, Some("Ada"))),
            ),
            (
                "no address (none on the account, or unverified): null",
                json!({"id_str": "7", "name": "", "screen_name": "bob", "email": null}),
                Ok(("7", None, false, Some("bob"))),
            ),
            (
                "an empty address is none",
                json!({"id_str": "8", "email": "  "}),
                Ok(("8", None, false, None)),
            ),
            (
                "the numeric id when id_str is missing",
                json!({"id": 9, "name": "Carol"}),
                Ok(("9", None, false, Some("Carol"))),
            ),
            (
                "no id",
                json!({"screen_name": "x"}),
                Err("no account id in the profile"),
            ),
            (
                "an id that is not a number",
                json!({"id_str": "../1", "id": -1}),
                Err("no account id in the profile"),
            ),
            (
                "an error body",
                json!({"errors": [{"code": 89}]}),
                Err("no account id in the profile"),
            ),
        ];
        for (name, user, expected) in cases {
            match (twitter(user), expected) {
                (Ok(p), Ok((id, email, verified, display))) => {
                    assert_eq!(p.id, *id, "{name}");
                    assert_eq!(p.email.as_deref(), *email, "{name}");
                    assert_eq!(p.email_verified, *verified, "{name}");
                    assert_eq!(p.name.as_deref(), *display, "{name}");
                }
                (Err(e), Err(expected)) => assert_eq!(e, *expected, "{name}"),
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
        let avatar = twitter(&cases[0].1).unwrap().avatar_url;
        assert_eq!(avatar.as_deref(), Some("https://pbs.test/ada.jpg"));
    }
}
