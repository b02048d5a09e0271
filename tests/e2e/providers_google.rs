//! Google-shaped sign-in: OpenID Connect against a real OpenID server on loopback (discovery,
//! an RS256-signed ID token checked for issuer, audience, expiry and nonce, and PKCE).

use serde_json::json;

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;
use crate::support::provider_flow::{error_of, param, serve, sign_in, user_of};

async fn google(app: TestApp) -> (OAuthMock, TestApp) {
    let mock = OAuthMock::start();
    let app = serve(app, mock.google_vars()).await;
    (mock, app)
}

async fn openid_sign_in_checks_the_id_token(app: TestApp) {
    let (mock, app) = google(app).await;
    let (to_provider, ended) = sign_in(&app, "google").await;
    assert!(
        to_provider
            .as_str()
            .starts_with(&format!("{}/authorize?", mock.issuer))
    );
    assert!(param(&to_provider, "nonce").is_some_and(|n| n.len() == 43));
    assert_eq!(
        param(&to_provider, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        param(&to_provider, "scope").as_deref(),
        Some("openid email profile")
    );

    let user = &user_of(&app, &ended).await;
    assert_eq!(user["email"], "ada@example.test");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Ada Lovelace");
    let linked = app
        .store
        .user_by_provider("google", "google-1")
        .await
        .unwrap();
    assert_eq!(linked.unwrap().to_string(), user["id"].as_str().unwrap());

    // ID tokens the client must refuse: each ends in the token-exchange error, nothing stored.
    let cases = [
        (
            "another audience",
            json!({ "sub": "g-2", "aud": "someone-else" }),
        ),
        (
            "another issuer",
            json!({ "sub": "g-3", "iss": "https://evil.test" }),
        ),
        ("expired", json!({ "sub": "g-4", "exp": 1_000_000_000 })),
        (
            "another nonce",
            json!({ "sub": "g-5", "nonce": "not-the-flows" }),
        ),
    ];
    for (name, claims) in cases {
        mock.control(json!({ "tokenClaims": claims })).await;
        let (_, ended) = sign_in(&app, "google").await;
        assert_eq!(error_of(&ended), "oauth-token-echange-failed", "{name}");
        let sub = claims["sub"].as_str().unwrap();
        let linked = app.store.user_by_provider("google", sub).await.unwrap();
        assert_eq!(linked, None, "{name}");
    }
}
both_backends!(openid_sign_in_checks_the_id_token);
