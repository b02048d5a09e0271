//! Sign in with Apple against the mock: the client secret an ES256 JWT the mock verifies
//! with the test's public key, the answer posted back (`form_post`) and relayed through our
//! own origin so the binding cookie comes along, the name from the first sign-in's `user`,
//! `email_verified` as the string "true", and ID tokens from native apps.

use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use serde_json::{Value, json};
use url::Url;

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;
use crate::support::provider_flow::{BACK, authorize, error_of, param, serve, user_of};

const CLIENT_ID: &str = "com.example.web";

/// A P-256 key pair as Apple hands out (PKCS#8 PEM) and its public half.
fn key_pair() -> (String, String) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let private = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let public = String::from_utf8(key.public_key_to_pem().unwrap()).unwrap();
    (private, public)
}

async fn apple(app: TestApp) -> (OAuthMock, TestApp) {
    let mock = OAuthMock::start();
    let (private, public) = key_pair();
    let vars = vec![
        ("AUTH_PROVIDER_APPLE_ENABLED".into(), "true".into()),
        ("AUTH_PROVIDER_APPLE_CLIENT_ID".into(), CLIENT_ID.into()),
        ("AUTH_PROVIDER_APPLE_TEAM_ID".into(), "TEAM123456".into()),
        ("AUTH_PROVIDER_APPLE_KEY_ID".into(), "KEY7654321".into()),
        // As it fits in one environment line: newlines written `\n`.
        (
            "AUTH_PROVIDER_APPLE_PRIVATE_KEY".into(),
            private.replace('\n', "\\n"),
        ),
        (
            "AUTH_PROVIDER_APPLE_AUDIENCE".into(),
            "com.example.app".into(),
        ),
        ("LATCHKEY_PROVIDER_APPLE_ISSUER".into(), mock.issuer.clone()),
    ];
    mock.control(json!({
        "appleClientSecret": {
            "publicKeyPem": public, "teamId": "TEAM123456", "keyId": "KEY7654321",
            "clientId": CLIENT_ID, "audience": mock.issuer,
        },
        "tokenClaims": {
            "sub": "apple-1", "email": "ada@privaterelay.test", "email_verified": "true",
        },
    }))
    .await;
    let app = serve(app, vars).await;
    (mock, app)
}

/// POSTs `fields` to our Apple callback, as Apple's page (no cookie: cross-site) or as our
/// relay page (with `cookie`).
async fn post_callback(
    app: &TestApp,
    fields: &[(String, String)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/signin/provider/apple/callback", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(fields).unwrap());
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await.unwrap()
}

/// The hidden inputs of the relay page, unescaped.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let len = tag[start..].find('"').unwrap();
                tag[start..start + len]
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            };
            (attr("name"), attr("value"))
        })
        .collect()
}

/// What Apple posts: the code and state of the mock's answer, and `user` on first sign-in.
fn apple_post(back: &Url, user: Option<&str>) -> Vec<(String, String)> {
    let mut fields = vec![
        ("code".to_owned(), param(back, "code").unwrap()),
        ("state".to_owned(), param(back, "state").unwrap()),
    ];
    if let Some(user) = user {
        fields.push(("user".to_owned(), user.to_owned()));
    }
    fields
}

async fn apple_form_post_is_relayed_through_our_origin(app: TestApp) {
    let (mock, app) = apple(app).await;
    let (to_provider, back, cookie) = authorize(&app, "apple").await;
    assert_eq!(
        param(&to_provider, "response_mode").as_deref(),
        Some("form_post")
    );
    assert_eq!(
        param(&to_provider, "scope").as_deref(),
        Some("openid name email")
    );
    let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@evil.test"}"#;

    // Apple's cross-site POST carries no cookie: the answer is the relay page, no redirect.
    let res = post_callback(&app, &apple_post(&back, Some(user)), None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'sha256-") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let relayed = hidden_inputs(&res.text().await.unwrap());
    let mut expected = apple_post(&back, Some(user));
    expected.push(("relayed".to_owned(), "1".to_owned()));
    let sorted = |mut fields: Vec<(String, String)>| {
        fields.sort();
        fields
    };
    assert_eq!(sorted(relayed.clone()), sorted(expected));

    // The page's same-site POST carries the cookie: signed in.
    let res = post_callback(&app, &relayed, Some(&cookie)).await;
    assert_eq!(res.status(), 302);
    let ended = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert!(ended.as_str().starts_with(BACK), "{ended}");
    let signed_in = user_of(&app, &ended).await;
    assert_eq!(signed_in["displayName"], "Ada Lovelace");
    assert_eq!(
        signed_in["email"], "ada@privaterelay.test",
        "from the ID token, not `user`"
    );
    assert_eq!(signed_in["emailVerified"], true, "Apple's \"true\"");
    let linked = app
        .store
        .user_by_provider("apple", "apple-1")
        .await
        .unwrap();
    assert_eq!(
        linked.unwrap().to_string(),
        signed_in["id"].as_str().unwrap()
    );

    // A relayed post from a browser without the cookie, or with another browser's: refused,
    // and the flow is spent.
    mock.control(json!({ "tokenClaims": { "sub": "apple-2" } }))
        .await;
    let (_, back, cookie) = authorize(&app, "apple").await;
    let mut fields = apple_post(&back, None);
    fields.push(("relayed".to_owned(), "1".to_owned()));
    let (_, _, other_cookie) = authorize(&app, "apple").await;
    let res = post_callback(&app, &fields, Some(&other_cookie)).await;
    let ended = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(error_of(&ended), "invalid-state");
    let res = post_callback(&app, &fields, Some(&cookie)).await;
    let ended = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_ne!(param(&ended, "error"), None, "spent: {ended}");
    let (_, back, _) = authorize(&app, "apple").await;
    let mut fields = apple_post(&back, None);
    fields.push(("relayed".to_owned(), "1".to_owned()));
    let res = post_callback(&app, &fields, None).await;
    let ended = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(error_of(&ended), "invalid-state");
    assert_eq!(
        app.store
            .user_by_provider("apple", "apple-2")
            .await
            .unwrap(),
        None
    );
}
both_backends!(apple_form_post_is_relayed_through_our_origin);

async fn apple_client_secret_is_signed_with_the_teams_key(app: TestApp) {
    let (mock, app) = apple(app).await;
    // The mock now expects another key: our secret no longer verifies, the code is refused.
    let (_, stranger) = key_pair();
    mock.control(json!({
        "appleClientSecret": {
            "publicKeyPem": stranger, "teamId": "TEAM123456", "keyId": "KEY7654321",
            "clientId": CLIENT_ID, "audience": mock.issuer,
        },
        "tokenClaims": { "sub": "apple-3", "email": "x@y.test", "email_verified": "true" },
    }))
    .await;
    let (_, back, cookie) = authorize(&app, "apple").await;
    let mut fields = apple_post(&back, None);
    fields.push(("relayed".to_owned(), "1".to_owned()));
    let res = post_callback(&app, &fields, Some(&cookie)).await;
    let ended = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(error_of(&ended), "oauth-token-echange-failed");
    assert_eq!(
        app.store
            .user_by_provider("apple", "apple-3")
            .await
            .unwrap(),
        None
    );
}
both_backends!(apple_client_secret_is_signed_with_the_teams_key);

async fn apple_id_tokens_from_native_apps(app: TestApp) {
    let (mock, app) = apple(app).await;
    let claims = |sub: &str, aud: &str| -> Value {
        json!({ "sub": sub, "aud": aud, "email": format!("{sub}@privaterelay.test"),
                "email_verified": "true" })
    };
    let token = mock
        .sign(claims("apple-10", "com.example.app"), false)
        .await;
    let res = app
        .post(
            "/signin/idtoken",
            &json!({ "provider": "apple", "idToken": token }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["emailVerified"], true);
    let linked = app
        .store
        .user_by_provider("apple", "apple-10")
        .await
        .unwrap();
    assert!(linked.is_some());

    // The audience is AUTH_PROVIDER_APPLE_AUDIENCE once set, not the web client id.
    let token = mock.sign(claims("apple-11", CLIENT_ID), false).await;
    let res = app
        .post(
            "/signin/idtoken",
            &json!({ "provider": "apple", "idToken": token }),
        )
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    assert_eq!(
        app.store
            .user_by_provider("apple", "apple-11")
            .await
            .unwrap(),
        None
    );

    // Linking to a signed-in user.
    let body = json!({ "email": "ida.apple@example.test", "password": "correct horse battery" });
    let res = app.post("/signup/email-password", &body).await;
    let access = res.body["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let ida = res.body["session"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = mock
        .sign(claims("apple-12", "com.example.app"), false)
        .await;
    let body = json!({ "provider": "apple", "idToken": token });
    let res = app.post_bearer("/link/idtoken", &access, &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let linked = app
        .store
        .user_by_provider("apple", "apple-12")
        .await
        .unwrap();
    assert_eq!(linked.unwrap().to_string(), ida);
}
both_backends!(apple_id_tokens_from_native_apps);
