//! Twitter's OAuth 1.0a flow against a real OAuth 1.0a server on loopback that checks every
//! signature independently (tests/oauth/twitter.js, npm oauth-sign): request token with our
//! callback, authorization, access token, verify_credentials, then signed in. The browser's
//! cookie is carried and every redirect followed by hand.

use latchkey::model::UserId;
use serde_json::{Value, json};
use url::Url;

use crate::support::TestApp;
use crate::support::provider_flow::{
    BACK, assert_error, follow, linked_user, param, sealer, serve, session_of,
};
use crate::support::twitter_mock::TwitterMock;

const CLIENT_URL: &str = "http://localhost:3000/";
/// The mock's default account (`id_str`; its numeric `id` does not survive a double).
const ADA: &str = "1234567890123456789";

/// The mock and a server pointed at it, allowing `BACK` as redirectTo.
async fn twitter(app: TestApp) -> (TwitterMock, TestApp) {
    let mock = TwitterMock::start();
    let app = serve(app, mock.vars()).await;
    (mock, app)
}

/// A started flow: the provider's redirect back (not yet followed) and the browser's cookie.
struct AtCallback {
    callback: Url,
    cookie: String,
}

async fn until_callback(app: &TestApp, mock: &TwitterMock) -> AtCallback {
    let start = format!("{}/signin/provider/twitter?redirectTo={BACK}", app.base);
    let (to_provider, cookie) = follow(app, &start, None).await;
    let cookie = cookie.expect("binding cookie");
    assert_eq!(
        to_provider.as_str().split('?').next(),
        Some(format!("{}/oauth/authorize", mock.base).as_str())
    );
    assert!(
        param(&to_provider, "oauth_token").is_some(),
        "{to_provider}"
    );
    let (callback, _) = follow(app, to_provider.as_str(), None).await;
    assert!(
        callback
            .path()
            .ends_with("/signin/provider/twitter/callback"),
        "{callback}"
    );
    AtCallback { callback, cookie }
}

async fn sign_in(app: &TestApp, mock: &TwitterMock) -> Url {
    let at = until_callback(app, mock).await;
    follow(app, at.callback.as_str(), Some(&at.cookie)).await.0
}

/// No user and no link for Ada: the failed flow stored nothing.
async fn assert_nothing_stored(app: &TestApp, name: &str) {
    assert_eq!(
        linked_user(app, "twitter", ADA).await,
        None,
        "{name}: no link"
    );
    let user = app
        .store
        .find_user_by_email("ada@example.test")
        .await
        .unwrap();
    assert!(user.is_none(), "{name}: no user");
}

async fn sign_in_creates_then_finds_the_user(app: TestApp) {
    let (mock, app) = twitter(app).await;
    let session = session_of(&app, &sign_in(&app, &mock).await).await;
    let user = &session["user"];
    assert_eq!(user["email"], "ada@example.test");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Ada Lovelace");
    assert_eq!(user["avatarUrl"], "https://pbs.test/ada.jpg");
    let id = user["id"].as_str().unwrap().to_owned();
    let user_id = UserId::from_uuid(id.parse().unwrap());
    assert_eq!(linked_user(&app, "twitter", ADA).await, Some(user_id));

    // The access token and its secret are stored sealed, each under its own context: the
    // secret can never be opened as a refresh token.
    let links = app.store.provider_links_of(user_id).await.unwrap();
    assert_eq!(links.len(), 1);
    let sealer = sealer(&app).await;
    let access = sealer
        .open(
            &format!("provider-access:twitter:{ADA}"),
            &links[0].access_token_sealed,
        )
        .unwrap();
    assert!(
        access.starts_with(format!("{ADA}-").as_bytes()),
        "the mock's token"
    );
    let secret = links[0].refresh_token_sealed.as_deref().unwrap();
    assert!(secret.starts_with("lk1:"), "{secret}");
    let opened = sealer
        .open(&format!("provider-token-secret:twitter:{ADA}"), secret)
        .unwrap();
    assert!(!opened.is_empty());
    assert!(
        sealer
            .open(&format!("provider-refresh:twitter:{ADA}"), secret)
            .is_err()
    );

    let token = session["accessToken"].as_str().unwrap();
    let res = app.get("/user/audit", Some(token)).await;
    let signed_in =
        res.body["events"].as_array().unwrap().iter().any(|e| {
            e["event"] == "signin.succeeded" && e["detail"]["method"] == "provider:twitter"
        });
    assert!(signed_in, "{:?}", res.body);

    // The same Twitter account again: the same user, a second session.
    let again = session_of(&app, &sign_in(&app, &mock).await).await;
    assert_eq!(again["user"]["id"], json!(id));
    assert_eq!(app.sessions_of(&id).await, 2);
    assert_eq!(mock.last_refusal().await, None, "every signature verified");
}
both_backends!(sign_in_creates_then_finds_the_user);

async fn an_account_without_an_e_mail_is_never_linked_by_address(app: TestApp) {
    let (mock, app) = twitter(app).await;
    let body = json!({ "email": "ada@example.test", "password": "correct horse battery" });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let ada = res.body["session"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Twitter sends no address unless it verified one: a new user without an e-mail.
    mock.control(json!({ "profile": { "id_str": "42", "screen_name": "mallory" } }))
        .await;
    let session = session_of(&app, &sign_in(&app, &mock).await).await;
    assert_ne!(session["user"]["id"], json!(ada));
    assert_eq!(session["user"]["email"], Value::Null);
    assert_eq!(session["user"]["displayName"], "mallory");

    // With Ada's address, which Twitter returns only once verified: linked to Ada.
    mock.control(json!({ "profile": {
        "id_str": "43", "name": "Ada", "email": "Ada@Example.test"
    }}))
    .await;
    let session = session_of(&app, &sign_in(&app, &mock).await).await;
    assert_eq!(session["user"]["id"], json!(ada));
    assert_eq!(
        linked_user(&app, "twitter", "43")
            .await
            .unwrap()
            .to_string(),
        ada
    );
}
both_backends!(an_account_without_an_e_mail_is_never_linked_by_address);

async fn refused_signatures_end_in_an_error_and_store_nothing(app: TestApp) {
    let (mock, app) = twitter(app).await;

    // The provider stops accepting our signatures between the authorization and the access
    // token (a rotated consumer secret): the exchange fails, back to the flow's redirectTo.
    let at = until_callback(&app, &mock).await;
    mock.control(json!({ "consumerSecret": "rotated" })).await;
    let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
    assert_error(&ended, BACK, "oauth-token-echange-failed");
    assert_eq!(mock.last_refusal().await.as_deref(), Some("bad signature"));
    assert_nothing_stored(&app, "access token refused").await;

    // Refused at the first step: the browser never leaves, and is sent back with the error
    // (the operator's to fix, as upstream: internal-server-error).
    let start = format!("{}/signin/provider/twitter?redirectTo={BACK}", app.base);
    let (ended, _) = follow(&app, &start, None).await;
    assert_error(&ended, BACK, "internal-server-error");
    assert_nothing_stored(&app, "request token refused").await;

    // The same secret again: signatures verify and the sign-in works.
    mock.control(json!({ "consumerSecret": crate::support::twitter_mock::CONSUMER_SECRET }))
        .await;
    session_of(&app, &sign_in(&app, &mock).await).await;
}
both_backends!(refused_signatures_end_in_an_error_and_store_nothing);

async fn state_attacks_end_in_invalid_state(app: TestApp) {
    let (mock, app) = twitter(app).await;

    // Replayed: the second use of a callback that worked.
    let at = until_callback(&app, &mock).await;
    let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
    let session = session_of(&app, &ended).await;
    let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
    assert_error(&ended, CLIENT_URL, "invalid-state");
    let id = session["user"]["id"].as_str().unwrap();
    assert_eq!(app.sessions_of(id).await, 1, "no second session");

    // Another browser (no cookie, or another one): refused, and the flow is used up.
    for cookie in [
        None,
        Some("latchkey-provider=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let at = until_callback(&app, &mock).await;
        let (ended, _) = follow(&app, at.callback.as_str(), cookie).await;
        assert_error(&ended, BACK, "invalid-state");
        let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
        assert_error(&ended, CLIENT_URL, "invalid-state");
    }

    // Another authorization's request token and verifier under this flow's state: refused,
    // and the other authorization is not exchanged either.
    let mine = until_callback(&app, &mock).await;
    let theirs = until_callback(&app, &mock).await;
    let mut swapped = mine.callback.clone();
    swapped
        .query_pairs_mut()
        .clear()
        .append_pair("state", &param(&mine.callback, "state").unwrap())
        .append_pair(
            "oauth_token",
            &param(&theirs.callback, "oauth_token").unwrap(),
        )
        .append_pair(
            "oauth_verifier",
            &param(&theirs.callback, "oauth_verifier").unwrap(),
        );
    let (ended, _) = follow(&app, swapped.as_str(), Some(&mine.cookie)).await;
    assert_error(&ended, BACK, "invalid-state");
    assert_eq!(app.sessions_of(id).await, 1, "nothing signed in");
}
both_backends!(state_attacks_end_in_invalid_state);

async fn a_denied_authorization_goes_back_with_the_error(app: TestApp) {
    let (mock, app) = twitter(app).await;
    mock.control(json!({ "deny": true })).await;
    let at = until_callback(&app, &mock).await;
    assert!(param(&at.callback, "denied").is_some(), "{}", at.callback);
    let (ended, _) = follow(&app, at.callback.as_str(), Some(&at.cookie)).await;
    assert_error(&ended, BACK, "oauth-provider-error");
    assert_eq!(
        param(&ended, "provider_error").as_deref(),
        Some("access_denied")
    );
    assert_nothing_stored(&app, "denied").await;

    // The next flow carries none of it.
    mock.control(json!({ "deny": false })).await;
    let ended = sign_in(&app, &mock).await;
    assert!(param(&ended, "provider_error").is_none(), "{ended}");
    session_of(&app, &ended).await;
}
both_backends!(a_denied_authorization_goes_back_with_the_error);
