//! The whole GitHub-shaped flow (OAuth 2 + profile API) against a real OAuth server on
//! loopback: Latchkey → provider → callback → signed in, with the browser's cookie carried
//! by hand and every redirect followed by hand.

use std::time::Duration;

use latchkey::model::UserId;
use serde_json::json;
use url::Url;

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;
use crate::support::provider_flow::{
    BACK, assert_error, follow, linked_user, param, serve, session_of,
};

/// The mock and a server pointed at it, allowing `BACK` as redirectTo.
async fn github(app: TestApp) -> (OAuthMock, TestApp) {
    let mock = OAuthMock::start();
    let app = serve(app, mock.github_vars()).await;
    (mock, app)
}

/// A started flow: the provider's redirect back (not yet followed) and the browser's cookie.
struct AtCallback {
    callback: Url,
    cookie: String,
}

async fn until_callback(app: &TestApp, query: &str) -> AtCallback {
    let start = format!(
        "{}/signin/provider/github?redirectTo={BACK}{query}",
        app.base
    );
    let (to_provider, cookie) = follow(app, &start, None).await;
    let cookie = cookie.expect("binding cookie");
    let (callback, _) = follow(app, to_provider.as_str(), None).await;
    assert!(
        callback
            .path()
            .ends_with("/signin/provider/github/callback"),
        "{callback}"
    );
    AtCallback { callback, cookie }
}

/// The whole flow; returns where it ended.
async fn sign_in(app: &TestApp, query: &str) -> Url {
    let at = until_callback(app, query).await;
    follow(app, at.callback.as_str(), Some(&at.cookie)).await.0
}

async fn new_and_returning_users(app: TestApp) {
    let (_mock, app) = github(app).await;
    let ended = sign_in(
        &app,
        "&defaultRole=me&locale=en&metadata=%7B%22plan%22%3A1%7D",
    )
    .await;
    let session = session_of(&app, &ended).await;
    let user = &session["user"];
    assert_eq!(user["email"], "ada@example.test");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Ada Lovelace");
    assert_eq!(user["avatarUrl"], "https://avatars.test/ada");
    assert_eq!(user["defaultRole"], "me");
    assert_eq!(user["metadata"], json!({"plan": 1}));
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(
        linked_user(&app, "github", "1").await.unwrap().to_string(),
        id
    );

    // The provider's tokens are stored sealed under the encryption key, never in clear.
    let links = app
        .store
        .provider_links_of(UserId::from_uuid(id.parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    let sealed = &links[0].access_token_sealed;
    assert!(
        sealed.starts_with("lk1:") && !sealed.contains("eyJ"),
        "{sealed}"
    );
    let key = app
        .store
        .setting_or_init("dev_encryption_key", "unused")
        .await
        .unwrap();
    let sealer =
        latchkey::auth::encryption::Sealer::new(&hex::decode(key).unwrap().try_into().unwrap());
    let access = sealer.open("provider-access:github:1", sealed).unwrap();
    assert!(access.starts_with(b"eyJ"), "the mock's JWT access token");
    assert!(
        links[0]
            .refresh_token_sealed
            .as_ref()
            .unwrap()
            .starts_with("lk1:")
    );

    // Audited as a provider sign-in.
    let token = session["accessToken"].as_str().unwrap();
    let res = app.get("/user/audit", Some(token)).await;
    let events = res.body["events"].as_array().unwrap();
    let methods: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["detail"]["method"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        methods.contains(&("signin.succeeded", "provider:github")),
        "{methods:?}"
    );
    assert!(
        methods.contains(&("user.signed_up", "provider:github")),
        "{methods:?}"
    );

    // The same GitHub account again: the same user, a second session.
    let again = session_of(&app, &sign_in(&app, "").await).await;
    assert_eq!(again["user"]["id"], json!(id));
    assert_eq!(app.sessions_of(&id).await, 2);
}
both_backends!(new_and_returning_users);

async fn linking_by_e_mail_needs_a_verified_address(app: TestApp) {
    let (mock, app) = github(app).await;
    let body = json!({ "email": "grace@example.test", "password": "correct horse battery" });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let grace = res.body["session"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // GitHub says the address is the account's primary one but has not verified it: linking
    // would hand Grace's account to whoever registered her address at GitHub.
    mock.control(json!({
        "githubUser": { "id": 2, "login": "mallory" },
        "githubEmails": [{ "email": "Grace@example.test", "primary": true, "verified": false }],
    }))
    .await;
    let ended = sign_in(&app, "").await;
    assert_error(&ended, BACK, "email-already-in-use");
    assert_eq!(
        linked_user(&app, "github", "2").await,
        None,
        "nothing linked"
    );

    // Verified by GitHub: linked to Grace, and signed in as her.
    mock.control(json!({
        "githubUser": { "id": 3, "login": "grace" },
        "githubEmails": [
            { "email": "other@example.test", "primary": false, "verified": true },
            { "email": "grace@example.test", "primary": true, "verified": true }
        ],
    }))
    .await;
    let session = session_of(&app, &sign_in(&app, "").await).await;
    assert_eq!(session["user"]["id"], json!(grace));
    assert_eq!(
        linked_user(&app, "github", "3").await.unwrap().to_string(),
        grace
    );
    let token = session["accessToken"].as_str().unwrap();
    let res = app.get("/user/audit", Some(token)).await;
    let names: Vec<&str> = res.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"provider.link_refused"), "{names:?}");
    assert!(names.contains(&"provider.linked"), "{names:?}");
}
both_backends!(linking_by_e_mail_needs_a_verified_address);

async fn connect_links_to_the_signed_in_user_only(app: TestApp) {
    let (mock, app) = github(app).await;
    let alice = app.sign_in_anonymous().await;
    let token = alice["accessToken"].as_str().unwrap();
    let alice_id = alice["user"]["id"].as_str().unwrap();
    mock.control(json!({ "githubUser": { "id": 4, "login": "alice" } }))
        .await;
    let ended = sign_in(&app, &format!("&connect={token}")).await;
    assert_eq!(ended.as_str(), BACK, "linked, no new session");
    assert_eq!(
        linked_user(&app, "github", "4").await.unwrap().to_string(),
        alice_id
    );

    // Bob cannot take over the account Alice linked.
    let bob = app.sign_in_anonymous().await;
    let token = bob["accessToken"].as_str().unwrap();
    let ended = sign_in(&app, &format!("&connect={token}")).await;
    assert_error(&ended, BACK, "provider-account-already-linked");
    assert_eq!(
        linked_user(&app, "github", "4").await.unwrap().to_string(),
        alice_id
    );
}
both_backends!(connect_links_to_the_signed_in_user_only);

async fn state_attacks_end_in_invalid_state(app: TestApp) {
    let (_mock, app) = github(app).await;
    let client_url = "http://localhost:3000/";
    let with_state = |at: &AtCallback, state: &str| {
        let mut url = at.callback.clone();
        let code = param(&url, "code").unwrap();
        url.query_pairs_mut()
            .clear()
            .append_pair("code", &code)
            .append_pair("state", state);
        url
    };

    // Forged: a state no flow has.
    let at = until_callback(&app, "").await;
    let forged = with_state(&at, "forged-state");
    let (ended, _) = follow(&app, forged.as_str(), Some(&at.cookie)).await;
    assert_error(&ended, client_url, "invalid-state");

    // Another browser: a missing or a different cookie. The flow is used up either way.
    for cookie in [
        None,
        Some("latchkey-provider=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let at = until_callback(&app, "").await;
        let (ended, _) = follow(&app, at.callback.as_str(), cookie).await;
        assert_error(&ended, BACK, "invalid-state");
        let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
        assert_error(&ended, client_url, "invalid-state");
    }

    // Replayed: the second use of a callback that worked.
    let at = until_callback(&app, "").await;
    let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
    assert!(param(&ended, "refreshToken").is_some(), "{ended}");
    let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
    assert_error(&ended, client_url, "invalid-state");

    // Expired: more than ten minutes at the provider.
    let at = until_callback(&app, "").await;
    app.advance(Duration::from_secs(601));
    let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
    assert_error(&ended, client_url, "invalid-state");
}
both_backends!(state_attacks_end_in_invalid_state);

async fn a_provider_error_goes_to_its_own_redirect(app: TestApp) {
    let (mock, app) = github(app).await;
    mock.control(json!({ "authorizeError": {
        "error": "access_denied", "error_description": "The user said no"
    }}))
    .await;
    let ended = sign_in(&app, "").await;
    assert_error(&ended, BACK, "oauth-provider-error");
    assert_eq!(
        param(&ended, "provider_error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        param(&ended, "provider_error_description").as_deref(),
        Some("The user said no")
    );
    assert_eq!(linked_user(&app, "github", "1").await, None);

    // The next flow's redirect carries none of it. (Nhost: it stays in the client URL.)
    mock.control(json!({ "authorizeError": null })).await;
    let ended = sign_in(&app, "").await;
    assert!(param(&ended, "provider_error").is_none(), "{ended}");
    session_of(&app, &ended).await;
}
both_backends!(a_provider_error_goes_to_its_own_redirect);

async fn a_posted_callback_takes_the_same_path(app: TestApp) {
    let (_mock, app) = github(app).await;
    // `response_mode=form_post`: the provider's answer as a form POST.
    let at = until_callback(&app, "").await;
    let url = format!("{}{}", app.base, at.callback.path());
    let form =
        serde_urlencoded::to_string(at.callback.query_pairs().into_owned().collect::<Vec<_>>())
            .unwrap();
    let post = || {
        app.client
            .post(&url)
            .header("cookie", &at.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
    };
    let res = post().send().await.unwrap();
    assert_eq!(res.status(), 302);
    let ended = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    session_of(&app, &ended).await;

    // Replayed as a POST: the flow is gone.
    let res = post().send().await.unwrap();
    let ended = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_error(&ended, "http://localhost:3000/", "invalid-state");

    // Not a form: Nhost's JSON error, not a plain-text rejection.
    let res = app
        .post("/signin/provider/github/callback", &json!({ "state": "x" }))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
}
both_backends!(a_posted_callback_takes_the_same_path);
