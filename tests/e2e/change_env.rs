//! `POST /change-env` as upstream's test suites use it: a partial update of the live
//! configuration, all or nothing.

use serde_json::{Value, json};

use crate::support::{Res, TestApp};

/// POSTs a raw `/change-env` body (the helper in `support` sends strings only).
async fn change_env(app: &TestApp, body: Value) -> Res {
    app.post("/change-env", &body).await
}

async fn anonymous_status(app: &TestApp) -> u16 {
    app.post("/signin/anonymous", &json!({})).await.status
}

async fn origins(app: &TestApp) -> Value {
    app.get("/.well-known/webauthn", None).await.body["origins"].clone()
}

/// Upstream's `resetEnvironment()` (test/server.ts), verbatim: it must be accepted whole.
fn upstream_reset() -> Value {
    json!({
        "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS": "",
        "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS": "",
        "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS": "",
        "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS": "",
        "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS": "",
        "AUTH_USER_DEFAULT_ALLOWED_ROLES": "me,user,editor",
        "AUTH_ANONYMOUS_USERS_ENABLED": false,
        "AUTH_CLIENT_URL": "http://localhost:3000",
        "AUTH_CONCEAL_ERRORS": false,
        "AUTH_DISABLE_NEW_USERS": false,
        "AUTH_DISABLE_SIGNUP": false,
        "AUTH_EMAIL_PASSWORDLESS_ENABLED": true,
        "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED": false,
        "AUTH_EMAIL_TEMPLATE_FETCH_URL": "",
        "AUTH_JWT_CUSTOM_CLAIMS": "",
        "AUTH_MFA_ENABLED": false,
        "AUTH_PASSWORD_HIBP_ENABLED": false,
        "AUTH_SERVER_URL": "http://127.0.0.2:4000",
        "AUTH_SMS_PASSWORDLESS_ENABLED": false,
        "AUTH_SMS_TEST_PHONE_NUMBERS": "",
        "AUTH_WEBAUTHN_ENABLED": false,
        "AUTH_WEBAUTHN_RP_NAME": "",
        "AUTH_WEBAUTHN_RP_ORIGINS": [],
        "AUTH_WEBAUTHN_RP_ID": "",
    })
}

/// `{AUTH_DISABLE_SIGNUP: true}` after `{AUTH_WEBAUTHN_ENABLED: true}` leaves WebAuthn on:
/// keys absent from a call keep their current value, not the start-up one.
async fn change_env_keeps_the_keys_it_is_not_given(app: TestApp) {
    let app = app
        .restart_with(&[("AUTH_WEBAUTHN_ENABLED", "false")])
        .await;
    let res = app.post("/signin/webauthn", &json!({})).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
    let res = change_env(&app, json!({ "AUTH_WEBAUTHN_ENABLED": true })).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = change_env(&app, json!({ "AUTH_DISABLE_SIGNUP": true })).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.post("/signin/webauthn", &json!({})).await.status, 200);
    let res = app
        .post("/signup/webauthn", &json!({ "email": "ada@example.test" }))
        .await;
    assert_eq!((res.status, res.error_code()), (403, "signup-disabled"));
    // An empty value is the default again, for that key only.
    let res = change_env(&app, json!({ "AUTH_DISABLE_SIGNUP": "" })).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .post("/signup/webauthn", &json!({ "email": "ada@example.test" }))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}
both_backends!(change_env_keeps_the_keys_it_is_not_given);

async fn change_env_takes_lists_as_json_arrays_or_comma_strings(app: TestApp) {
    let res = change_env(
        &app,
        json!({ "AUTH_WEBAUTHN_RP_ORIGINS": ["https://a.example.test", "https://b.example.test"] }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let both = json!([
        "https://a.example.test",
        "https://b.example.test",
        "http://localhost:3000"
    ]);
    assert_eq!(origins(&app).await, both);
    let res = change_env(&app, json!({ "AUTH_WEBAUTHN_RP_ORIGINS": [] })).await;
    assert_eq!(
        res.status, 200,
        "an empty array is the default: {}",
        res.body
    );
    assert_eq!(origins(&app).await, json!(["http://localhost:3000"]));
    let res = change_env(
        &app,
        json!({ "AUTH_WEBAUTHN_RP_ORIGINS": "https://a.example.test, https://b.example.test" }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(origins(&app).await, both);

    let res = change_env(
        &app,
        json!({ "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS": ["bad@example.test", "worse@example.test"] }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    for (email, status) in [
        ("worse@example.test", 401),
        ("bad@example.test", 401),
        ("good@example.test", 200),
    ] {
        let body = json!({ "email": email, "password": "correct horse" });
        let res = app.post("/signup/email-password", &body).await;
        assert_eq!(res.status, status, "{email}: {}", res.body);
    }

    // Upstream's reset, sent whole at the start of each of its test files, applies.
    let res = change_env(&app, upstream_reset()).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(origins(&app).await, json!(["http://localhost:3000"]));
    let res = app.post("/signin/anonymous", &json!({})).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
    let res = app.post("/signin/webauthn", &json!({})).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
}
both_backends!(change_env_takes_lists_as_json_arrays_or_comma_strings);

async fn change_env_ignores_keys_that_are_not_variables(app: TestApp) {
    let res = change_env(
        &app,
        json!({
            "NOT_A_VARIABLE": [{ "nested": true }],
            "AUTH_HIBP_ENABLED": "not even a boolean",
            "AUTH_JWT_CUSTOM_CLAIMS": "",
            "AUTH_DISABLE_SIGNUP": true,
        }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(anonymous_status(&app).await, 403, "the known key applied");
}
both_backends!(change_env_ignores_keys_that_are_not_variables);

async fn change_env_with_a_bad_value_is_400_and_applies_nothing(app: TestApp) {
    let cases = [
        ("AUTH_PORT", json!("not a port")),
        ("AUTH_REQUIRE_ELEVATED_CLAIM", json!("sometimes")),
        ("AUTH_WEBAUTHN_RP_ORIGINS", json!([{ "origin": "x" }])),
        ("AUTH_WEBAUTHN_RP_ORIGINS", json!(["not an origin"])),
        ("AUTH_CLIENT_URL", json!("nowhere")),
    ];
    for (name, value) in cases {
        let mut body = json!({ "AUTH_DISABLE_SIGNUP": true, "AUTH_WEBAUTHN_ENABLED": false });
        body[name] = value.clone();
        let res = change_env(&app, body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{name} = {value}"
        );
        let message = res.body["message"].as_str().unwrap();
        assert!(message.contains(name), "{name}: {message}");
        assert_eq!(anonymous_status(&app).await, 200, "{name}: nothing applied");
        let res = app.post("/signin/webauthn", &json!({})).await;
        assert_eq!(res.status, 200, "{name}: nothing applied: {}", res.body);
    }
}
both_backends!(change_env_with_a_bad_value_is_400_and_applies_nothing);
