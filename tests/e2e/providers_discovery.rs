//! The OpenID discovery document and key set are cached per provider for their
//! `Cache-Control: max-age`, and the keys refetched (rate-limited) when a token names a key
//! we do not hold; a stale copy serves while the provider is down. Requests are counted by
//! the mock provider itself.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;
use crate::support::provider_flow::{serve, sign_in, user_of};

const DISCOVERY: &str = "/.well-known/openid-configuration";
const JWKS: &str = "/jwks";

fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "aud": "latchkey-test", "email": format!("{sub}@example.test"),
            "email_verified": true })
}

async fn fetches(mock: &OAuthMock) -> (u64, u64) {
    (mock.requests(DISCOVERY).await, mock.requests(JWKS).await)
}

async fn id_token_status(app: &TestApp, token: &str) -> u16 {
    let body = json!({ "provider": "google", "idToken": token });
    app.post("/signin/idtoken", &body).await.status
}

/// `POST /signin/idtoken`'s status for a token about `sub` signed by the mock: with its
/// published key, or (`stray`) with a key it never published.
async fn sign_in_as(app: &TestApp, mock: &OAuthMock, sub: &str, stray: bool) -> u16 {
    id_token_status(app, &mock.sign(claims(sub), stray).await).await
}

async fn discovery_and_keys_are_cached(app: TestApp) {
    let mock = OAuthMock::start();
    mock.control(json!({ "cacheControl": "public, max-age=3600" }))
        .await;
    let app = serve(app, mock.google_vars()).await;
    assert_eq!(fetches(&mock).await, (0, 0), "nothing fetched at start-up");

    // Two ID-token sign-ins and a whole redirect flow: one fetch of each.
    for sub in ["c-1", "c-2"] {
        assert_eq!(sign_in_as(&app, &mock, sub, false).await, 200, "{sub}");
    }
    let (_, ended) = sign_in(&app, "google").await;
    assert_eq!(user_of(&app, &ended).await["email"], "ada@example.test");
    assert_eq!(fetches(&mock).await, (1, 1));

    // The provider rotates its keys: a token with the new kid refetches the keys once.
    mock.rotate_key("rotated-1").await;
    let token = mock.sign_with_key(claims("c-3"), "rotated-1").await;
    assert_eq!(id_token_status(&app, &token).await, 200);
    assert_eq!(fetches(&mock).await, (1, 2));
    let token = mock.sign_with_key(claims("c-4"), "rotated-1").await;
    assert_eq!(id_token_status(&app, &token).await, 200);
    assert_eq!(fetches(&mock).await, (1, 2), "the new key is cached");

    // Tokens with unknown kids: refused, and within a minute of the last fetch they do not
    // make us ask the provider again, however many come.
    for _ in 0..3 {
        assert_eq!(sign_in_as(&app, &mock, "c-5", true).await, 400);
    }
    assert_eq!(fetches(&mock).await, (1, 2));
    // A minute later one such token may refetch once more (still refused).
    app.advance(Duration::from_secs(61));
    for _ in 0..2 {
        assert_eq!(sign_in_as(&app, &mock, "c-5", true).await, 400);
    }
    assert_eq!(fetches(&mock).await, (1, 3));
    assert_eq!(
        app.store.user_by_provider("google", "c-5").await.unwrap(),
        None
    );

    // Past max-age both are fetched again, once.
    app.advance(Duration::from_secs(3600));
    for sub in ["c-6", "c-7"] {
        assert_eq!(sign_in_as(&app, &mock, sub, false).await, 200, "{sub}");
    }
    assert_eq!(fetches(&mock).await, (2, 4));
}
both_backends!(discovery_and_keys_are_cached);

async fn max_age_is_bounded_below(app: TestApp) {
    let mock = OAuthMock::start();
    // A provider asking for no caching at all is still asked at most once a minute.
    mock.control(json!({ "cacheControl": "no-store, max-age=0" }))
        .await;
    let app = serve(app, mock.google_vars()).await;
    assert_eq!(sign_in_as(&app, &mock, "f-1", false).await, 200);
    app.advance(Duration::from_secs(30));
    assert_eq!(sign_in_as(&app, &mock, "f-2", false).await, 200);
    assert_eq!(fetches(&mock).await, (1, 1));
    app.advance(Duration::from_secs(31));
    assert_eq!(sign_in_as(&app, &mock, "f-3", false).await, 200);
    assert_eq!(fetches(&mock).await, (2, 2));
}
both_backends!(max_age_is_bounded_below);

async fn an_unreachable_provider_is_served_from_the_copy_held(app: TestApp) {
    let mock = OAuthMock::start();
    mock.control(json!({ "cacheControl": "public, max-age=3600" }))
        .await;
    let app = serve(app, mock.google_vars()).await;
    assert_eq!(sign_in_as(&app, &mock, "s-1", false).await, 200);
    assert_eq!(fetches(&mock).await, (1, 1));

    // The provider's discovery and key endpoints go down, and our copy goes stale: it keeps
    // serving, ID tokens and whole redirect flows alike, and the provider is asked again
    // once a minute, not on every sign-in.
    mock.control(json!({ "metadataDown": true })).await;
    app.advance(Duration::from_secs(3601));
    for sub in ["s-2", "s-3"] {
        assert_eq!(sign_in_as(&app, &mock, sub, false).await, 200, "{sub}");
    }
    let (_, ended) = sign_in(&app, "google").await;
    assert_eq!(user_of(&app, &ended).await["email"], "ada@example.test");
    assert_eq!(fetches(&mock).await, (2, 2));

    // A token naming a key we do not hold cannot have the keys refetched: it is refused as
    // any badly signed token is (400), not answered with a server error.
    assert_eq!(sign_in_as(&app, &mock, "s-4", true).await, 400);
    assert_eq!(fetches(&mock).await, (2, 3));
    assert_eq!(
        app.store.user_by_provider("google", "s-4").await.unwrap(),
        None
    );

    app.advance(Duration::from_secs(61));
    assert_eq!(sign_in_as(&app, &mock, "s-5", false).await, 200);
    assert_eq!(fetches(&mock).await, (3, 4));

    // Six hours past its freshness the copy is no longer trusted: sign-ins fail, nothing is
    // stored.
    app.advance(Duration::from_secs(6 * 3600));
    assert_eq!(sign_in_as(&app, &mock, "s-6", false).await, 500);
    assert_eq!(
        app.store.user_by_provider("google", "s-6").await.unwrap(),
        None
    );

    // The provider is back: fetched once, cached again.
    mock.control(json!({ "metadataDown": false })).await;
    let before = fetches(&mock).await;
    for sub in ["s-7", "s-8"] {
        assert_eq!(sign_in_as(&app, &mock, sub, false).await, 200, "{sub}");
    }
    assert_eq!(fetches(&mock).await, (before.0 + 1, before.1 + 1));
}
both_backends!(an_unreachable_provider_is_served_from_the_copy_held);
