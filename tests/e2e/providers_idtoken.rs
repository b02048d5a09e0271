//! `POST /signin/idtoken`: ID tokens signed by a real OpenID server's keys on loopback.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;

async fn google(app: TestApp) -> (OAuthMock, TestApp) {
    let mock = OAuthMock::start();
    let mut vars = mock.google_vars();
    vars.push(("AUTH_PROVIDER_GOOGLE_AUDIENCE".into(), "native-app".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = app.restart_with(&vars).await;
    (mock, app)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Good claims for account `sub`, with the nonce claim for the request nonce `n-1`.
fn claims(sub: &str) -> Value {
    json!({
        "sub": sub, "aud": "native-app", "email": "ida@example.test", "email_verified": true,
        "name": "Ida", "nonce": sha256_hex("n-1"),
    })
}

async fn id_tokens_are_verified(app: TestApp) {
    let (mock, app) = google(app).await;
    let token = mock.sign(claims("g-10"), false).await;
    let body = json!({ "provider": "google", "idToken": token, "nonce": "n-1" });
    let res = app.post("/signin/idtoken", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let user = &res.body["session"]["user"];
    assert_eq!(user["email"], "ida@example.test");
    assert_eq!(user["displayName"], "Ida");
    let linked = app.store.user_by_provider("google", "g-10").await.unwrap();
    assert_eq!(linked.unwrap().to_string(), user["id"].as_str().unwrap());

    let with = |sub: &str, change: Value| {
        let mut c = claims(sub);
        c.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        c
    };
    let cases: Vec<(&str, Value, bool, &str)> = vec![
        (
            "another audience",
            with("g-11", json!({ "aud": "latchkey-test" })),
            false,
            "n-1",
        ),
        (
            "another issuer",
            with("g-12", json!({ "iss": "https://evil.test" })),
            false,
            "n-1",
        ),
        (
            "expired",
            with("g-13", json!({ "exp": 1_000_000_000 })),
            false,
            "n-1",
        ),
        (
            "another nonce",
            with("g-14", json!({ "nonce": sha256_hex("n-2") })),
            false,
            "n-1",
        ),
        (
            "the nonce in clear",
            with("g-15", json!({ "nonce": "n-1" })),
            false,
            "n-1",
        ),
        ("a key not in the JWKS", claims("g-16"), true, "n-1"),
    ];
    for (name, claims, stray, nonce) in cases {
        let sub = claims["sub"].as_str().unwrap().to_owned();
        let token = mock.sign(claims, stray).await;
        let body = json!({ "provider": "google", "idToken": token, "nonce": nonce });
        let res = app.post("/signin/idtoken", &body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{name}"
        );
        let linked = app.store.user_by_provider("google", &sub).await.unwrap();
        assert_eq!(linked, None, "{name}: nothing stored");
    }

    // A request nonce with a token that has no nonce claim. (Nhost accepts it.)
    let mut bare = claims("g-17");
    bare.as_object_mut().unwrap().remove("nonce");
    let token = mock.sign(bare, false).await;
    let body = json!({ "provider": "google", "idToken": token, "nonce": "n-1" });
    let res = app.post("/signin/idtoken", &body).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    // Without a request nonce the same token is fine.
    let body = json!({ "provider": "google", "idToken": token });
    assert_eq!(app.post("/signin/idtoken", &body).await.status, 200);

    // Only Apple and Google take ID tokens; Apple is not enabled here.
    let body = json!({ "provider": "github", "idToken": "x" });
    let res = app.post("/signin/idtoken", &body).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let body = json!({ "provider": "apple", "idToken": "x" });
    let res = app.post("/signin/idtoken", &body).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
}
both_backends!(id_tokens_are_verified);

async fn link_id_token_links_to_the_bearer_only(app: TestApp) {
    let (mock, app) = google(app).await;
    let sign_up = |email: &'static str| {
        let app = &app;
        async move {
            let body = json!({ "email": email, "password": "correct horse battery" });
            let res = app.post("/signup/email-password", &body).await;
            assert_eq!(res.status, 200, "{:?}", res.body);
            res.body["session"].clone()
        }
    };
    let ida = sign_up("ida.link@example.test").await;
    let ida_token = ida["accessToken"].as_str().unwrap();
    let ida_id = ida["user"]["id"].as_str().unwrap();
    let token = mock.sign(claims("g-20"), false).await;
    let body = json!({ "provider": "google", "idToken": token, "nonce": "n-1" });
    let res = app.post_bearer("/link/idtoken", ida_token, &body).await;
    assert_eq!((res.status, res.body.clone()), (200, json!("OK")));
    let linked = app.store.user_by_provider("google", "g-20").await.unwrap();
    assert_eq!(linked.unwrap().to_string(), ida_id);
    // Again by the same user: still fine (the stored token is refreshed).
    let res = app.post_bearer("/link/idtoken", ida_token, &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // Another user cannot take the account over.
    let eve = sign_up("eve.link@example.test").await;
    let eve_token = eve["accessToken"].as_str().unwrap();
    let res = app.post_bearer("/link/idtoken", eve_token, &body).await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "provider-account-already-linked")
    );
    let linked = app.store.user_by_provider("google", "g-20").await.unwrap();
    assert_eq!(linked.unwrap().to_string(), ida_id);

    // A bad token, or no bearer at all.
    let stray = mock.sign(claims("g-21"), true).await;
    let bad = json!({ "provider": "google", "idToken": stray, "nonce": "n-1" });
    let res = app.post_bearer("/link/idtoken", eve_token, &bad).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let res = app.post("/link/idtoken", &body).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    assert_eq!(
        app.store.user_by_provider("google", "g-21").await.unwrap(),
        None
    );
}
both_backends!(link_id_token_links_to_the_bearer_only);
