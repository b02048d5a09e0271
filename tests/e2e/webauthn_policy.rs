//! WebAuthn refused by configuration or account policy: disabled endpoints, sign-up rules,
//! disabled and anonymous users, and missing or bad bearer tokens.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::authenticator::b64url;
use crate::support::{ORIGIN, SoftAuthenticator, TestApp};
use crate::webauthn_rejects::{
    EMAIL, NEW, OTHER, answer, assert_invalid, assert_rejected, call, no_server_error, no_user,
    token, user_id,
};

/// An assertion that parses but proves nothing: endpoints that must refuse before looking at
/// the credential get it.
fn dummy_assertion() -> Value {
    json!({ "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {
            "clientDataJSON": b64url(br#"{"type":"webauthn.get","challenge":"AAAA"}"#),
            "authenticatorData": "AAAA", "signature": "AAAA",
        },
    } })
}

fn dummy_registration() -> Value {
    json!({ "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {
            "clientDataJSON": b64url(br#"{"type":"webauthn.create","challenge":"AAAA"}"#),
            "attestationObject": "AAAA",
        },
    } })
}

async fn disabled_webauthn_answers_409_everywhere(app: TestApp) {
    let (session, mut authenticator) = app.sign_up_with_passkey(EMAIL).await;
    let (user, token) = (user_id(&session), token(&session));
    // Genuine answers, begun while the endpoints were still on.
    let a = &mut authenticator;
    let signup = answer(&app, a, "/signup/webauthn", &token).await;
    let signin = answer(&app, a, "/signin/webauthn", &token).await;
    let add = answer(&app, a, "/user/webauthn/add", &token).await;
    let elevate = answer(&app, a, "/elevate/webauthn", &token).await;
    app.change_env(&[("AUTH_WEBAUTHN_ENABLED", "false")]).await;
    let cases = [
        ("/signup/webauthn", json!({ "email": OTHER })),
        ("/signup/webauthn/verify", signup),
        ("/signin/webauthn", json!({ "email": EMAIL })),
        ("/signin/webauthn/verify", signin),
        ("/user/webauthn/add", json!({})),
        ("/user/webauthn/verify", add),
        ("/elevate/webauthn", json!({})),
        ("/elevate/webauthn/verify", elevate),
    ];
    for (path, body) in &cases {
        let res = call(&app, path, Some(&token), body).await;
        assert_rejected(&res, 409, "disabled-endpoint", path);
    }
    assert_eq!(app.sessions_of(&user).await, 1);
    assert_eq!(app.keys_of(&user).await.len(), 1);
    assert!(no_user(&app, NEW).await && no_user(&app, OTHER).await);
}
both_backends!(disabled_webauthn_answers_409_everywhere);

async fn new_users_disabled_are_stored_without_a_session(app: TestApp) {
    app.change_env(&[("AUTH_DISABLE_NEW_USERS", "true")]).await;
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let options = call(&app, "/signup/webauthn", None, &json!({ "email": EMAIL })).await;
    let registration = json!({ "credential": authenticator.register(&options.body).await });
    let res = call(&app, "/signup/webauthn/verify", None, &registration).await;
    assert_rejected(&res, 401, "disabled-user", "sign-up verify");
    // As upstream: the account and its key are stored, disabled, without a session.
    let user = app.store.find_user_by_email(EMAIL).await.unwrap().unwrap();
    assert!(user.disabled);
    let id = user.id.to_string();
    assert_eq!(app.keys_of(&id).await.len(), 1);
    assert_eq!(app.sessions_of(&id).await, 0);

    let res = call(&app, "/signin/webauthn", None, &json!({ "email": EMAIL })).await;
    assert_rejected(&res, 401, "disabled-user", "sign-in by e-mail");
    let options = call(&app, "/signin/webauthn", None, &json!({})).await;
    let assertion = json!({ "credential": authenticator.assert(&options.body).await });
    let res = call(&app, "/signin/webauthn/verify", None, &assertion).await;
    assert_rejected(&res, 401, "disabled-user", "discoverable sign-in");
    assert_eq!(app.sessions_of(&id).await, 0);
}
both_backends!(new_users_disabled_are_stored_without_a_session);

async fn email_in_use_is_refused_at_options_and_at_verify(app: TestApp) {
    let (session, _) = app.sign_up_with_passkey(EMAIL).await;
    let res = call(&app, "/signup/webauthn", None, &json!({ "email": EMAIL })).await;
    assert_rejected(&res, 409, "email-already-in-use", "options");
    assert_eq!(app.keys_of(&user_id(&session)).await.len(), 1);

    // Two sign-ups race for one address: whoever finishes second gets nothing stored.
    let first = call(&app, "/signup/webauthn", None, &json!({ "email": NEW })).await;
    let second = call(&app, "/signup/webauthn", None, &json!({ "email": NEW })).await;
    let mut first_authenticator = SoftAuthenticator::new(ORIGIN);
    let first_answer = json!({ "credential": first_authenticator.register(&first.body).await });
    let second_user = second.body["user"]["id"].as_str().unwrap();
    let mut second_authenticator = SoftAuthenticator::new(ORIGIN);
    let second_answer = json!({ "credential": second_authenticator.register(&second.body).await });
    let res = call(&app, "/signup/webauthn/verify", None, &first_answer).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let winner = user_id(&res.body["session"]);
    let res = call(&app, "/signup/webauthn/verify", None, &second_answer).await;
    assert_rejected(&res, 409, "email-already-in-use", "second verify");
    let keys = app.keys_of(&winner).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[0].credential_id.to_base64url(),
        first_authenticator.credential_ids()[0]
    );
    assert_eq!(app.sessions_of(&winner).await, 1);
    let loser = latchkey::model::UserId::from_uuid(second_user.parse().unwrap());
    assert!(app.store.get_user(loser).await.unwrap().is_none());
    assert!(app.keys_of(second_user).await.is_empty());
    let res = call(&app, "/signup/webauthn/verify", None, &second_answer).await;
    assert_invalid(&res, "second verify replayed");
}
both_backends!(email_in_use_is_refused_at_options_and_at_verify);

async fn disabled_signup_is_refused_at_options_and_at_verify(app: TestApp) {
    let options = call(&app, "/signup/webauthn", None, &json!({ "email": NEW })).await;
    let registration = SoftAuthenticator::new(ORIGIN).register(&options.body).await;
    let registration = json!({ "credential": registration });
    app.change_env(&[("AUTH_DISABLE_SIGNUP", "true")]).await;
    let res = call(&app, "/signup/webauthn", None, &json!({ "email": EMAIL })).await;
    assert_rejected(&res, 403, "signup-disabled", "options");
    let res = call(&app, "/signup/webauthn/verify", None, &registration).await;
    assert_rejected(&res, 403, "signup-disabled", "verify");
    assert!(no_user(&app, EMAIL).await && no_user(&app, NEW).await);
}
both_backends!(disabled_signup_is_refused_at_options_and_at_verify);

async fn signup_options_are_validated(app: TestApp) {
    let (redirect, role, invalid) = (
        "redirectTo-not-allowed",
        "role-not-allowed",
        "invalid-request",
    );
    let evil = "https://evil.example.test/";
    // (case, options, Nhost code); every one is a 400.
    let cases = [
        (
            "redirectTo elsewhere",
            json!({ "redirectTo": evil }),
            redirect,
        ),
        (
            "redirectTo not a URL",
            json!({ "redirectTo": "not a url" }),
            redirect,
        ),
        (
            "role not allowed",
            json!({ "allowedRoles": ["user", "admin"] }),
            role,
        ),
        (
            "default role not allowed",
            json!({ "defaultRole": "admin" }),
            "default-role-must-be-in-allowed-roles",
        ),
        (
            "markup in displayName",
            json!({ "displayName": "<b>Ada</b>" }),
            invalid,
        ),
        (
            "metadata not an object",
            json!({ "metadata": [1] }),
            invalid,
        ),
        ("unknown option", json!({ "nickname": "laptop" }), invalid),
    ];
    for (name, options, code) in &cases {
        let body = json!({ "email": EMAIL, "options": options });
        let res = call(&app, "/signup/webauthn", None, &body).await;
        assert_rejected(&res, 400, code, name);
    }
    let bodies = [
        json!({}),
        json!({ "email": 42 }),
        json!({ "email": EMAIL, "password": "x" }),
        json!({ "email": "ada.example.test" }),
        json!({ "email": "ada@" }),
        json!({ "email": "@example.test" }),
        json!({ "email": "ada @example.test" }),
        json!({ "email": "a@b..c" }),
    ];
    for body in &bodies {
        let res = call(&app, "/signup/webauthn", None, body).await;
        assert_invalid(&res, &body.to_string());
    }
    assert!(no_user(&app, EMAIL).await);
}
both_backends!(signup_options_are_validated);

async fn signup_verify_refuses_bad_options(app: TestApp) {
    let evil = json!({ "options": { "redirectTo": "https://evil.example.test/" } });
    // (case, extra body fields, Nhost code of the 400, whether the challenge is taken first)
    let cases = [
        ("redirectTo elsewhere", evil, "redirectTo-not-allowed", true),
        (
            "role not allowed",
            json!({ "options": { "allowedRoles": ["admin"] } }),
            "role-not-allowed",
            true,
        ),
        (
            "nickname of 256 characters",
            json!({ "nickname": "n".repeat(256) }),
            "invalid-request",
            false,
        ),
        (
            "unknown option",
            json!({ "options": { "password": "x" } }),
            "invalid-request",
            false,
        ),
    ];
    for (i, (name, extra, code, takes_challenge)) in cases.into_iter().enumerate() {
        let email = format!("case{i}@example.test");
        let options = call(&app, "/signup/webauthn", None, &json!({ "email": email })).await;
        let credential = SoftAuthenticator::new(ORIGIN).register(&options.body).await;
        let genuine = json!({ "credential": credential });
        let mut body = genuine.clone();
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let res = call(&app, "/signup/webauthn/verify", None, &body).await;
        assert_rejected(&res, 400, code, name);
        assert!(no_user(&app, &email).await, "{name}: no user");
        let res = call(&app, "/signup/webauthn/verify", None, &genuine).await;
        if takes_challenge {
            assert_invalid(&res, &format!("{name}: used"));
            assert!(no_user(&app, &email).await, "{name}: no user");
        } else {
            assert_eq!(res.status, 200, "{name}: challenge kept: {}", res.body);
        }
    }
}
both_backends!(signup_verify_refuses_bad_options);

async fn signin_options_refuse_unknown_emails(app: TestApp) {
    app.sign_up_with_passkey(EMAIL).await;
    let res = call(&app, "/signin/webauthn", None, &json!({ "email": NEW })).await;
    assert_rejected(&res, 401, "invalid-email-password", "unknown e-mail");
    let res = call(&app, "/signin/webauthn", None, &json!({ "email": 42 })).await;
    assert_invalid(&res, "e-mail not a string");
    let body = json!({ "email": EMAIL, "extra": true });
    let res = call(&app, "/signin/webauthn", None, &body).await;
    assert_invalid(&res, "unknown field");
}
both_backends!(signin_options_refuse_unknown_emails);

async fn anonymous_users_cannot_elevate_or_add_keys(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let (user, token) = (user_id(&session), token(&session));
    let cases = [
        ("/elevate/webauthn", json!({})),
        ("/elevate/webauthn/verify", dummy_assertion()),
        ("/user/webauthn/add", json!({})),
        ("/user/webauthn/verify", dummy_registration()),
    ];
    for (path, body) in &cases {
        let res = call(&app, path, Some(&token), body).await;
        assert_rejected(&res, 403, "forbidden-anonymous", path);
    }
    assert_eq!(app.keys_of(&user).await.len(), 0);
    assert_eq!(app.sessions_of(&user).await, 1);
}
both_backends!(anonymous_users_cannot_elevate_or_add_keys);

async fn bearer_endpoints_refuse_missing_or_bad_tokens(app: TestApp) {
    let (session, _) = app.sign_up_with_passkey(EMAIL).await;
    let (user, token) = (user_id(&session), token(&session));
    let cases = [
        ("/elevate/webauthn", json!({})),
        ("/elevate/webauthn/verify", dummy_assertion()),
        ("/user/webauthn/add", json!({})),
        ("/user/webauthn/verify", dummy_registration()),
    ];
    let bad = [
        None,
        Some("Bearer not-a-jwt".to_owned()),
        Some(format!("Basic {token}")),
        Some(format!("bearer {token}")),
    ];
    for (path, body) in &cases {
        for authorization in &bad {
            let mut req = app.client.post(format!("{}{path}", app.base)).json(body);
            if let Some(value) = authorization {
                req = req.header("Authorization", value);
            }
            let res = no_server_error(app.send(req).await, path);
            assert_invalid(&res, &format!("{path} {authorization:?}"));
        }
    }
    // The genuine token once it has expired (default lifetime 900 s).
    app.advance(Duration::from_secs(901));
    for (path, body) in &cases {
        let res = call(&app, path, Some(&token), body).await;
        assert_invalid(&res, &format!("{path} expired"));
    }
    assert_eq!(app.keys_of(&user).await.len(), 1);
    assert_eq!(app.sessions_of(&user).await, 1);
}
both_backends!(bearer_endpoints_refuse_missing_or_bad_tokens);
