//! Sign-in with OAuth providers: `GET /signin/provider/{provider}`, the redirect to the
//! provider with its single-use, browser-bound state.

use std::time::Duration;

use latchkey::model::ProviderFlow;
use sha2::{Digest, Sha256};
use url::Url;

use crate::support::TestApp;

const GITHUB: &[(&str, &str)] = &[
    ("AUTH_PROVIDER_GITHUB_ENABLED", "true"),
    ("AUTH_PROVIDER_GITHUB_CLIENT_ID", "latchkey-test"),
    ("AUTH_PROVIDER_GITHUB_CLIENT_SECRET", "test-secret"),
    (
        "AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL",
        "http://127.0.0.1:9/login/oauth/authorize",
    ),
    (
        "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS",
        "https://app.test",
    ),
];

/// A 302 response: where it goes and the binding cookie it sets, if any.
struct Redirect {
    location: Url,
    cookie: Option<String>,
}

async fn get_redirect(app: &TestApp, path_and_query: &str) -> Redirect {
    let res = app
        .client
        .get(format!("{}{path_and_query}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "{path_and_query}");
    let location = res.headers()["location"].to_str().unwrap();
    let cookie = res
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().to_owned());
    Redirect {
        location: Url::parse(location).unwrap(),
        cookie,
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

async fn take_flow(app: &TestApp, state: &str) -> Option<ProviderFlow> {
    app.store
        .take_provider_flow(&sha256_hex(state), "github", app.clock_now())
        .await
        .unwrap()
}

async fn redirect_to_the_provider_with_pkce_and_a_bound_state(app: TestApp) {
    let app = app.restart_with(GITHUB).await;
    let to = get_redirect(
        &app,
        "/signin/provider/github?redirectTo=https://app.test/cb",
    )
    .await;
    assert_eq!(to.location.host_str(), Some("127.0.0.1"));
    assert_eq!(to.location.path(), "/login/oauth/authorize");
    let p = |name| param(&to.location, name);
    assert_eq!(p("client_id").as_deref(), Some("latchkey-test"));
    assert_eq!(p("response_type").as_deref(), Some("code"));
    assert_eq!(p("scope").as_deref(), Some("user:email"));
    assert_eq!(p("code_challenge_method").as_deref(), Some("S256"));
    assert!(p("code_challenge").is_some_and(|c| c.len() == 43));
    assert_eq!(
        p("redirect_uri").as_deref(),
        Some("http://localhost:4000/signin/provider/github/callback")
    );
    // The cookie binds the flow to this browser; the state names the row.
    let cookie = to.cookie.expect("binding cookie");
    assert!(
        cookie.ends_with("; Path=/; Max-Age=600; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let binding = cookie
        .strip_prefix("latchkey-provider=")
        .and_then(|c| c.split(';').next())
        .unwrap();
    let state = p("state").unwrap();
    assert_ne!(state, binding);
    let flow = take_flow(&app, &state).await.expect("the flow is stored");
    assert_eq!(flow.browser_hash, sha256_hex(binding));
    assert_eq!(flow.options["redirect_to"], "https://app.test/cb");
    assert!(flow.connect_user.is_none());
    assert!(take_flow(&app, &state).await.is_none(), "single use");

    // A second flow in the same browser keeps its binding, so two tabs both finish.
    let again = app
        .client
        .get(format!("{}/signin/provider/github", app.base))
        .header("cookie", format!("latchkey-provider={binding}"))
        .send()
        .await
        .unwrap();
    let set = again.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set.starts_with(&format!("latchkey-provider={binding};")),
        "{set}"
    );

    // Flows expire after ten minutes.
    let to = get_redirect(&app, "/signin/provider/github").await;
    app.advance(Duration::from_secs(601));
    assert!(
        take_flow(&app, &param(&to.location, "state").unwrap())
            .await
            .is_none()
    );
}
both_backends!(redirect_to_the_provider_with_pkce_and_a_bound_state);

async fn options_are_checked_before_leaving(app: TestApp) {
    let app = app.restart_with(GITHUB).await;
    // Answered with JSON: no usable place to redirect to.
    let res = app.get("/signin/provider/nosuch", None).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let res = app
        .get(
            "/signin/provider/github?redirectTo=https://evil.test/",
            None,
        )
        .await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "redirectTo-not-allowed")
    );

    // Redirected back to the flow's own redirectTo, with Nhost's error parameters.
    let cases = [
        (
            "/signin/provider/google?redirectTo=https://app.test/cb",
            "disabled-endpoint",
        ),
        (
            "/signin/provider/github?redirectTo=https://app.test/cb&defaultRole=admin",
            "default-role-must-be-in-allowed-roles",
        ),
        (
            "/signin/provider/github?redirectTo=https://app.test/cb&allowedRoles=user,admin",
            "role-not-allowed",
        ),
        (
            "/signin/provider/github?redirectTo=https://app.test/cb&metadata=%7Bnot-json",
            "invalid-request",
        ),
        (
            "/signin/provider/github?redirectTo=https://app.test/cb&displayName=%3Cb%3E",
            "invalid-request",
        ),
        (
            "/signin/provider/github?redirectTo=https://app.test/cb&connect=not.a.token",
            "invalid-request",
        ),
    ];
    for (path, code) in cases {
        let to = get_redirect(&app, path).await;
        assert_eq!(
            to.location.as_str().split('?').next(),
            Some("https://app.test/cb"),
            "{path}"
        );
        assert_eq!(
            param(&to.location, "error").as_deref(),
            Some(code),
            "{path}"
        );
        assert!(param(&to.location, "errorDescription").is_some(), "{path}");
        assert!(to.cookie.is_none(), "{path}: no flow started");
    }
    // Without redirectTo, errors go to AUTH_CLIENT_URL.
    let to = get_redirect(&app, "/signin/provider/google").await;
    assert_eq!(to.location.host_str(), Some("localhost"));
    assert_eq!(
        param(&to.location, "error").as_deref(),
        Some("disabled-endpoint")
    );
}
both_backends!(options_are_checked_before_leaving);

async fn connect_keeps_the_user_id_not_the_token(app: TestApp) {
    let app = app.restart_with(GITHUB).await;
    let session = app.sign_in_anonymous().await;
    let token = session["accessToken"].as_str().unwrap();
    let user_id = session["user"]["id"].as_str().unwrap();
    let to = get_redirect(&app, &format!("/signin/provider/github?connect={token}")).await;
    let state = param(&to.location, "state").unwrap();
    assert!(
        !to.location.as_str().contains(token),
        "the token never goes to the provider"
    );
    let flow = take_flow(&app, &state).await.unwrap();
    assert_eq!(flow.connect_user.unwrap().to_string(), user_id);
    assert!(!flow.options.to_string().contains(token));
}
both_backends!(connect_keeps_the_user_id_not_the_token);
