//! The audit log: security events with client address and user agent, `GET /user/audit`
//! (own events only, newest first, paging), and retention.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::authenticator::flip_signature_bit;

const AUDIT: &str = "/user/audit";
const UA: &str = "latchkey-e2e/1.0 (audit)";

/// Event names of the bearer's log, newest first.
async fn events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app.get(&format!("{AUDIT}{query}"), Some(token)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["events"].as_array().unwrap().clone()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

/// Signs in with the user's passkey by e-mail, from a client sending `UA`; the raw response.
async fn passkey_sign_in(
    app: &TestApp,
    email: &str,
    authenticator: &mut crate::support::SoftAuthenticator,
    tamper: bool,
) -> crate::support::Res {
    let options = app
        .post("/signin/webauthn", &json!({ "email": email }))
        .await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let mut assertion = authenticator.assert(&options.body).await;
    if tamper {
        flip_signature_bit(&mut assertion);
    }
    let req = app
        .client
        .post(format!("{}/signin/webauthn/verify", app.base))
        .header("user-agent", UA)
        .json(&json!({ "credential": assertion }));
    app.send(req).await
}

async fn key_lifecycle_is_audited_with_client_details(app: TestApp) {
    let email = "ada@example.test";
    let mut owner = app.key_owner(email).await;
    let tick = || app.advance(Duration::from_secs(1));
    tick();
    let failed = passkey_sign_in(&app, email, &mut owner.authenticator, true).await;
    assert_eq!(failed.status, 400, "{:?}", failed.body);
    tick();
    let ok = passkey_sign_in(&app, email, &mut owner.authenticator, false).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let refresh_token = ok.body["session"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    tick();
    let key = app.add_key(&owner.token, Some("spare")).await;
    tick();
    let path = format!("/user/webauthn/keys/{key}");
    let body = json!({ "nickname": "blue key" });
    let renamed = app
        .call(Method::PATCH, &path, Some(&owner.token), Some(&body))
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    tick();
    let elevated = app.elevate(&mut owner).await;
    tick();
    let deleted = app.call(Method::DELETE, &path, Some(&elevated), None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);

    let log = events(&app, &owner.token, "").await;
    assert_eq!(
        names(&log),
        [
            "security_key.removed",
            "session.elevated",
            "security_key.renamed",
            "security_key.added",
            "signin.succeeded",
            "signin.failed",
            "user.signed_up",
        ]
    );
    for event in &log {
        assert_eq!(event["ip"], "127.0.0.1", "{event}");
        assert!(
            event["createdAt"].as_str().unwrap().ends_with('Z'),
            "{event}"
        );
        uuid::Uuid::parse_str(event["id"].as_str().unwrap()).unwrap();
    }
    let failed = &log[5];
    assert_eq!(failed["userAgent"], UA);
    assert_eq!(failed["detail"]["method"], "webauthn");
    assert_eq!(failed["detail"]["reason"], "webauthn-rejected");
    assert_eq!(log[4]["userAgent"], UA);
    assert_eq!(log[0]["detail"]["keyId"], key.as_str());
    assert_eq!(log[2]["detail"]["keyId"], key.as_str());
    assert_eq!(log[6]["detail"]["method"], "webauthn");
    // No token of any kind is ever part of an event.
    let text = serde_json::to_string(&log).unwrap();
    for secret in [&owner.token, &elevated, &refresh_token] {
        assert!(!text.contains(secret.as_str()), "secret in the log: {text}");
    }
}
both_backends!(key_lifecycle_is_audited_with_client_details);

async fn failed_password_sign_ins_show_in_the_targeted_account(app: TestApp) {
    let email = "grace@example.test";
    let body = json!({ "email": email, "password": "correct horse battery" });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    app.advance(Duration::from_secs(1));
    let wrong = json!({ "email": email, "password": "wrong password!" });
    let res = app.post("/signin/email-password", &wrong).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-email-password")
    );
    app.advance(Duration::from_secs(1));
    let res = app.post("/signin/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let token = res.body["session"]["accessToken"].as_str().unwrap();

    let log = events(&app, token, "").await;
    assert_eq!(
        names(&log),
        ["signin.succeeded", "signin.failed", "user.signed_up"]
    );
    assert_eq!(
        log[1]["detail"],
        json!({ "method": "password", "reason": "bad-credentials" })
    );
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("wrong password"), "no password in the log");
}
both_backends!(failed_password_sign_ins_show_in_the_targeted_account);

async fn audit_log_is_private_and_pages_newest_first(app: TestApp) {
    let mut ada = app.key_owner("ada@example.test").await;
    let bob = app.key_owner("bob@example.test").await;
    for _ in 0..3 {
        app.advance(Duration::from_secs(1));
        app.elevate(&mut ada).await;
    }
    let all = events(&app, &ada.token, "").await;
    assert_eq!(all.len(), 4, "{all:?}");
    let bobs = events(&app, &bob.token, "").await;
    assert_eq!(names(&bobs), ["user.signed_up"], "only bob's own events");

    let first = events(&app, &ada.token, "?limit=2").await;
    assert_eq!(first, all[..2].to_vec());
    let before = first[1]["id"].as_str().unwrap();
    let second = events(&app, &ada.token, &format!("?limit=2&before={before}")).await;
    assert_eq!(second, all[2..].to_vec());
    let last = second[1]["id"].as_str().unwrap();
    assert!(
        events(&app, &ada.token, &format!("?before={last}"))
            .await
            .is_empty()
    );
    // Another user's event id is no cursor into their log, nor into one's own.
    let foreign = bobs[0]["id"].as_str().unwrap();
    assert!(
        events(&app, &ada.token, &format!("?before={foreign}"))
            .await
            .is_empty()
    );

    for query in [
        "?limit=0",
        "?limit=201",
        "?limit=x",
        "?before=nope",
        "?other=1",
    ] {
        let res = app.get(&format!("{AUDIT}{query}"), Some(&ada.token)).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{query}"
        );
    }
    // As GET /user: no bearer is upstream's 400.
    let res = app.get(AUDIT, None).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
}
both_backends!(audit_log_is_private_and_pages_newest_first);

async fn events_past_retention_are_hidden_and_swept(app: TestApp) {
    let email = "ada@example.test";
    let mut owner = app.key_owner(email).await;
    let user_id = latchkey::model::UserId::from_uuid(owner.user_id.parse().unwrap());

    // The sign-in 91 days later is recorded by a replica that keeps events forever: a writer
    // sweeps old rows now and then, at random, and this one must not sweep the sign-up away.
    let forever = app
        .restart_with(&[("LATCHKEY_AUDIT_RETENTION_DAYS", "0")])
        .await;
    forever.advance(Duration::from_secs(91 * 86_400));
    let res = passkey_sign_in(&forever, email, &mut owner.authenticator, false).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let token = res.body["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = events(&forever, &token, "").await;
    assert_eq!(names(&log), ["signin.succeeded", "user.signed_up"]);

    // With 90 days of retention, the sign-up is hidden though still stored.
    app.advance(Duration::from_secs(91 * 86_400));
    assert_eq!(names(&events(&app, &token, "").await), ["signin.succeeded"]);

    // The sweep deletes exactly the rows past the cutoff, in batches.
    let cutoff = app.clock_now() - chrono::Duration::days(90);
    assert_eq!(app.store.sweep_audit_log(cutoff, 1000).await.unwrap(), 1);
    assert_eq!(app.store.sweep_audit_log(cutoff, 1000).await.unwrap(), 0);
    let left = app
        .store
        .audit_events_of(user_id, None, None, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].event, "signin.succeeded");
}
both_backends!(events_past_retention_are_hidden_and_swept);

async fn graphql_key_changes_are_audited_too(app: TestApp) {
    let owner = app.key_owner("ada@example.test").await;
    let key = app.add_key(&owner.token, None).await;
    app.advance(Duration::from_secs(1));
    let rename = "mutation r($id: uuid!) { updateAuthUserSecurityKey(pk_columns: { id: $id }, _set: { nickname: \"g\" }) { id } }";
    let body = json!({ "query": rename, "variables": { "id": key } });
    let res = app.post_bearer("/graphql", &owner.token, &body).await;
    assert!(res.body["errors"].is_null(), "{:?}", res.body);
    app.advance(Duration::from_secs(1));
    let delete = "mutation d($id: uuid!) { deleteAuthUserSecurityKey(id: $id) { id } }";
    let body = json!({ "query": delete, "variables": { "id": key } });
    let res = app.post_bearer("/graphql", &owner.token, &body).await;
    assert!(res.body["errors"].is_null(), "{:?}", res.body);

    let log = events(&app, &owner.token, "").await;
    assert_eq!(
        names(&log)[..2],
        ["security_key.removed", "security_key.renamed"]
    );
    assert_eq!(log[0]["detail"]["keyId"], key.as_str());
    assert_eq!(log[1]["ip"], "127.0.0.1");
}
both_backends!(graphql_key_changes_are_audited_too);
