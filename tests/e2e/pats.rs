//! Personal access tokens (issue #18): created by a bearer, signing in until they expire,
//! never a refresh token and never refreshed, listed without the token, revoked one by one.

use std::time::Duration;

use chrono::SecondsFormat;
use serde_json::{Value, json};

use latchkey::model::UserId;

use crate::support::TestApp;

fn in_days(app: &TestApp, days: i64) -> String {
    (app.clock_now() + chrono::Duration::days(days)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn create(app: &TestApp, token: &str, body: &Value) -> crate::support::Res {
    app.post_bearer("/pat", token, body).await
}

async fn sign_in(app: &TestApp, pat: &str) -> crate::support::Res {
    app.post("/signin/pat", &json!({ "personalAccessToken": pat }))
        .await
}

async fn a_pat_signs_in_until_revoked(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let (owner, _) = app.sign_up_with_passkey("pat-owner@example.test").await;
    let token = owner["accessToken"].as_str().unwrap();
    let user_id = owner["user"]["id"].as_str().unwrap();

    let body = json!({ "expiresAt": in_days(&app, 7), "metadata": { "name": "ci" } });
    let res = create(&app, token, &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let id = res.body["id"].as_str().unwrap().to_owned();
    let pat = res.body["personalAccessToken"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&pat).is_ok(), "{pat}");

    let res = app.get("/user/pats", Some(token)).await;
    assert_eq!(res.status, 200);
    let listed = res.body.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["metadata"], json!({ "name": "ci" }));
    assert_eq!(listed[0]["lastUsedAt"], Value::Null);
    assert!(
        !res.body.to_string().contains(&pat),
        "the token is never shown again"
    );

    app.advance(Duration::from_secs(5));
    let res = sign_in(&app, &pat).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["id"], user_id);
    let refresh = res.body["session"]["refreshToken"].as_str().unwrap();
    assert_ne!(refresh, pat, "the session has its own refresh token");
    let res = app
        .post("/token", &json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(res.status, 200, "the session refreshes");
    let res = app.get("/user/pats", Some(token)).await;
    assert!(res.body[0]["lastUsedAt"].is_string(), "{:?}", res.body);

    // A PAT is no refresh token, and a refresh token is no PAT.
    let res = app.post("/token", &json!({ "refreshToken": pat })).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-refresh-token")
    );
    let regular = session["refreshToken"].as_str().unwrap();
    let res = sign_in(&app, regular).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-pat"));
    assert_eq!(
        res.body["message"],
        "Invalid or expired personal access token"
    );
    let res = sign_in(&app, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-pat"));

    // Signing out everywhere keeps PATs (upstream deletes them).
    let res = app
        .post_bearer("/signout", token, &json!({ "all": true }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(sign_in(&app, &pat).await.status, 200);

    // Another user cannot revoke it: their answer is the one for an unknown id.
    let (other, _) = app.sign_up_with_passkey("pat-other@example.test").await;
    let other_token = other["accessToken"].as_str().unwrap();
    let path = format!("/user/pats/{id}");
    let res = app
        .call(reqwest::Method::DELETE, &path, Some(other_token), None)
        .await;
    assert_eq!(res.status, 400);
    let unknown = format!("/user/pats/{}", uuid::Uuid::new_v4());
    let res = app
        .call(reqwest::Method::DELETE, &unknown, Some(other_token), None)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(sign_in(&app, &pat).await.status, 200);

    let res = app
        .call(reqwest::Method::DELETE, &path, Some(token), None)
        .await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let res = sign_in(&app, &pat).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-pat"));
    let res = app.get("/user/pats", Some(token)).await;
    assert_eq!(res.body, json!([]));
}
both_backends!(a_pat_signs_in_until_revoked);

async fn pats_expire_and_need_a_valid_request(app: TestApp) {
    let (owner, _) = app.sign_up_with_passkey("pat-expiry@example.test").await;
    let token = owner["accessToken"].as_str().unwrap();
    let res = create(&app, token, &json!({ "expiresAt": in_days(&app, 1) })).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let pat = res.body["personalAccessToken"].as_str().unwrap().to_owned();
    for (body, case) in [
        (
            json!({ "expiresAt": in_days(&app, -1) }),
            "past expiry (upstream accepts it)",
        ),
        (json!({ "expiresAt": "tomorrow" }), "malformed expiry"),
        (json!({}), "no expiry"),
        (
            json!({ "expiresAt": in_days(&app, 1), "metadata": [1] }),
            "metadata not an object",
        ),
    ] {
        let res = create(&app, token, &body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{case}"
        );
    }
    let res = app
        .post("/pat", &json!({ "expiresAt": in_days(&app, 1) }))
        .await;
    assert_eq!(res.status, 400, "no bearer, as upstream");

    app.advance(Duration::from_secs(86_401));
    let res = sign_in(&app, &pat).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-pat"));
    // The bearer has expired too; the store lists the expired PAT.
    let user_id = owner["user"]["id"].as_str().unwrap().parse().unwrap();
    let listed = app.store.pats_of(UserId::from_uuid(user_id)).await.unwrap();
    assert_eq!(listed.len(), 1, "expired ones stay listed");
}
both_backends!(pats_expire_and_need_a_valid_request);

async fn creating_a_pat_needs_elevation_when_required(app: TestApp) {
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "required")])
        .await;
    let mut owner = app.key_owner("pat-elevated@example.test").await;
    let body = json!({ "expiresAt": in_days(&app, 1) });
    let res = create(&app, &owner.token, &body).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let elevated = app.elevate(&mut owner).await;
    let res = create(&app, &elevated, &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
both_backends!(creating_a_pat_needs_elevation_when_required);
