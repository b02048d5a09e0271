//! Sessions: anonymous sign-in, refresh rotation, reuse detection, expiry, sign-out, JWKS.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;
use crate::support::jwt_claims as claims;

async fn anonymous_session_has_nhost_shape_and_claims(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let user_id = session["user"]["id"].as_str().unwrap();
    assert_eq!(session["accessTokenExpiresIn"], 900);
    assert_eq!(session["user"]["isAnonymous"], true);
    assert_eq!(session["user"]["roles"], json!(["anonymous"]));
    assert!(
        session["user"].get("email").is_none(),
        "null e-mail is omitted"
    );
    let c = claims(session["accessToken"].as_str().unwrap());
    let ns = &c["https://hasura.io/jwt/claims"];
    assert_eq!(ns["x-hasura-user-id"], user_id);
    assert_eq!(ns["x-hasura-default-role"], "anonymous");
    assert_eq!(ns["x-hasura-allowed-roles"], json!(["anonymous"]));
    assert_eq!(ns["x-hasura-user-is-anonymous"], "true");
    assert_eq!(c["sub"], user_id);
    assert_eq!(c["iss"], "hasura-auth");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
    assert_eq!(app.sessions_of(user_id).await, 1);
}
both_backends!(anonymous_session_has_nhost_shape_and_claims);

async fn refresh_rotates_and_a_replayed_token_revokes_the_family(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let first = session["refreshToken"].as_str().unwrap().to_owned();

    let res = app.post("/token", &json!({ "refreshToken": first })).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert!(
        res.body.get("session").is_none(),
        "/token answers a bare Session"
    );
    let second = res.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(
        res.body["refreshTokenId"], session["refreshTokenId"],
        "rotated in place"
    );
    assert!(res.body["accessToken"].is_string());

    // The first token again: it leaked. 401, and the family (holding `second`) is gone.
    let replay = app.post("/token", &json!({ "refreshToken": first })).await;
    assert_eq!(
        (replay.status, replay.error_code()),
        (401, "invalid-refresh-token")
    );
    assert_eq!(app.sessions_of(&user_id).await, 0);
    let after = app.post("/token", &json!({ "refreshToken": second })).await;
    assert_eq!(
        (after.status, after.error_code()),
        (401, "invalid-refresh-token")
    );
    let audit = app
        .store
        .count_events(
            "refresh_token.reused",
            latchkey::model::UserId::from_uuid(user_id.parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(audit, 1);
}
both_backends!(refresh_rotates_and_a_replayed_token_revokes_the_family);

async fn unknown_and_malformed_refresh_tokens_are_refused(app: TestApp) {
    let unknown = app
        .post("/token", &json!({ "refreshToken": uuid::Uuid::new_v4() }))
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (401, "invalid-refresh-token")
    );
    for body in [
        json!({ "refreshToken": "nope" }),
        json!({}),
        json!({ "refreshToken": 5 }),
    ] {
        let res = app.post("/token", &body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{body}"
        );
    }
}
both_backends!(unknown_and_malformed_refresh_tokens_are_refused);

async fn refresh_tokens_expire_and_expiry_slides(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let token = session["refreshToken"].as_str().unwrap();
    app.advance(Duration::from_secs(20 * 24 * 3600));
    let res = app.post("/token", &json!({ "refreshToken": token })).await;
    assert_eq!(res.status, 200, "within 30 days: {:?}", res.body);
    let next = res.body["refreshToken"].as_str().unwrap().to_owned();
    // 40 days after sign-in but 20 after the rotation: still valid (sliding expiry).
    app.advance(Duration::from_secs(20 * 24 * 3600));
    let res = app.post("/token", &json!({ "refreshToken": next })).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let last = res.body["refreshToken"].as_str().unwrap().to_owned();
    app.advance(Duration::from_secs(31 * 24 * 3600));
    let res = app.post("/token", &json!({ "refreshToken": last })).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-refresh-token")
    );
    // The expired family is swept (its remembered hashes go with it, by cascade).
    let swept = app
        .store
        .sweep_expired_sessions(app.clock_now())
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert_eq!(
        app.store
            .sweep_expired_sessions(app.clock_now())
            .await
            .unwrap(),
        0
    );
}
both_backends!(refresh_tokens_expire_and_expiry_slides);

async fn access_tokens_expire(app: TestApp) {
    let (session, _) = app.sign_up_with_passkey("exp@example.test").await;
    let token = session["accessToken"].as_str().unwrap();
    let ok = app.post_bearer("/token/verify", token, &json!({})).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body, json!("OK"));
    app.advance(Duration::from_secs(901));
    let res = app.post_bearer("/token/verify", token, &json!({})).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let res = app.post("/token/verify", &json!({ "token": token })).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
}
both_backends!(access_tokens_expire);

async fn token_verify_checks_body_tokens_and_bearers(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let token = session["accessToken"].as_str().unwrap();
    let res = app.post("/token/verify", &json!({ "token": token })).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let mut forged = token.to_owned();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    for body in [
        json!({ "token": forged }),
        json!({ "token": "x.y.z" }),
        json!({}),
    ] {
        let res = app.post("/token/verify", &body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{body}"
        );
    }
}
both_backends!(token_verify_checks_body_tokens_and_bearers);

async fn sign_out_one_session_or_all(app: TestApp) {
    let (a, mut authenticator) = app.sign_up_with_passkey("ada@example.test").await;
    let user_id = a["user"]["id"].as_str().unwrap().to_owned();
    let b = crate::webauthn::sign_in_by_email(&app, "ada@example.test", &mut authenticator).await;
    assert_eq!(app.sessions_of(&user_id).await, 2);

    let res = app
        .post("/signout", &json!({ "refreshToken": a["refreshToken"] }))
        .await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let res = app
        .post("/token", &json!({ "refreshToken": a["refreshToken"] }))
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        app.sessions_of(&user_id).await,
        1,
        "the other session stays"
    );

    let res = app.post("/signout", &json!({ "all": true })).await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "invalid-request"),
        "all needs a bearer"
    );
    let res = app.post("/signout", &json!({})).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let bearer = b["accessToken"].as_str().unwrap();
    let res = app
        .post_bearer("/signout", bearer, &json!({ "all": true }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(app.sessions_of(&user_id).await, 0);
}
both_backends!(sign_out_one_session_or_all);

async fn reuse_revokes_only_that_family(app: TestApp) {
    let (a, mut authenticator) = app.sign_up_with_passkey("bob@example.test").await;
    let user_id = a["user"]["id"].as_str().unwrap().to_owned();
    let b = crate::webauthn::sign_in_by_email(&app, "bob@example.test", &mut authenticator).await;
    let rotated = app
        .post("/token", &json!({ "refreshToken": a["refreshToken"] }))
        .await;
    assert_eq!(rotated.status, 200);
    let replay = app
        .post("/token", &json!({ "refreshToken": a["refreshToken"] }))
        .await;
    assert_eq!(replay.status, 401);
    assert_eq!(
        app.sessions_of(&user_id).await,
        1,
        "the other sign-in survives"
    );
    let res = app
        .post("/token", &json!({ "refreshToken": b["refreshToken"] }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
both_backends!(reuse_revokes_only_that_family);

async fn user_endpoint_returns_the_bearer(app: TestApp) {
    let (session, _) = app.sign_up_with_passkey("cy@example.test").await;
    let token = session["accessToken"].as_str().unwrap();
    let res = app.get("/user", Some(token)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["email"], "cy@example.test");
    assert_eq!(res.body["id"], session["user"]["id"]);
    assert_eq!(res.body["roles"], json!(["me", "user"]));
    let res = app.get("/user", None).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let anon = app.sign_in_anonymous().await;
    let res = app
        .get("/user", Some(anon["accessToken"].as_str().unwrap()))
        .await;
    assert_eq!((res.status, res.error_code()), (403, "forbidden-anonymous"));
}
both_backends!(user_endpoint_returns_the_bearer);

async fn anonymous_sign_in_follows_configuration(app: TestApp) {
    app.change_env(&[("AUTH_ANONYMOUS_USERS_ENABLED", "false")])
        .await;
    let res = app.post("/signin/anonymous", &json!({})).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
    app.change_env(&[
        ("AUTH_ANONYMOUS_USERS_ENABLED", "true"),
        ("AUTH_DISABLE_SIGNUP", "true"),
    ])
    .await;
    let res = app.post("/signin/anonymous", &json!({})).await;
    assert_eq!((res.status, res.error_code()), (403, "signup-disabled"));
    app.change_env(&[("AUTH_DISABLE_SIGNUP", "false")]).await;
    let res = app
        .post(
            "/signin/anonymous",
            &json!({ "displayName": "Guest", "locale": "en", "metadata": { "a": 1 } }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["displayName"], "Guest");
    assert_eq!(res.body["session"]["user"]["metadata"], json!({ "a": 1 }));
    // An anonymous session refreshes even while e-mail verification is required.
    app.change_env(&[("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true")])
        .await;
    let refreshed = app
        .post(
            "/token",
            &json!({ "refreshToken": res.body["session"]["refreshToken"] }),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
}
both_backends!(anonymous_sign_in_follows_configuration);

async fn hmac_jwks_is_empty_and_meta_endpoints_answer(app: TestApp) {
    let res = app.get("/.well-known/jwks.json", None).await;
    assert_eq!((res.status, &res.body), (200, &json!({ "keys": [] })));
    let res = app.get("/healthz", None).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let head = app
        .client
        .head(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let res = app.get("/version", None).await;
    assert_eq!(res.body["version"], env!("CARGO_PKG_VERSION"));
}
both_backends!(hmac_jwks_is_empty_and_meta_endpoints_answer);
