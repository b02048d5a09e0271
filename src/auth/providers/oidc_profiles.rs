//! The account an OpenID provider's checked ID token describes, per provider: what counts as
//! the account id, and when the e-mail is verified (only then may the account be linked to
//! an existing user with that address).

use serde_json::Value;

use super::idclaims::Claims;
use super::profiles::Profile;

/// The profile in `claims`, read the way `provider` means them.
pub(super) fn profile(provider: &str, claims: &Claims) -> Result<Profile, &'static str> {
    match provider {
        // As upstream: Azure AD accounts by object id, Entra ID ones by subject.
        "azuread" => microsoft(claims, true),
        "entraid" => microsoft(claims, false),
        // Google, LinkedIn, Apple: `email_verified` as stated. (Apple sends it as the string
        // "true"; the crate's `accept-string-booleans` reads that as true.)
        _ => Ok(standard(claims)),
    }
}

fn standard(claims: &Claims) -> Profile {
    let email = claims.email().map(|e| e.as_str().to_lowercase());
    Profile {
        id: claims.subject().as_str().to_owned(),
        email_verified: email.is_some() && claims.email_verified() == Some(true),
        email,
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().trim().to_owned())
            .filter(|n| !n.is_empty()),
        avatar_url: claims
            .picture()
            .and_then(|p| p.get(None))
            .map(|p| p.as_str().to_owned()),
    }
}

/// Microsoft's `email` claim is whatever the tenant's administrator (or, for a guest, the
/// user) typed: Microsoft does not verify it and sends no `email_verified`. Strict here: the
/// address counts as verified only with `xms_edov: true` (the tenant owns its domain, an
/// optional claim the app registration must request); otherwise the account can still sign
/// up and sign in, but never takes over an existing user with that address.
// Nhost: calls any non-empty e-mail verified (falling back to `preferred_username` and
// `upn`, which need not be addresses at all): a tenant admin could claim anyone's account.
fn microsoft(claims: &Claims, by_object_id: bool) -> Result<Profile, &'static str> {
    let extra = claims.additional_claims();
    let id = if by_object_id {
        extra
            .oid
            .clone()
            .filter(|o| !o.is_empty())
            .ok_or("no oid claim in the ID token")?
    } else {
        claims.subject().as_str().to_owned()
    };
    let domain_verified = match &extra.xms_edov {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    };
    let mut profile = standard(claims);
    profile.id = id;
    profile.email_verified = profile.email.is_some() && domain_verified;
    Ok(profile)
}

/// Apple sends the user's name once, on the first sign-in, as the form field `user`:
/// `{"name": {"firstName": "..", "lastName": ".."}, "email": ".."}`. Only the name is taken
/// (the e-mail comes from the signed ID token, never from this unsigned field).
pub(crate) fn apple_name(user: &str) -> Option<String> {
    let value: Value = serde_json::from_str(user).ok()?;
    let part = |key: &str| {
        value
            .get("name")
            .and_then(|n| n.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let name = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(extra: Value) -> Claims {
        let mut base = json!({
            "iss": "https://login.microsoftonline.com/t-1/v2.0", "aud": "c", "sub": "s-1",
            "exp": 2_000_000_000, "iat": 1_000_000_000,
            "email": "Ada@Contoso.test", "name": "Ada",
        });
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn microsoft_emails_are_verified_only_with_a_verified_domain() {
        // (name, provider, claims, id, verified)
        type Case = (
            &'static str,
            &'static str,
            Value,
            Result<&'static str, &'static str>,
            bool,
        );
        let cases: &[Case] = &[
            ("entraid: sub", "entraid", json!({}), Ok("s-1"), false),
            (
                "azuread: oid",
                "azuread",
                json!({"oid": "o-1"}),
                Ok("o-1"),
                false,
            ),
            (
                "azuread without oid",
                "azuread",
                json!({}),
                Err("no oid claim in the ID token"),
                false,
            ),
            (
                "edov true",
                "entraid",
                json!({"xms_edov": true}),
                Ok("s-1"),
                true,
            ),
            (
                "edov \"1\"",
                "entraid",
                json!({"xms_edov": "1"}),
                Ok("s-1"),
                true,
            ),
            (
                "edov false",
                "entraid",
                json!({"xms_edov": false}),
                Ok("s-1"),
                false,
            ),
            (
                "email_verified is not Microsoft's to say",
                "entraid",
                json!({"email_verified": true}),
                Ok("s-1"),
                false,
            ),
        ];
        for (name, provider, extra, id, verified) in cases {
            match (profile(provider, &claims(extra.clone())), id) {
                (Ok(p), Ok(id)) => {
                    assert_eq!(p.id, *id, "{name}");
                    assert_eq!(p.email_verified, *verified, "{name}");
                    assert_eq!(p.email.as_deref(), Some("ada@contoso.test"), "{name}");
                }
                (Err(e), Err(expected)) => assert_eq!(e, *expected, "{name}"),
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn standard_email_verified_accepts_apples_string() {
        let cases = [
            (json!({"email_verified": true}), true),
            (json!({"email_verified": "true"}), true),
            (json!({"email_verified": "false"}), false),
            (json!({"email_verified": false}), false),
            (json!({}), false),
        ];
        for (extra, verified) in cases {
            let p = profile("apple", &claims(extra.clone())).unwrap();
            assert_eq!(p.email_verified, verified, "{extra}");
            assert_eq!(p.id, "s-1");
        }
    }

    #[test]
    fn apple_names_from_the_user_field() {
        let cases = [
            (
                r#"{"name":{"firstName":"Ada","lastName":"Lovelace"}}"#,
                Some("Ada Lovelace"),
            ),
            (r#"{"name":{"firstName":" Ada "}}"#, Some("Ada")),
            (
                r#"{"name":{"lastName":"Lovelace"},"email":"x@y"}"#,
                Some("Lovelace"),
            ),
            (r#"{"name":{}}"#, None),
            (r#"{"email":"x@y"}"#, None),
            ("not json", None),
            (r#"{"name":{"firstName":7}}"#, None),
        ];
        for (user, expected) in cases {
            assert_eq!(apple_name(user).as_deref(), expected, "{user}");
        }
    }
}
