//! WebAuthn happy paths: sign-up (with and without verification), sign-in by e-mail,
//! discoverable sign-in, adding a key, elevation, and what gets stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::support::jwt_claims as claims;
use crate::support::{ORIGIN, SoftAuthenticator, TestApp};

/// `/signin/webauthn` with an e-mail, then `/verify`: returns the session.
pub async fn sign_in_by_email(
    app: &TestApp,
    email: &str,
    authenticator: &mut SoftAuthenticator,
) -> Value {
    let options = app
        .post("/signin/webauthn", &json!({ "email": email }))
        .await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let assertion = authenticator.assert(&options.body).await;
    let res = app
        .post(
            "/signin/webauthn/verify",
            &json!({ "credential": assertion, "email": email }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["session"].clone()
}

async fn signup_options_have_nhost_shape(app: TestApp) {
    let res = app
        .post(
            "/signup/webauthn",
            &json!({ "email": "ada@example.test", "options": { "displayName": "Ada" } }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let o = &res.body;
    assert!(o.get("publicKey").is_none(), "bare options, no wrapper");
    assert_eq!(o["rp"], json!({ "id": "localhost", "name": "localhost" }));
    assert_eq!(o["user"]["name"], "ada@example.test");
    assert_eq!(o["user"]["displayName"], "Ada");
    let user_id = o["user"]["id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(user_id).is_ok(),
        "user.id is the plain UUID string: {user_id}"
    );
    assert_eq!(o["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(o["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(o["timeout"], 60000);
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(o["challenge"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
}
both_backends!(signup_options_have_nhost_shape);

async fn signup_without_verification_returns_a_session_and_stores_the_key(app: TestApp) {
    let (session, authenticator) = app.sign_up_with_passkey("ada@example.test").await;
    let user = &session["user"];
    assert_eq!(user["email"], "ada@example.test");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["defaultRole"], "user");
    let keys = app.keys_of(user["id"].as_str().unwrap()).await;
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        key.credential_id.to_base64url(),
        authenticator.credential_ids()[0]
    );
    assert_eq!(key.transports, vec!["internal".to_string()]);
    assert_eq!(key.attestation_format.as_deref(), Some("none"));
    assert_eq!(key.backup_eligible, Some(true));
    assert!(key.user_verified);
    assert_eq!(
        key.nickname.as_deref(),
        Some(""),
        "Nhost stores '' for sign-up keys"
    );
    assert!(!key.public_key.is_empty());
    assert!(app.mailer.sent().is_empty());
}
both_backends!(signup_without_verification_returns_a_session_and_stores_the_key);

async fn signup_with_verification_sends_mail_and_returns_no_session(app: TestApp) {
    app.change_env(&[("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true")])
        .await;
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let options = app
        .post("/signup/webauthn", &json!({ "email": "ver@example.test" }))
        .await;
    let credential = authenticator.register(&options.body).await;
    // hasura-auth-js v2 sends the nickname inside options.
    let body = json!({ "credential": credential, "options": { "redirectTo": "http://localhost:3000/welcome", "nickname": "laptop" } });
    let res = app.post("/signup/webauthn/verify", &body).await;
    assert_eq!((res.status, &res.body), (200, &json!({})));
    let sent = app.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ver@example.test");
    assert_eq!(sent[0].template, "email-verify");
    let link = sent[0].header("X-Link").unwrap();
    assert!(
        link.contains("/verify?") && link.contains("ticket=verifyEmail"),
        "{link}"
    );
    assert!(
        link.contains("redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fwelcome"),
        "{link}"
    );
    let user = app
        .store
        .find_user_by_email("ver@example.test")
        .await
        .unwrap()
        .unwrap();
    let keys = app.store.keys_of(user.id).await.unwrap();
    assert_eq!(keys[0].nickname.as_deref(), Some("laptop"));
    // Unverified users cannot sign in while verification is required.
    let res = app
        .post("/signin/webauthn", &json!({ "email": "ver@example.test" }))
        .await;
    assert_eq!((res.status, res.error_code()), (401, "unverified-user"));
    assert_eq!(app.sessions_of(&user.id.to_string()).await, 0);
}
both_backends!(signup_with_verification_sends_mail_and_returns_no_session);

async fn sign_in_by_email_and_discoverable(app: TestApp) {
    let (signup, mut authenticator) = app.sign_up_with_passkey("ada@example.test").await;
    let user_id = signup["user"]["id"].as_str().unwrap().to_owned();

    let options = app
        .post("/signin/webauthn", &json!({ "email": "ada@example.test" }))
        .await;
    assert_eq!(options.body["userVerification"], "required");
    assert_eq!(options.body["rpId"], "localhost");
    let allowed = options.body["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], authenticator.credential_ids()[0]);
    assert_eq!(allowed[0]["transports"], json!(["internal"]));
    let assertion = authenticator.assert(&options.body).await;
    let res = app
        .post(
            "/signin/webauthn/verify",
            &json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["id"], user_id.as_str());
    let key = &app.keys_of(&user_id).await[0];
    assert_eq!(key.counter, 1, "counter stored");
    assert!(key.last_used_at.is_some());

    // Discoverable: no e-mail, the user handle names the user.
    let options = app.post("/signin/webauthn", &json!({})).await;
    assert_eq!(options.body["allowCredentials"], json!([]));
    let assertion = authenticator.assert(&options.body).await;
    let handle = assertion["response"]["userHandle"].as_str().unwrap();
    assert_eq!(
        handle, user_id,
        "user handle is the UUID text in base64url form"
    );
    let res = app
        .post(
            "/signin/webauthn/verify",
            &json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["id"], user_id.as_str());
    assert_eq!(app.keys_of(&user_id).await[0].counter, 2);
    assert_eq!(app.sessions_of(&user_id).await, 3);

    // No body at all is a discoverable request too (SDKs differ).
    let res = app
        .send(app.client.post(format!("{}/signin/webauthn", app.base)))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
both_backends!(sign_in_by_email_and_discoverable);

async fn user_handle_as_raw_uuid_bytes_or_text_is_accepted(app: TestApp) {
    let (signup, mut authenticator) = app.sign_up_with_passkey("ada@example.test").await;
    let user_id = signup["user"]["id"].as_str().unwrap().to_owned();
    let uuid = uuid::Uuid::parse_str(&user_id).unwrap();
    for handle in [
        URL_SAFE_NO_PAD.encode(uuid.as_bytes()),
        URL_SAFE_NO_PAD.encode(user_id.as_bytes()),
    ] {
        let options = app.post("/signin/webauthn", &json!({})).await;
        let mut assertion = authenticator.assert(&options.body).await;
        crate::support::authenticator::set_user_handle(&mut assertion, Some(&handle));
        let res = app
            .post(
                "/signin/webauthn/verify",
                &json!({ "credential": assertion }),
            )
            .await;
        assert_eq!(res.status, 200, "handle {handle}: {:?}", res.body);
    }
}
both_backends!(user_handle_as_raw_uuid_bytes_or_text_is_accepted);

async fn add_a_second_key_then_sign_in_with_either(app: TestApp) {
    let (session, mut first) = app.sign_up_with_passkey("ada@example.test").await;
    let token = session["accessToken"].as_str().unwrap();
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let options = app
        .post_bearer("/user/webauthn/add", token, &json!({}))
        .await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let excluded = options.body["excludeCredentials"].as_array().unwrap();
    assert_eq!(excluded[0]["id"], first.credential_ids()[0]);
    assert_eq!(
        options.body["user"]["id"],
        user_id.as_str(),
        "same user handle as at sign-up"
    );
    // Filled in from the row read with the stored ceremony.
    assert_eq!(options.body["user"]["name"], "ada@example.test");
    assert_eq!(
        options.body["user"]["displayName"],
        session["user"]["displayName"]
    );
    let mut second = SoftAuthenticator::new(ORIGIN);
    let credential = second.register(&options.body).await;
    let res = app
        .post_bearer(
            "/user/webauthn/verify",
            token,
            &json!({ "credential": credential, "nickname": "yubikey" }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["nickname"], "yubikey");
    let keys = app.keys_of(&user_id).await;
    assert_eq!(keys.len(), 2);
    let added = keys
        .iter()
        .find(|k| k.id.to_string() == res.body["id"].as_str().unwrap());
    assert_eq!(added.unwrap().nickname.as_deref(), Some("yubikey"));

    sign_in_by_email(&app, "ada@example.test", &mut first).await;
    sign_in_by_email(&app, "ada@example.test", &mut second).await;
}
both_backends!(add_a_second_key_then_sign_in_with_either);

async fn elevation_issues_an_elevated_session_for_the_bearer(app: TestApp) {
    let (session, mut authenticator) = app.sign_up_with_passkey("ada@example.test").await;
    let token = session["accessToken"].as_str().unwrap();
    let user_id = session["user"]["id"].as_str().unwrap();
    assert!(
        claims(token)["https://hasura.io/jwt/claims"]
            .get("x-hasura-auth-elevated")
            .is_none()
    );
    let options = app
        .post_bearer(
            "/elevate/webauthn",
            token,
            &json!({ "email": "ada@example.test" }),
        )
        .await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let assertion = authenticator.assert(&options.body).await;
    let res = app
        .post_bearer(
            "/elevate/webauthn/verify",
            token,
            &json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let elevated = res.body["session"]["accessToken"].as_str().unwrap();
    assert_eq!(
        claims(elevated)["https://hasura.io/jwt/claims"]["x-hasura-auth-elevated"],
        user_id
    );
    // Refreshing an elevated session yields a normal token again.
    let refreshed = app
        .post(
            "/token",
            &json!({ "refreshToken": res.body["session"]["refreshToken"] }),
        )
        .await;
    let plain = refreshed.body["accessToken"].as_str().unwrap();
    assert!(
        claims(plain)["https://hasura.io/jwt/claims"]
            .get("x-hasura-auth-elevated")
            .is_none()
    );
}
both_backends!(elevation_issues_an_elevated_session_for_the_bearer);

async fn elevated_claim_policy_guards_adding_keys(app: TestApp) {
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "required")])
        .await;
    let (session, mut authenticator) = app.sign_up_with_passkey("ada@example.test").await;
    let token = session["accessToken"].as_str().unwrap();
    let res = app
        .post_bearer("/user/webauthn/add", token, &json!({}))
        .await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "invalid-request"),
        "not elevated"
    );
    let options = app
        .post_bearer("/elevate/webauthn", token, &json!({}))
        .await;
    let assertion = authenticator.assert(&options.body).await;
    let res = app
        .post_bearer(
            "/elevate/webauthn/verify",
            token,
            &json!({ "credential": assertion }),
        )
        .await;
    let elevated = res.body["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_bearer("/user/webauthn/add", &elevated, &json!({}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // "recommended": only users with a key need elevation; a keyless anonymous-free user
    // (here: a fresh sign-up whose key we cannot avoid) is covered by `required` above.
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "recommended")])
        .await;
    let res = app
        .post_bearer("/user/webauthn/add", token, &json!({}))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "disabled")])
        .await;
    let res = app
        .post_bearer("/user/webauthn/add", token, &json!({}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
both_backends!(elevated_claim_policy_guards_adding_keys);

/// Two servers over one database stand for two replicas: every ceremony begins on one and
/// finishes on the other, and a replayed assertion sent to both is accepted at most once.
async fn ceremonies_begun_on_one_replica_finish_on_another(a: TestApp) {
    let b = a.restart_with(&[]).await;
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let options = a
        .post("/signup/webauthn", &json!({ "email": "rep@example.test" }))
        .await;
    let credential = authenticator.register(&options.body).await;
    let signup = b
        .post(
            "/signup/webauthn/verify",
            &json!({ "credential": credential }),
        )
        .await;
    assert_eq!(signup.status, 200, "{:?}", signup.body);
    let token = signup.body["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let options = b
        .post("/signin/webauthn", &json!({ "email": "rep@example.test" }))
        .await;
    let assertion = authenticator.assert(&options.body).await;
    let body = json!({ "credential": assertion });
    let (on_a, on_b) = tokio::join!(
        a.post("/signin/webauthn/verify", &body),
        b.post("/signin/webauthn/verify", &body)
    );
    let accepted = [on_a.status, on_b.status]
        .iter()
        .filter(|s| **s == 200)
        .count();
    assert_eq!(accepted, 1, "a: {:?} b: {:?}", on_a.body, on_b.body);

    let options = a
        .post_bearer("/user/webauthn/add", &token, &json!({}))
        .await;
    let mut second = SoftAuthenticator::new(ORIGIN);
    let credential = second.register(&options.body).await;
    let added = b
        .post_bearer(
            "/user/webauthn/verify",
            &token,
            &json!({ "credential": credential }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);

    let options = b.post_bearer("/elevate/webauthn", &token, &json!({})).await;
    let assertion = second.assert(&options.body).await;
    let elevated = a
        .post_bearer(
            "/elevate/webauthn/verify",
            &token,
            &json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(elevated.status, 200, "{:?}", elevated.body);
}
both_backends!(ceremonies_begun_on_one_replica_finish_on_another);
