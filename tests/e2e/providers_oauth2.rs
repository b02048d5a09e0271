//! The plain OAuth 2 providers (Bitbucket, Discord, Facebook, GitLab, Spotify, Strava,
//! Twitch, Windows Live, WorkOS), each through the whole flow against the real OAuth mock on
//! loopback serving that provider's profile shape at its path: a new user with the mapped
//! fields, the same user on return, and an existing user's address refused unless the
//! provider says it verified it.

use serde_json::{Value, json};
use url::Url;

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;
use crate::support::provider_flow::{BACK, follow, linked_user, param, serve, session_of};

const AVATAR: &str = "https://avatars.test/ada";
const DISCORD_AVATAR: &str = "8342729096ea3675442027381ff50dfe";
const WORKOS_ORG: &str = "org_01EHWNCE74X7JSDV0X3SZ3KJNY";

/// One account at a provider, as a test wants the provider to describe it.
struct Account<'a> {
    /// Makes the provider's id (`1` becomes `80351110224678912001` at Discord, ...).
    n: u32,
    email: &'a str,
    verified: bool,
}

struct Provider {
    name: &'static str,
    env: &'static str,
    profile_path: Option<&'static str>,
    /// PKCE challenge in the authorization URL.
    pkce: bool,
    /// Where the token request must carry the client credentials.
    token_auth: &'static str,
    /// Whether the mapping reads a verification flag (else an address is never verified).
    maps_verification: bool,
    has_email: bool,
    /// The provider's id for an account.
    id: fn(u32) -> String,
    /// The mock's settings making the provider describe the account.
    answer: fn(&Account, &str) -> Value,
    /// The avatar the user gets, if the provider has one.
    avatar: fn(&str) -> Option<String>,
}

fn at(path: &str, answer: Value) -> Value {
    json!({ "profiles": { path: answer } })
}

fn avatar(_: &str) -> Option<String> {
    Some(AVATAR.to_owned())
}

fn none(_: &str) -> Option<String> {
    None
}

fn providers() -> Vec<Provider> {
    vec![
        Provider {
            name: "bitbucket",
            env: "BITBUCKET",
            profile_path: Some("/2.0/user"),
            pkce: false,
            token_auth: "basic",
            maps_verification: true,
            has_email: true,
            id: |n| format!("{{d301aafa-d676-4ee0-88be-{n:012}}}"),
            answer: |a, id| {
                json!({ "profiles": {
                    "/2.0/user": { "uuid": id, "display_name": "Ada Lovelace",
                                   "links": { "avatar": { "href": AVATAR } } },
                    "/2.0/user/emails": { "pagelen": 10, "values": [
                        { "email": "spare@example.test", "is_primary": false, "is_confirmed": true },
                        { "email": a.email, "is_primary": true, "is_confirmed": a.verified }
                    ]}
                }})
            },
            avatar,
        },
        Provider {
            name: "discord",
            env: "DISCORD",
            profile_path: Some("/api/users/@me"),
            pkce: true,
            token_auth: "basic",
            maps_verification: true,
            has_email: true,
            id: |n| format!("80351110224678{n:03}"),
            answer: |a, id| {
                at(
                    "/api/users/@me",
                    json!({ "id": id, "username": "ada", "discriminator": "0",
                            "global_name": "Ada Lovelace", "avatar": DISCORD_AVATAR,
                            "email": a.email, "verified": a.verified }),
                )
            },
            avatar: |id| {
                Some(format!(
                    "https://cdn.discordapp.com/avatars/{id}/{DISCORD_AVATAR}.png"
                ))
            },
        },
        Provider {
            name: "facebook",
            env: "FACEBOOK",
            profile_path: Some("/me?fields=id,name,email,picture"),
            pkce: true,
            token_auth: "body",
            maps_verification: false,
            has_email: true,
            id: |n| format!("10158{n:06}"),
            answer: |a, id| {
                at(
                    "/me",
                    json!({ "id": id, "name": "Ada Lovelace", "email": a.email,
                            "picture": { "data": { "url": AVATAR, "is_silhouette": false } } }),
                )
            },
            avatar,
        },
        Provider {
            name: "gitlab",
            env: "GITLAB",
            profile_path: Some("/api/v4/user"),
            pkce: true,
            token_auth: "basic",
            maps_verification: true,
            has_email: true,
            id: |n| (4000 + n).to_string(),
            answer: |a, id| {
                let confirmed = a.verified.then_some("2024-05-23T09:05:22Z");
                at(
                    "/api/v4/user",
                    json!({ "id": id.parse::<u64>().unwrap(), "username": "ada",
                            "name": "Ada Lovelace", "email": a.email, "avatar_url": AVATAR,
                            "state": "active", "confirmed_at": confirmed }),
                )
            },
            avatar,
        },
        Provider {
            name: "spotify",
            env: "SPOTIFY",
            profile_path: Some("/v1/me"),
            pkce: true,
            token_auth: "basic",
            maps_verification: false,
            has_email: true,
            id: |n| format!("wizzler{n}"),
            answer: |a, id| {
                at(
                    "/v1/me",
                    json!({ "id": id, "display_name": "Ada Lovelace", "email": a.email,
                            "images": [{ "url": AVATAR, "height": 300, "width": 300 }] }),
                )
            },
            avatar,
        },
        Provider {
            name: "strava",
            env: "STRAVA",
            profile_path: Some("/api/v3/athlete"),
            pkce: false,
            token_auth: "body",
            maps_verification: false,
            has_email: false,
            id: |n| (1_234_567_000 + u64::from(n)).to_string(),
            answer: |_, id| {
                at(
                    "/api/v3/athlete",
                    json!({ "id": id.parse::<u64>().unwrap(), "username": "ada",
                            "firstname": "Ada", "lastname": "Lovelace", "profile_medium": AVATAR }),
                )
            },
            avatar,
        },
        Provider {
            name: "twitch",
            env: "TWITCH",
            profile_path: Some("/helix/users"),
            pkce: false,
            token_auth: "body",
            maps_verification: false,
            has_email: true,
            id: |n| format!("141981{n:03}"),
            answer: |a, id| {
                json!({
                    "profiles": { "/helix/users": { "data": [{
                        "id": id, "login": "ada", "display_name": "Ada Lovelace",
                        "profile_image_url": AVATAR, "email": a.email
                    }]}},
                    // Helix refuses a user token without the application's client id.
                    "profileHeaders": { "/helix/users": { "Client-Id": "latchkey-test" } }
                })
            },
            avatar,
        },
        Provider {
            name: "windowslive",
            env: "WINDOWS_LIVE",
            profile_path: Some("/v5.0/me"),
            pkce: false,
            token_auth: "body",
            maps_verification: false,
            has_email: true,
            id: |n| format!("8c8ce076ca27{n:04}"),
            answer: |a, id| {
                at(
                    "/v5.0/me",
                    json!({ "id": id, "name": "Ada Lovelace", "first_name": "Ada",
                            "last_name": "Lovelace",
                            "emails": { "preferred": a.email, "account": "other@live.test" } }),
                )
            },
            avatar: none,
        },
        Provider {
            name: "workos",
            env: "WORKOS",
            profile_path: None,
            pkce: true,
            token_auth: "body",
            maps_verification: false,
            has_email: true,
            id: |n| format!("prof_01DMC79VCBZ0NY2099737P{n:04}"),
            answer: |a, id| {
                // WorkOS answers `{access_token, profile}`: no token_type, no refresh token.
                json!({ "tokenFields": {
                    "token_type": null, "refresh_token": null, "id_token": null,
                    "scope": null, "expires_in": null,
                    "profile": { "object": "profile", "id": id, "email": a.email,
                                 "first_name": "Ada", "last_name": "Lovelace",
                                 "organization_id": WORKOS_ORG, "connection_type": "OktaSAML" }
                }})
            },
            avatar: none,
        },
    ]
}

/// The mock, and a server with every provider pointed at it.
async fn all_providers(app: TestApp, extra: &[(&str, &str)]) -> (OAuthMock, TestApp) {
    let mock = OAuthMock::start();
    let mut vars: Vec<(String, String)> = providers()
        .iter()
        .flat_map(|p| mock.oauth2_vars(p.env, p.profile_path))
        .collect();
    vars.push((
        "AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION".into(),
        WORKOS_ORG.into(),
    ));
    vars.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let app = serve(app, vars).await;
    (mock, app)
}

/// Makes the mock describe `account` as `provider` does, and want the client credentials
/// where that provider wants them.
async fn describe(mock: &OAuthMock, provider: &Provider, account: &Account<'_>) {
    let id = (provider.id)(account.n);
    let mut control = json!({ "tokenFields": {}, "profileHeaders": {} });
    for (key, value) in (provider.answer)(account, &id).as_object().unwrap() {
        control[key] = value.clone();
    }
    control["tokenAuth"] = json!(provider.token_auth);
    mock.control(control).await;
}

/// The whole flow with `provider`; checks the authorization URL on the way, returns where
/// the flow ended.
async fn sign_in(app: &TestApp, provider: &Provider) -> Url {
    let name = provider.name;
    let start = format!("{}/signin/provider/{name}?redirectTo={BACK}", app.base);
    let (to_provider, cookie) = follow(app, &start, None).await;
    let cookie = cookie.expect("binding cookie");
    assert_eq!(
        param(&to_provider, "code_challenge").is_some(),
        provider.pkce,
        "{name}: PKCE in {to_provider}"
    );
    match name {
        "workos" => assert_eq!(
            param(&to_provider, "organization").as_deref(),
            Some(WORKOS_ORG)
        ),
        "strava" => assert_eq!(
            param(&to_provider, "approval_prompt").as_deref(),
            Some("force")
        ),
        _ => assert_eq!(param(&to_provider, "organization"), None),
    }
    let (callback, _) = follow(app, to_provider.as_str(), None).await;
    let path = format!("/signin/provider/{name}/callback");
    assert!(callback.path().ends_with(&path), "{callback}");
    follow(app, callback.as_str(), Some(&cookie)).await.0
}

async fn linked(app: &TestApp, provider: &str, id: &str) -> Option<String> {
    linked_user(app, provider, id).await.map(|u| u.to_string())
}

async fn sign_up(app: &TestApp, email: &str) -> String {
    let body = json!({ "email": email, "password": "correct horse battery" });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["session"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn every_plain_oauth2_provider_signs_in(app: TestApp) {
    let (mock, app) = all_providers(app, &[]).await;
    for p in providers() {
        let name = p.name;
        let ada = format!("{name}-ada@example.test");
        let account = Account {
            n: 1,
            email: &ada,
            verified: true,
        };
        describe(&mock, &p, &account).await;
        let session = session_of(&app, &sign_in(&app, &p).await).await;
        let user = &session["user"];
        let id = (p.id)(1);
        let expected_email = p.has_email.then_some(ada.as_str());
        assert_eq!(user["email"].as_str(), expected_email, "{name}");
        assert_eq!(
            user["emailVerified"],
            p.has_email && p.maps_verification,
            "{name}: verified only when the provider says so"
        );
        assert_eq!(user["displayName"], "Ada Lovelace", "{name}");
        if let Some(avatar) = (p.avatar)(&id) {
            assert_eq!(user["avatarUrl"], json!(avatar), "{name}");
        }
        let user_id = user["id"].as_str().unwrap().to_owned();
        assert_eq!(
            linked(&app, name, &id).await.as_deref(),
            Some(user_id.as_str()),
            "{name}: linked by the provider's id"
        );

        // The same account again: the same user, found by the provider's id.
        let again = session_of(&app, &sign_in(&app, &p).await).await;
        assert_eq!(again["user"]["id"], json!(user_id), "{name}");
        assert_eq!(app.sessions_of(&user_id).await, 2, "{name}");

        if !p.has_email {
            continue;
        }
        // Someone else's account at the provider, claiming an existing user's address
        // without the provider vouching for it: refused, nothing linked.
        let grace_email = format!("{name}-grace@example.test");
        let grace = sign_up(&app, &grace_email).await;
        let claimed = grace_email.to_uppercase();
        let mallory = Account {
            n: 2,
            email: &claimed,
            verified: false,
        };
        describe(&mock, &p, &mallory).await;
        let ended = sign_in(&app, &p).await;
        assert_eq!(
            param(&ended, "error").as_deref(),
            Some("email-already-in-use"),
            "{name}: {ended}"
        );
        assert!(param(&ended, "refreshToken").is_none(), "{name}: {ended}");
        assert_eq!(linked(&app, name, &(p.id)(2)).await, None, "{name}");

        // Vouched for: linked to the existing user, signed in as her. A provider whose API
        // has no such flag never links by address.
        let verified = Account {
            n: 3,
            email: &grace_email,
            verified: true,
        };
        describe(&mock, &p, &verified).await;
        let ended = sign_in(&app, &p).await;
        if p.maps_verification {
            let session = session_of(&app, &ended).await;
            assert_eq!(session["user"]["id"], json!(grace), "{name}");
            assert_eq!(linked(&app, name, &(p.id)(3)).await, Some(grace), "{name}");
        } else {
            assert_eq!(
                param(&ended, "error").as_deref(),
                Some("email-already-in-use"),
                "{name}: {ended}"
            );
            assert_eq!(linked(&app, name, &(p.id)(3)).await, None, "{name}");
        }
    }
}
both_backends!(every_plain_oauth2_provider_signs_in);

/// While verification is required, an address the provider does not vouch for gets the
/// verification mail (as upstream), and no session until it is verified; an account without
/// any address (Strava) has nothing to verify and signs in.
async fn an_unvouched_address_is_verified_by_mail_first(app: TestApp) {
    let required = [("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true")];
    let (mock, app) = all_providers(app, &required).await;
    let all = providers();
    let facebook = all.iter().find(|p| p.name == "facebook").unwrap();
    let account = Account {
        n: 9,
        email: "fb-user@example.test",
        verified: false,
    };
    describe(&mock, facebook, &account).await;
    let ended = sign_in(&app, facebook).await;
    assert_eq!(
        param(&ended, "error").as_deref(),
        Some("unverified-user"),
        "{ended}"
    );
    let user_id = linked(&app, "facebook", &(facebook.id)(9))
        .await
        .expect("the user is created, linked");
    let mail = app.mailer.sent().pop().expect("a verification mail");
    assert_eq!(
        (mail.to.as_str(), mail.template.as_str()),
        ("fb-user@example.test", "email-verify")
    );
    assert_eq!(mail.user_id.to_string(), user_id);

    // The link verifies the address; the next sign-in with Facebook goes through.
    let link = Url::parse(mail.header("X-Link").unwrap()).unwrap();
    let local = format!("{}{}?{}", app.base, link.path(), link.query().unwrap());
    let (verified, _) = follow(&app, &local, None).await;
    assert!(param(&verified, "refreshToken").is_some(), "{verified}");
    let session = session_of(&app, &sign_in(&app, facebook).await).await;
    assert_eq!(session["user"]["id"], json!(user_id));
    assert_eq!(session["user"]["emailVerified"], true);

    let strava = all.iter().find(|p| p.name == "strava").unwrap();
    let athlete = Account {
        n: 9,
        email: "",
        verified: false,
    };
    describe(&mock, strava, &athlete).await;
    let session = session_of(&app, &sign_in(&app, strava).await).await;
    assert_eq!(session["user"]["email"], Value::Null);
}
both_backends!(an_unvouched_address_is_verified_by_mail_first);

/// WorkOS's connection or organization chosen per sign-in (Nhost's `providerSpecificParams`,
/// which both SDKs send as plain query parameters) replaces the configured default selector,
/// so WorkOS never gets two that disagree; other providers ignore them; a malformed one never
/// leaves for the provider.
async fn workos_takes_a_connection_or_organization_per_sign_in(app: TestApp) {
    const CONNECTION: &str = "conn_01E2NPPCT7XQ2MVVYDHWGK1WN4";
    const OTHER_ORG: &str = "org_01EHZNVPK3SFK441A1RGBFSHRT";
    let (mock, app) = all_providers(app, &[]).await;
    let start = |provider: &str, query: &str| {
        format!(
            "{}/signin/provider/{provider}?redirectTo={BACK}&{query}",
            app.base
        )
    };

    let with_connection = start("workos", &format!("connection={CONNECTION}"));
    let (to, _) = follow(&app, &with_connection, None).await;
    assert_eq!(param(&to, "connection").as_deref(), Some(CONNECTION));
    assert_eq!(param(&to, "organization"), None, "{to}");
    let (to, _) = follow(
        &app,
        &start("workos", &format!("organization={OTHER_ORG}")),
        None,
    )
    .await;
    assert_eq!(param(&to, "organization").as_deref(), Some(OTHER_ORG));
    assert_eq!(param(&to, "connection"), None, "{to}");

    // The whole flow with a connection ends signed in.
    let all = providers();
    let workos = all.iter().find(|p| p.name == "workos").unwrap();
    let account = Account {
        n: 4,
        email: "sso@example.test",
        verified: false,
    };
    describe(&mock, workos, &account).await;
    let (to, cookie) = follow(&app, &with_connection, None).await;
    let (callback, _) = follow(&app, to.as_str(), None).await;
    let (ended, _) = follow(&app, callback.as_str(), cookie.as_deref()).await;
    let session = session_of(&app, &ended).await;
    assert_eq!(session["user"]["email"], "sso@example.test");

    // Empty, or with a control character: back to redirectTo, never to the provider.
    for query in [
        "connection=",
        "organization=org%0Aevil",
        "connection=conn%00x",
    ] {
        let (to, _) = follow(&app, &start("workos", query), None).await;
        assert!(to.as_str().starts_with(BACK), "{query}: {to}");
        assert_eq!(
            param(&to, "error").as_deref(),
            Some("invalid-request"),
            "{query}"
        );
    }

    // Another provider takes no selector: ignored.
    let (to, _) = follow(
        &app,
        &start("discord", &format!("connection={CONNECTION}")),
        None,
    )
    .await;
    assert_eq!(param(&to, "connection"), None, "{to}");
    assert!(param(&to, "state").is_some(), "{to}");
}
both_backends!(workos_takes_a_connection_or_organization_per_sign_in);
