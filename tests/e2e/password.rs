//! E-mail and password: sign-up, sign-in, password change and reset, e-mail change and
//! deanonymisation, with the mails delivered over real SMTP and followed to `GET /verify`.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::support::smtp::{address, mails_to, wait_for_mail};
use crate::support::{ORIGIN, SoftAuthenticator, TestApp};
use crate::webauthn::sign_in_by_email;

const REQUIRED: (&str, &str) = ("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true");
const PASSWORD: &str = "correct horse";

async fn sign_up(app: &TestApp, email: &str, password: &str) -> Value {
    let body = json!({ "email": email, "password": password });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["session"].clone()
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({ "email": email, "password": password });
    let res = app.post("/signin/email-password", &body).await;
    (res.status, res.body)
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// GETs `link` without following: the `Location`.
async fn follow(app: &TestApp, link: &str) -> Url {
    let res = app.client.get(link).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302);
    Url::parse(res.headers()["location"].to_str().unwrap()).unwrap()
}

async fn user_id_of(app: &TestApp, email: &str) -> String {
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    user.id.to_string()
}

async fn password_sign_up_and_sign_in(app: TestApp) {
    let session = sign_up(&app, "ada@example.test", PASSWORD).await;
    assert_eq!(session["user"]["email"], "ada@example.test");
    assert!(session["refreshToken"].is_string());
    let (status, body) = sign_in(&app, "ada@example.test", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["user"]["id"], session["user"]["id"]);
    assert_eq!(body.get("mfa"), None);
    let (status, body) = sign_in(&app, "ADA@example.test", PASSWORD).await;
    assert_eq!(status, 200, "addresses compare case-insensitively: {body}");

    for (case, email, password) in [
        ("wrong password", "ada@example.test", "wrong horse"),
        ("unknown address", "bob@example.test", PASSWORD),
    ] {
        let res = app
            .post(
                "/signin/email-password",
                &json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(
            (res.status, res.error_code()),
            (401, "invalid-email-password"),
            "{case}"
        );
    }
    // A passkey user has no password: the same answer.
    app.sign_up_with_passkey("key@example.test").await;
    let (status, body) = sign_in(&app, "key@example.test", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid-email-password"))
    );
}
both_backends!(password_sign_up_and_sign_in);

async fn password_sign_up_rejects_bad_input(app: TestApp) {
    app.change_env(&[
        ("AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS", "spam.test"),
        ("AUTH_PASSWORD_MIN_LENGTH", "8"),
    ])
    .await;
    sign_up(&app, "taken@example.test", PASSWORD).await;
    let ok = |email: &str| json!({ "email": email, "password": PASSWORD });
    let cases: &[(&str, Value, u16, &str)] = &[
        (
            "short password",
            json!({ "email": "a@example.test", "password": "short" }),
            400,
            "password-too-short",
        ),
        (
            "long password",
            json!({ "email": "a@example.test", "password": "x".repeat(51) }),
            400,
            "invalid-request",
        ),
        (
            "blocked domain",
            ok("a@spam.test"),
            401,
            "invalid-email-password",
        ),
        (
            "taken address",
            ok("taken@example.test"),
            409,
            "email-already-in-use",
        ),
        ("bad address", ok("not-an-address"), 400, "invalid-request"),
        (
            "unknown field",
            json!({ "email": "a@example.test", "password": PASSWORD, "x": 1 }),
            400,
            "invalid-request",
        ),
        (
            "missing password",
            json!({ "email": "a@example.test" }),
            400,
            "invalid-request",
        ),
        (
            "role not allowed",
            json!({ "email": "a@example.test", "password": PASSWORD, "options": { "allowedRoles": ["admin"] } }),
            400,
            "role-not-allowed",
        ),
        (
            "foreign redirect",
            json!({ "email": "a@example.test", "password": PASSWORD, "options": { "redirectTo": "https://evil.test/" } }),
            400,
            "redirectTo-not-allowed",
        ),
    ];
    for (case, body, status, code) in cases {
        let res = app.post("/signup/email-password", body).await;
        assert_eq!((res.status, res.error_code()), (*status, *code), "{case}");
    }
    for email in ["a@example.test", "a@spam.test"] {
        assert!(
            app.store.find_user_by_email(email).await.unwrap().is_none(),
            "{email}"
        );
    }
    app.change_env(&[("AUTH_DISABLE_SIGNUP", "true")]).await;
    let res = app
        .post("/signup/email-password", &ok("b@example.test"))
        .await;
    assert_eq!((res.status, res.error_code()), (403, "signup-disabled"));
}
both_backends!(password_sign_up_rejects_bad_input);

async fn verification_required_sends_a_mail(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("verify");
    let body = json!({ "email": email, "password": PASSWORD, "options": { "locale": "en" } });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!((res.status, &res.body), (200, &json!({})));
    let (status, body) = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unverified-user"))
    );
    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Email-Template"), "email-verify");
    let location = follow(&app, mail.header("X-Link")).await;
    assert_eq!(param(&location, "type").as_deref(), Some("verifyEmail"));
    let (status, body) = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["user"]["emailVerified"], true);
}
both_backends!(verification_required_sends_a_mail);

async fn changing_the_password_ends_other_sessions(app: TestApp) {
    let mine = sign_up(&app, "ada@example.test", PASSWORD).await;
    let (_, other) = sign_in(&app, "ada@example.test", PASSWORD).await;
    let user_id = mine["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.sessions_of(&user_id).await, 2);
    let token = mine["accessToken"].as_str().unwrap();
    let short = app
        .post_bearer("/user/password", token, &json!({ "newPassword": "ab" }))
        .await;
    assert_eq!(
        (short.status, short.error_code()),
        (400, "password-too-short")
    );
    let res = app
        .post_bearer(
            "/user/password",
            token,
            &json!({ "newPassword": "new secret" }),
        )
        .await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    assert_eq!(
        app.sessions_of(&user_id).await,
        1,
        "only the caller's session stays"
    );
    let refresh = |s: &Value| json!({ "refreshToken": s["refreshToken"] });
    assert_eq!(app.post("/token", &refresh(&mine)).await.status, 200);
    let gone = app.post("/token", &refresh(&other["session"])).await;
    assert_eq!(
        (gone.status, gone.error_code()),
        (401, "invalid-refresh-token")
    );
    assert_eq!(sign_in(&app, "ada@example.test", PASSWORD).await.0, 401);
    assert_eq!(sign_in(&app, "ada@example.test", "new secret").await.0, 200);
    let id = latchkey::model::UserId::from_uuid(user_id.parse().unwrap());
    assert_eq!(
        app.store
            .count_events("password.changed", id)
            .await
            .unwrap(),
        1
    );
    // The audit row carries the client's address, as every request-driven event does.
    let log = app.get("/user/audit", Some(token)).await;
    let changed = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "password.changed")
        .cloned()
        .unwrap_or_else(|| panic!("no password.changed in {:?}", log.body));
    assert_eq!(changed["ip"], "127.0.0.1", "{changed}");

    // Without a bearer, a ticket is required.
    let res = app
        .post("/user/password", &json!({ "newPassword": "abcdef" }))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    // In `required` mode an unelevated bearer cannot change the password.
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "required")])
        .await;
    let (_, fresh) = sign_in(&app, "ada@example.test", "new secret").await;
    let token = fresh["session"]["accessToken"].as_str().unwrap();
    let res = app
        .post_bearer(
            "/user/password",
            token,
            &json!({ "newPassword": "third one" }),
        )
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
}
both_backends!(changing_the_password_ends_other_sessions);

async fn password_reset_round_trips(app: TestApp) {
    let app = app.with_smtp(&[]).await;
    let email = address("reset");
    let session = sign_up(&app, &email, PASSWORD).await;
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let redirect = "http://localhost:3000/reset";
    let ask = |email: &str| json!({ "email": email, "options": { "redirectTo": redirect } });

    // Unknown addresses get the same answer and no mail.
    let nobody = address("nobody");
    let res = app.post("/user/password/reset", &ask(&nobody)).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let foreign = json!({ "email": email, "options": { "redirectTo": "https://evil.test/" } });
    let res = app.post("/user/password/reset", &foreign).await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "redirectTo-not-allowed")
    );

    // The link signs in (type=passwordReset), and a new password can then be set.
    assert_eq!(
        app.post("/user/password/reset", &ask(&email)).await.status,
        200
    );
    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Email-Template"), "password-reset");
    assert!(mail.header("X-Ticket").starts_with("passwordReset:"));
    assert_eq!(mail.header("X-Redirect-To"), redirect);
    let location = follow(&app, mail.header("X-Link")).await;
    assert!(location.as_str().starts_with(redirect), "{location}");
    assert_eq!(param(&location, "type").as_deref(), Some("passwordReset"));
    let refresh = param(&location, "refreshToken").unwrap();
    let res = app
        .post("/token", &json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let again = follow(&app, mail.header("X-Link")).await;
    assert_eq!(param(&again, "error").as_deref(), Some("invalid-ticket"));

    // The ticket alone, without a bearer, also resets; it ends every session.
    assert_eq!(
        app.post("/user/password/reset", &ask(&email)).await.status,
        200
    );
    let mails = crate::support::smtp::wait_for_mails(&email, 2).await;
    let ticket = mails[1].header("X-Ticket").to_owned();
    let body = json!({ "newPassword": "from the mail", "ticket": ticket });
    let res = app.post("/user/password", &body).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    assert_eq!(app.sessions_of(&user_id).await, 0);
    assert_eq!(sign_in(&app, &email, "from the mail").await.0, 200);
    let reused = app.post("/user/password", &body).await;
    assert_eq!(
        (reused.status, reused.error_code()),
        (401, "invalid-ticket"),
        "reused ticket"
    );
    let forged = json!({ "newPassword": "abcdef", "ticket": "verifyEmail:x" });
    let res = app.post("/user/password", &forged).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-ticket"),
        "other kind"
    );

    // An hour later the ticket is gone.
    assert_eq!(
        app.post("/user/password/reset", &ask(&email)).await.status,
        200
    );
    let mails = crate::support::smtp::wait_for_mails(&email, 3).await;
    app.advance(Duration::from_secs(3601));
    let body = json!({ "newPassword": "too late", "ticket": mails[2].header("X-Ticket") });
    let res = app.post("/user/password", &body).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-ticket"),
        "expired ticket"
    );
    assert_eq!(mails_to(&nobody).len(), 0, "no mail for an unknown address");
}
both_backends!(password_reset_round_trips);

async fn email_change_round_trips(app: TestApp) {
    let app = app.with_smtp(&[]).await;
    let old = address("old");
    let new = address("new");
    let session = sign_up(&app, &old, PASSWORD).await;
    let token = session["accessToken"].as_str().unwrap().to_owned();
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let res = app
        .post_bearer("/user/email/change", &token, &json!({ "newEmail": old }))
        .await;
    assert_eq!(
        (res.status, res.error_code()),
        (409, "email-already-in-use")
    );
    let res = app
        .post_bearer("/user/email/change", &token, &json!({ "newEmail": new }))
        .await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let mail = wait_for_mail(&new).await;
    assert_eq!(mail.header("X-Email-Template"), "email-confirm-change");
    assert!(mail.header("X-Ticket").starts_with("emailConfirmChange:"));
    let location = follow(&app, mail.header("X-Link")).await;
    assert_eq!(
        param(&location, "type").as_deref(),
        Some("emailConfirmChange")
    );
    assert_eq!(param(&location, "error"), None, "{location}");
    assert_eq!(user_id_of(&app, &new).await, user_id);
    assert!(app.store.find_user_by_email(&old).await.unwrap().is_none());
    assert_eq!(sign_in(&app, &new, PASSWORD).await.0, 200);
    assert_eq!(
        mails_to(&old).len(),
        0,
        "the mail goes to the new address only"
    );
    let id = latchkey::model::UserId::from_uuid(user_id.parse().unwrap());
    assert_eq!(
        app.store.count_events("email.changed", id).await.unwrap(),
        1
    );

    // The new address is taken before the link is clicked: refused, nothing changes.
    let third = address("third");
    let res = app
        .post_bearer("/user/email/change", &token, &json!({ "newEmail": third }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let link = wait_for_mail(&third).await.header("X-Link").to_owned();
    sign_up(&app, &third, PASSWORD).await;
    let location = follow(&app, &link).await;
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("email-already-in-use")
    );
    assert_eq!(user_id_of(&app, &new).await, user_id);
}
both_backends!(email_change_round_trips);

async fn deanonymize_with_password(app: TestApp) {
    let app = app.with_smtp(&[]).await;
    let anonymous = app.sign_in_anonymous().await;
    let token = anonymous["accessToken"].as_str().unwrap();
    let email = address("anon");
    let method = |m: &str| json!({ "signInMethod": m, "email": email, "password": PASSWORD });
    let res = app
        .post_bearer("/user/deanonymize", token, &method("passwordless"))
        .await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
    let res = app
        .post_bearer("/user/deanonymize", token, &method("email-password"))
        .await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let (status, body) = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["user"]["id"], anonymous["user"]["id"]);
    assert_eq!(body["session"]["user"]["isAnonymous"], false);
    let token = body["session"]["accessToken"].as_str().unwrap();
    let res = app
        .post_bearer("/user/deanonymize", token, &method("email-password"))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "user-not-anonymous"));

    // Taken address; and with verification required: a mail, and the sessions end.
    let app = app.with_smtp(&[REQUIRED]).await;
    let anonymous = app.sign_in_anonymous().await;
    let token = anonymous["accessToken"].as_str().unwrap();
    let res = app
        .post_bearer("/user/deanonymize", token, &method("email-password"))
        .await;
    assert_eq!(
        (res.status, res.error_code()),
        (409, "email-already-in-use")
    );
    let other = address("anon2");
    let body = json!({ "signInMethod": "email-password", "email": other, "password": PASSWORD });
    let res = app.post_bearer("/user/deanonymize", token, &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let user_id = anonymous["user"]["id"].as_str().unwrap();
    assert_eq!(app.sessions_of(user_id).await, 0);
    assert_eq!(
        wait_for_mail(&other).await.header("X-Email-Template"),
        "email-verify"
    );
    let (status, body) = sign_in(&app, &other, PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unverified-user"))
    );
}
both_backends!(deanonymize_with_password);

async fn password_user_adds_a_passkey(app: TestApp) {
    let session = sign_up(&app, "ada@example.test", PASSWORD).await;
    let token = session["accessToken"].as_str().unwrap();
    let options = app
        .post_bearer("/user/webauthn/add", token, &json!({}))
        .await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let credential = authenticator.register(&options.body).await;
    let res = app
        .post_bearer(
            "/user/webauthn/verify",
            token,
            &json!({ "credential": credential }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let signed_in = sign_in_by_email(&app, "ada@example.test", &mut authenticator).await;
    assert_eq!(signed_in["user"]["id"], session["user"]["id"]);
}
both_backends!(password_user_adds_a_passkey);

async fn unreachable_hibp_fails_closed_or_open(app: TestApp) {
    let port = crate::support::smtp::closed_port();
    let url = format!("http://127.0.0.1:{port}/range/");
    app.change_env(&[
        ("AUTH_PASSWORD_HIBP_ENABLED", "true"),
        ("LATCHKEY_HIBP_URL", &url),
    ])
    .await;
    let body = json!({ "email": "ada@example.test", "password": PASSWORD });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!((res.status, res.error_code()), (503, "service-unavailable"));
    app.change_env(&[
        ("AUTH_PASSWORD_HIBP_ENABLED", "true"),
        ("LATCHKEY_HIBP_URL", &url),
        ("LATCHKEY_HIBP_FAIL_OPEN", "true"),
    ])
    .await;
    assert_eq!(app.post("/signup/email-password", &body).await.status, 200);
}
both_backends!(unreachable_hibp_fails_closed_or_open);
