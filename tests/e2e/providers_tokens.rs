//! The provider's own tokens after sign-in, against the OAuth mock on loopback: the one-time
//! hand-over to the session a sign-in created, the bearer refresh, and the admin refresh of
//! the stored (sealed) tokens.

use std::time::Duration;

use base64::Engine;
use latchkey::model::{ProviderLink, RefreshTokenId, UserId};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;
use crate::support::provider_flow::{sealer, serve, session_of, sign_in as flow};

const ADMIN: &str = "admin-secret-for-tests";

/// The mock and a server pointed at it (GitHub-shaped provider), with the admin secret set.
async fn github(app: TestApp) -> (OAuthMock, TestApp) {
    let mock = OAuthMock::start();
    let mut vars = mock.github_vars();
    vars.push(("HASURA_GRAPHQL_ADMIN_SECRET".into(), ADMIN.into()));
    let app = serve(app, vars).await;
    (mock, app)
}

/// A whole GitHub sign-in: the session (access token, user) it created.
async fn sign_in(app: &TestApp) -> Value {
    let (_, ended) = flow(app, "github").await;
    session_of(app, &ended).await
}

fn access(session: &Value) -> &str {
    session["accessToken"].as_str().unwrap()
}

fn user_of(session: &Value) -> UserId {
    UserId::from_uuid(session["user"]["id"].as_str().unwrap().parse().unwrap())
}

/// The `sid` claim: the session's refresh-token family.
fn family_of(session: &Value) -> RefreshTokenId {
    let payload = access(session).split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    RefreshTokenId::from_uuid(claims["sid"].as_str().unwrap().parse().unwrap())
}

/// The stored GitHub link of the user, its tokens opened: (row, access, refresh).
async fn stored(app: &TestApp, user: UserId) -> (ProviderLink, String, Option<String>) {
    let link = app
        .store
        .provider_link_of(user, "github")
        .await
        .unwrap()
        .expect("linked");
    let sealer = sealer(app).await;
    let open = |kind: &str, sealed: &str| {
        let context = format!("provider-{kind}:github:{}", link.provider_user_id);
        String::from_utf8(sealer.open(&context, sealed).unwrap().to_vec()).unwrap()
    };
    let access = open("access", &link.access_token_sealed);
    let refresh = link
        .refresh_token_sealed
        .as_deref()
        .map(|s| open("refresh", s));
    for clear in std::iter::once(&access).chain(refresh.as_ref()) {
        assert!(
            !link.access_token_sealed.contains(clear.as_str())
                && !link
                    .refresh_token_sealed
                    .as_deref()
                    .unwrap_or_default()
                    .contains(clear.as_str()),
            "the row holds no clear token"
        );
    }
    assert!(link.access_token_sealed.starts_with("lk1:"));
    (link, access, refresh)
}

async fn admin_refresh(app: &TestApp, secret: Option<&str>, body: &Value) -> crate::support::Res {
    let mut req = app
        .client
        .post(format!("{}/user/provider/tokens", app.base))
        .json(body);
    if let Some(secret) = secret {
        req = req.header("x-hasura-admin-secret", secret);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    crate::support::Res { status, body }
}

const TOKENS: &str = "/signin/provider/github/callback/tokens";

async fn handover_is_single_use_and_bound_to_its_session(app: TestApp) {
    let (_mock, app) = github(app).await;
    let first = sign_in(&app).await;
    let second = sign_in(&app).await;
    assert_eq!(user_of(&first), user_of(&second), "the same account");

    // Each session gets the tokens of its own sign-in, once.
    let res = app.get(TOKENS, Some(access(&second))).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let handed = res.body.clone();
    let provider_access = handed["accessToken"].as_str().unwrap();
    assert!(
        provider_access.starts_with("eyJ"),
        "the mock's JWT: {handed}"
    );
    let expires_in = handed["expiresIn"].as_u64().unwrap();
    assert!((3500..=3600).contains(&expires_in), "{handed}");
    let expires_at = handed["expiresAt"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires_at).is_ok(),
        "{handed}"
    );
    assert!(handed["refreshToken"].is_string(), "{handed}");
    let (_, stored_access, _) = stored(&app, user_of(&second)).await;
    assert_eq!(
        stored_access, provider_access,
        "the newest sign-in's tokens"
    );

    let again = app.get(TOKENS, Some(access(&second))).await;
    assert_eq!(
        (again.status, again.error_code()),
        (400, "invalid-request"),
        "single use"
    );
    // Another provider, or a provider we do not know: nothing, and no 5xx.
    for path in [
        "/signin/provider/google/callback/tokens",
        "/signin/provider/nope/callback/tokens",
    ] {
        let res = app.get(path, Some(access(&first))).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{path}"
        );
    }
    let res = app.get(TOKENS, None).await;
    assert!(
        (400..500).contains(&res.status),
        "no bearer: {:?}",
        res.body
    );

    // The first session's tokens are still there for it: stored sealed, under its family.
    let sealed = app
        .store
        .take_provider_session(
            user_of(&first),
            family_of(&first),
            "github",
            app.clock_now(),
        )
        .await
        .unwrap()
        .expect("kept for the first session");
    assert!(
        sealed.starts_with("lk1:") && !sealed.contains("eyJ"),
        "{sealed}"
    );
    let res = app.get(TOKENS, Some(access(&first))).await;
    assert_eq!(res.status, 400, "taken above: {:?}", res.body);

    // Not taken within the hand-over time, they are gone.
    let third = sign_in(&app).await;
    app.advance(latchkey::auth::providers::HANDOVER_TTL + Duration::from_secs(1));
    let res = app.get(TOKENS, Some(access(&third))).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));

    // Signing out ends the session and what it had not taken yet.
    let fourth = sign_in(&app).await;
    let res = app
        .post_bearer(
            "/signout",
            access(&fourth),
            &json!({ "refreshToken": fourth["refreshToken"] }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let left = app
        .store
        .take_provider_session(
            user_of(&fourth),
            family_of(&fourth),
            "github",
            app.clock_now(),
        )
        .await
        .unwrap();
    assert!(left.is_none(), "deleted with the session");
}
both_backends!(handover_is_single_use_and_bound_to_its_session);

async fn bearer_refresh_follows_the_providers_rotation(app: TestApp) {
    let (mock, app) = github(app).await;
    let session = sign_in(&app).await;
    let user = user_of(&session);
    let handed = app.get(TOKENS, Some(access(&session))).await.body;
    let r0 = handed["refreshToken"].as_str().unwrap().to_owned();

    let path = "/token/provider/github";
    let res = app
        .post_bearer(path, access(&session), &json!({ "refreshToken": r0 }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let r1 = res.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r0, "the mock rotates");
    assert!(res.body["accessToken"].as_str().unwrap().starts_with("eyJ"));
    assert!(res.body["expiresIn"].as_u64().unwrap() > 3000);
    assert!(res.body["expiresAt"].is_string());
    // It was the stored refresh token, so the stored tokens follow.
    let (_, stored_access, stored_refresh) = stored(&app, user).await;
    assert_eq!(stored_refresh.as_deref(), Some(r1.as_str()));
    assert_eq!(stored_access, res.body["accessToken"].as_str().unwrap());

    // The rotated-away token is refused by the provider, and nothing stored changes.
    let res = app
        .post_bearer(path, access(&session), &json!({ "refreshToken": r0 }))
        .await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "oauth-provider-error")
    );
    assert_eq!(stored(&app, user).await.2.as_deref(), Some(r1.as_str()));

    // A provider that does not rotate: no refresh token in the answer, the stored one kept.
    mock.control(json!({ "rotateRefreshTokens": false })).await;
    let res = app
        .post_bearer(path, access(&session), &json!({ "refreshToken": r1 }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert!(res.body.get("refreshToken").is_none(), "{:?}", res.body);
    let (_, access_now, refresh_now) = stored(&app, user).await;
    assert_eq!(refresh_now.as_deref(), Some(r1.as_str()));
    assert_eq!(access_now, res.body["accessToken"].as_str().unwrap());

    // Bad input: never a 5xx.
    let bad: &[(&str, &str, Value, u16, &str)] = &[
        (
            "empty token",
            path,
            json!({ "refreshToken": "" }),
            400,
            "invalid-request",
        ),
        ("no token", path, json!({}), 400, "invalid-request"),
        (
            "extra field",
            path,
            json!({ "refreshToken": "x", "y": 1 }),
            400,
            "invalid-request",
        ),
        (
            "not a string",
            path,
            json!({ "refreshToken": 7 }),
            400,
            "invalid-request",
        ),
        (
            "unknown token",
            path,
            json!({ "refreshToken": "forged" }),
            400,
            "oauth-provider-error",
        ),
        (
            "unknown provider",
            "/token/provider/nope",
            json!({ "refreshToken": "x" }),
            400,
            "invalid-request",
        ),
        (
            "disabled provider",
            "/token/provider/google",
            json!({ "refreshToken": "x" }),
            409,
            "disabled-endpoint",
        ),
    ];
    for (name, path, body, status, code) in bad {
        let res = app.post_bearer(path, access(&session), body).await;
        assert_eq!((res.status, res.error_code()), (*status, *code), "{name}");
    }
    let res = app.post(path, &json!({ "refreshToken": r1 })).await;
    assert!(
        (400..500).contains(&res.status),
        "no bearer: {:?}",
        res.body
    );
    assert_eq!(stored(&app, user).await.2.as_deref(), Some(r1.as_str()));
}
both_backends!(bearer_refresh_follows_the_providers_rotation);

async fn admin_refresh_stores_the_new_tokens_sealed(app: TestApp) {
    let (mock, app) = github(app).await;
    let session = sign_in(&app).await;
    let user = user_of(&session);
    let body = json!({ "userId": user.to_string(), "providerId": "github" });
    let (before, access0, refresh0) = stored(&app, user).await;
    let refresh0 = refresh0.unwrap();

    let res = admin_refresh(&app, Some(ADMIN), &body).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let (after, access1, refresh1) = stored(&app, user).await;
    assert_ne!(access1, access0, "a new access token");
    assert_ne!(after.access_token_sealed, before.access_token_sealed);
    let refresh1 = refresh1.unwrap();
    assert_ne!(refresh1, refresh0, "rotated by the provider, rotated here");

    // Not rotated: the stored refresh token stays and still works.
    mock.control(json!({ "rotateRefreshTokens": false })).await;
    let res = admin_refresh(&app, Some(ADMIN), &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let (_, access2, refresh2) = stored(&app, user).await;
    assert_ne!(access2, access1);
    assert_eq!(refresh2.as_deref(), Some(refresh1.as_str()));
    let res = admin_refresh(&app, Some(ADMIN), &body).await;
    assert_eq!(res.status, 200, "the kept one still works: {:?}", res.body);
    let access3 = stored(&app, user).await.1;
    assert_ne!(access3, access2);

    // The secret, compared whole.
    for (name, secret) in [
        ("missing", None),
        ("wrong", Some("admin-secret-for-test")),
        ("longer", Some("admin-secret-for-testsX")),
        ("empty", Some("")),
    ] {
        let res = admin_refresh(&app, secret, &body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (401, "invalid-admin-secret"),
            "{name}"
        );
    }
    assert_eq!(stored(&app, user).await.1, access3, "nothing refreshed");

    // A user with a link but no refresh token, and one whose provider refuses the token.
    let res = app
        .post(
            "/signup/email-password",
            &json!({ "email": "bob@example.test", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let bob = UserId::from_uuid(
        res.body["session"]["user"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    );
    let bob_body = json!({ "userId": bob.to_string(), "providerId": "github" });
    let res = admin_refresh(&app, Some(ADMIN), &bob_body).await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "invalid-request"),
        "no link"
    );
    let sealer = sealer(&app).await;
    let mut link = ProviderLink {
        provider: "github".into(),
        provider_user_id: "77".into(),
        access_token_sealed: sealer.seal("provider-access:github:77", b"old").unwrap(),
        refresh_token_sealed: None,
    };
    assert!(
        app.store
            .link_provider(bob, &link, app.clock_now())
            .await
            .unwrap()
    );
    let res = admin_refresh(&app, Some(ADMIN), &bob_body).await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "invalid-request"),
        "no refresh token"
    );
    link.refresh_token_sealed = Some(
        sealer
            .seal("provider-refresh:github:77", b"forged")
            .unwrap(),
    );
    assert!(
        app.store
            .link_provider(bob, &link, app.clock_now())
            .await
            .unwrap()
    );
    let res = admin_refresh(&app, Some(ADMIN), &bob_body).await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "oauth-provider-error"),
        "the provider refuses"
    );

    // Bad input: never a 5xx.
    let cases: &[(&str, Value, u16, &str)] = &[
        (
            "unknown user",
            json!({ "userId": uuid::Uuid::new_v4(), "providerId": "github" }),
            400,
            "invalid-request",
        ),
        (
            "unknown provider",
            json!({ "userId": user.to_string(), "providerId": "nope" }),
            400,
            "invalid-request",
        ),
        (
            "disabled provider",
            json!({ "userId": user.to_string(), "providerId": "google" }),
            409,
            "disabled-endpoint",
        ),
        (
            "not a uuid",
            json!({ "userId": "ada", "providerId": "github" }),
            400,
            "invalid-request",
        ),
        (
            "no provider",
            json!({ "userId": user.to_string() }),
            400,
            "invalid-request",
        ),
        (
            "extra field",
            json!({ "userId": user.to_string(), "providerId": "github", "x": 1 }),
            400,
            "invalid-request",
        ),
        ("not an object", json!([1]), 400, "invalid-request"),
    ];
    for (name, body, status, code) in cases {
        let res = admin_refresh(&app, Some(ADMIN), body).await;
        assert_eq!((res.status, res.error_code()), (*status, *code), "{name}");
    }
}
both_backends!(admin_refresh_stores_the_new_tokens_sealed);

/// Without `HASURA_GRAPHQL_ADMIN_SECRET` the admin route admits nobody.
async fn admin_refresh_without_a_configured_secret_refuses(app: TestApp) {
    let body = json!({ "userId": uuid::Uuid::new_v4(), "providerId": "github" });
    for secret in [None, Some(""), Some("anything")] {
        let res = admin_refresh(&app, secret, &body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (401, "invalid-admin-secret"),
            "{secret:?}"
        );
    }
}
both_backends!(admin_refresh_without_a_configured_secret_refuses);
