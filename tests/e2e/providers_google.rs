//! Google-shaped sign-in: OpenID Connect against a real OpenID server on loopback (discovery,
//! an RS256-signed ID token checked for issuer, audience, expiry and nonce, and PKCE).

use serde_json::json;
use url::Url;

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;

const BACK: &str = "https://app.test/cb";

async fn google(app: TestApp) -> (OAuthMock, TestApp) {
    let mock = OAuthMock::start();
    let mut vars = mock.google_vars();
    vars.push((
        "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS".into(),
        "https://app.test".into(),
    ));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = app.serving_itself(&vars).await;
    (mock, app)
}

async fn follow(app: &TestApp, url: &str, cookie: Option<&str>) -> (Url, Option<String>) {
    let mut req = app.client.get(url);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 302, "{url}: {:?}", res.text().await);
    let location = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let set = res
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    (location, set)
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The whole flow; returns the provider's authorization URL and where the flow ended.
async fn sign_in(app: &TestApp) -> (Url, Url) {
    let start = format!("{}/signin/provider/google?redirectTo={BACK}", app.base);
    let (to_provider, cookie) = follow(app, &start, None).await;
    let (callback, _) = follow(app, to_provider.as_str(), None).await;
    let (ended, _) = follow(app, callback.as_str(), cookie.as_deref()).await;
    (to_provider, ended)
}

async fn openid_sign_in_checks_the_id_token(app: TestApp) {
    let (mock, app) = google(app).await;
    let (to_provider, ended) = sign_in(&app).await;
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

    let token = param(&ended, "refreshToken").unwrap_or_else(|| panic!("{ended}"));
    let res = app.post("/token", &json!({ "refreshToken": token })).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let user = &res.body["user"];
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
        let (_, ended) = sign_in(&app).await;
        assert_eq!(ended.as_str().split('?').next(), Some(BACK), "{name}");
        assert_eq!(
            param(&ended, "error").as_deref(),
            Some("oauth-token-echange-failed"),
            "{name}: {ended}"
        );
        let sub = claims["sub"].as_str().unwrap();
        let linked = app.store.user_by_provider("google", sub).await.unwrap();
        assert_eq!(linked, None, "{name}");
    }
}
both_backends!(openid_sign_in_checks_the_id_token);
