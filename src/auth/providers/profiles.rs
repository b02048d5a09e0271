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
}
