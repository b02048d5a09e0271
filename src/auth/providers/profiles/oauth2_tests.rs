//! Real-looking answers of each provider's profile API (shapes from their documentation),
//! and what they map to.

use serde_json::{Value, json};

use super::Profile;
use super::oauth2::*;

/// id, e-mail, verified, name, avatar; or the error.
type Expected = Result<
    (
        &'static str,
        Option<&'static str>,
        bool,
        Option<&'static str>,
        Option<&'static str>,
    ),
    &'static str,
>;
type Case = (
    &'static str,
    fn(&Value) -> Result<Profile, &'static str>,
    Value,
    Expected,
);

fn bitbucket_answers(answer: &Value) -> Result<Profile, &'static str> {
    bitbucket(&answer["user"], &answer["emails"])
}

const NO_ID: Expected = Err("no account id in the profile");

fn cases() -> Vec<Case> {
    let bb_user = json!({
        "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}",
        "account_id": "557058:c0b7a1a4-0b4d-4f66-9d4a-3f0a3c1d5e1b",
        "display_name": "Ada Lovelace", "nickname": "ada",
        "links": {"avatar": {"href": "https://avatar-management.services.atlassian.com/ada.png"}}
    });
    let bb = |emails: Value| json!({"user": bb_user.clone(), "emails": emails});
    let discord_user = json!({
        "id": "80351110224678912", "username": "nelly", "discriminator": "0",
        "global_name": "Nelly", "avatar": "8342729096ea3675442027381ff50dfe",
        "verified": true, "email": "Nelly@Discord.test", "locale": "en-US", "mfa_enabled": false
    });
    let with = |base: &Value, patch: Value| {
        let mut out = base.clone();
        if let (Some(o), Some(p)) = (out.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                o.insert(k.clone(), v.clone());
            }
        }
        out
    };
    let gitlab_user = json!({
        "id": 1, "username": "john_smith", "name": "John Smith", "state": "active",
        "email": "john@example.test", "avatar_url": "https://gitlab.test/uploads/john.png",
        "confirmed_at": "2012-05-23T09:05:22Z", "public_email": ""
    });
    vec![
        (
            "bitbucket: primary and confirmed",
            bitbucket_answers,
            bb(json!({"pagelen": 10, "page": 1, "size": 2, "values": [
                {"type": "email", "email": "old@x.test", "is_primary": false, "is_confirmed": true},
                {"type": "email", "email": "Ada@X.test", "is_primary": true, "is_confirmed": true}
            ]})),
            Ok((
                "{d301aafa-d676-4ee0-88be-962be7417567}",
                Some("ada@x.test"),
                true,
                Some("Ada Lovelace"),
                Some("https://avatar-management.services.atlassian.com/ada.png"),
            )),
        ),
        (
            "bitbucket: primary unconfirmed, even with a confirmed other one",
            bitbucket_answers,
            bb(json!({"values": [
                {"email": "other@x.test", "is_primary": false, "is_confirmed": true},
                {"email": "ada@x.test", "is_primary": true, "is_confirmed": false}
            ]})),
            Ok((
                "{d301aafa-d676-4ee0-88be-962be7417567}",
                Some("ada@x.test"),
                false,
                Some("Ada Lovelace"),
                Some("https://avatar-management.services.atlassian.com/ada.png"),
            )),
        ),
        (
            "bitbucket: no primary entry, no e-mail (never a secondary one)",
            bitbucket_answers,
            bb(
                json!({"values": [{"email": "a@x.test", "is_primary": false, "is_confirmed": true}]}),
            ),
            Ok((
                "{d301aafa-d676-4ee0-88be-962be7417567}",
                None,
                false,
                Some("Ada Lovelace"),
                Some("https://avatar-management.services.atlassian.com/ada.png"),
            )),
        ),
        (
            "bitbucket: e-mails refused (no scope)",
            bitbucket_answers,
            json!({"user": {"uuid": "{1}", "nickname": "bob"}, "emails": {"type": "error"}}),
            Ok(("{1}", None, false, Some("bob"), None)),
        ),
        (
            "bitbucket: no uuid",
            bitbucket_answers,
            json!({"user": {"account_id": "557058:1"}, "emails": {}}),
            NO_ID,
        ),
        (
            "discord: verified address, display name, CDN avatar",
            discord,
            discord_user.clone(),
            Ok((
                "80351110224678912",
                Some("nelly@discord.test"),
                true,
                Some("Nelly"),
                Some(
                    "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png",
                ),
            )),
        ),
        (
            "discord: unverified address; no display name or avatar",
            discord,
            with(
                &discord_user,
                json!({"verified": false, "global_name": null, "avatar": null}),
            ),
            Ok((
                "80351110224678912",
                Some("nelly@discord.test"),
                false,
                Some("nelly"),
                None,
            )),
        ),
        (
            "discord: no email scope, so no address and no flag",
            discord,
            json!({"id": "1", "username": "x", "avatar": "../../evil"}),
            Ok(("1", None, false, Some("x"), None)),
        ),
        (
            "discord: id missing",
            discord,
            json!({"username": "x"}),
            NO_ID,
        ),
        (
            "facebook: address never verified",
            facebook,
            json!({
                "id": "10158123456789012", "name": "Ada Lovelace", "email": "ada@fb.test",
                "picture": {"data": {"height": 50, "width": 50, "is_silhouette": false,
                                     "url": "https://platform-lookaside.fbsbx.test/ada"}}
            }),
            Ok((
                "10158123456789012",
                Some("ada@fb.test"),
                false,
                Some("Ada Lovelace"),
                Some("https://platform-lookaside.fbsbx.test/ada"),
            )),
        ),
        (
            "facebook: phone-only account, no email field",
            facebook,
            json!({"id": "42", "name": "Bob"}),
            Ok(("42", None, false, Some("Bob"), None)),
        ),
        (
            "gitlab: confirmed",
            gitlab,
            gitlab_user.clone(),
            Ok((
                "1",
                Some("john@example.test"),
                true,
                Some("John Smith"),
                Some("https://gitlab.test/uploads/john.png"),
            )),
        ),
        (
            "gitlab: not confirmed (null)",
            gitlab,
            with(&gitlab_user, json!({"confirmed_at": null, "name": ""})),
            Ok((
                "1",
                Some("john@example.test"),
                false,
                Some("john_smith"),
                Some("https://gitlab.test/uploads/john.png"),
            )),
        ),
        (
            "gitlab: confirmed_at absent",
            gitlab,
            json!({"id": 7, "email": "x@y.test"}),
            Ok(("7", Some("x@y.test"), false, None, None)),
        ),
        (
            "gitlab: id null",
            gitlab,
            json!({"id": null, "email": "x@y.test", "confirmed_at": "2020-01-01T00:00:00Z"}),
            NO_ID,
        ),
        (
            "spotify: address never verified; first image",
            spotify,
            json!({
                "id": "wizzler", "display_name": "JM Wizzler", "email": "email@example.test",
                "country": "SE", "product": "premium", "type": "user",
                "images": [{"url": "https://i.scdn.test/image/ab67", "height": 300, "width": 300}]
            }),
            Ok((
                "wizzler",
                Some("email@example.test"),
                false,
                Some("JM Wizzler"),
                Some("https://i.scdn.test/image/ab67"),
            )),
        ),
        (
            "spotify: no images, no display name",
            spotify,
            json!({"id": "x1", "display_name": null, "images": []}),
            Ok(("x1", None, false, None, None)),
        ),
        (
            "strava: names joined, no e-mail",
            strava,
            json!({
                "id": 1234567890987654321_u64, "username": "marianne_t", "firstname": "Marianne",
                "lastname": "Teutenberg", "profile_medium": "https://dgalywyr863hv.cloudfront.test/pictures/athletes/1/medium.jpg",
                "profile": "https://dgalywyr863hv.cloudfront.test/pictures/athletes/1/large.jpg"
            }),
            Ok((
                "1234567890987654321",
                None,
                false,
                Some("Marianne Teutenberg"),
                Some("https://dgalywyr863hv.cloudfront.test/pictures/athletes/1/medium.jpg"),
            )),
        ),
        (
            "strava: relative placeholder avatar is dropped",
            strava,
            json!({"id": 5, "username": "u5", "firstname": "", "lastname": null,
                   "profile_medium": "avatar/athlete/medium.png", "profile": "avatar/athlete/large.png"}),
            Ok(("5", None, false, Some("u5"), None)),
        ),
        (
            "twitch: first user of data; address not verified",
            twitch,
            json!({"data": [{
                "id": "141981764", "login": "twitchdev", "display_name": "TwitchDev",
                "type": "", "broadcaster_type": "partner", "description": "",
                "profile_image_url": "https://static-cdn.jtvnw.test/dev.png",
                "offline_image_url": "", "view_count": 5980557,
                "email": "not-real@email.test", "created_at": "2016-12-14T20:32:28Z"
            }]}),
            Ok((
                "141981764",
                Some("not-real@email.test"),
                false,
                Some("TwitchDev"),
                Some("https://static-cdn.jtvnw.test/dev.png"),
            )),
        ),
        ("twitch: empty data", twitch, json!({"data": []}), NO_ID),
        (
            "windowslive: preferred address, not verified",
            windowslive,
            json!({
                "id": "8c8ce076ca27823f", "name": "Roberto Tamburello",
                "first_name": "Roberto", "last_name": "Tamburello", "locale": "en_US",
                "emails": {"preferred": "Roberto@Contoso.test", "account": "roberto@live.test",
                           "personal": null, "business": null}
            }),
            Ok((
                "8c8ce076ca27823f",
                Some("roberto@contoso.test"),
                false,
                Some("Roberto Tamburello"),
                None,
            )),
        ),
        (
            "windowslive: account address when no preferred one; names joined",
            windowslive,
            json!({"id": "a1", "first_name": "Ro", "last_name": "T",
                   "emails": {"preferred": null, "account": "ro@live.test"}}),
            Ok(("a1", Some("ro@live.test"), false, Some("Ro T"), None)),
        ),
        (
            "workos: the token response's profile; never verified",
            workos,
            json!({
                "object": "profile", "id": "prof_01DMC79VCBZ0NY2099737PSVF1",
                "connection_id": "conn_01E4ZCR3C56J083X43JQXF3JK5", "connection_type": "OktaSAML",
                "organization_id": "org_01EHWNCE74X7JSDV0X3SZ3KJNY",
                "email": "todd@example.test", "first_name": "Todd", "last_name": "Rundgren",
                "idp_id": "00u1a0ufowBJlzPlk357", "raw_attributes": {}
            }),
            Ok((
                "prof_01DMC79VCBZ0NY2099737PSVF1",
                Some("todd@example.test"),
                false,
                Some("Todd Rundgren"),
                None,
            )),
        ),
        ("workos: no profile", workos, Value::Null, NO_ID),
    ]
}

#[test]
fn oauth2_provider_profiles() {
    for (name, map, answer, expected) in cases() {
        match (map(&answer), expected) {
            (Ok(p), Ok((id, email, verified, display, avatar))) => {
                assert_eq!(p.id, id, "{name}");
                assert_eq!(p.email.as_deref(), email, "{name}");
                assert_eq!(p.email_verified, verified, "{name}");
                assert_eq!(p.name.as_deref(), display, "{name}");
                assert_eq!(p.avatar_url.as_deref(), avatar, "{name}");
            }
            (Err(e), Err(expected)) => assert_eq!(e, expected, "{name}"),
            (got, _) => panic!("{name}: {got:?}"),
        }
    }
}
