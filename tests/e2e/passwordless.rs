//! Passwordless e-mail sign-in (issue #17) over real SMTP: magic links followed like a person
//! clicking them, e-mail codes read from the mailbox, and what upstream gets wrong: codes of
//! one kind redeeming another, unlimited guesses, and one ticket slot for every kind.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::support::TestApp;
use crate::support::smtp::{address, mails_to, wait_for_mail, wait_for_mails};

const MAGIC: (&str, &str) = ("AUTH_EMAIL_PASSWORDLESS_ENABLED", "true");
const OTP: (&str, &str) = ("AUTH_OTP_EMAIL_ENABLED", "true");

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// GETs `link` without following the redirect: the status and the `Location`.
async fn follow(app: &TestApp, link: &str) -> (u16, Url) {
    let res = app.client.get(link).send().await.unwrap();
    let location = res.headers().get("location").expect("Location");
    let location = Url::parse(location.to_str().unwrap()).unwrap();
    (res.status().as_u16(), location)
}

async fn ask(app: &TestApp, path: &str, email: &str, options: Value) -> crate::support::Res {
    app.post(path, &json!({ "email": email, "options": options }))
        .await
}

/// Asks for a code for `email` and reads it from the mailbox (the `count`-th mail).
async fn mailed_code(app: &TestApp, email: &str, count: usize) -> String {
    let res = ask(app, "/signin/otp/email", email, json!({})).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")), "{email}");
    let mails = wait_for_mails(email, count).await;
    let mail = &mails[count - 1];
    assert_eq!(mail.header("X-Email-Template"), "signin-otp");
    let code = mail.header("X-Ticket").to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert!(mail.body().contains(&code));
    code
}

async fn verify(app: &TestApp, email: &str, otp: &str) -> crate::support::Res {
    app.post(
        "/signin/otp/email/verify",
        &json!({ "email": email, "otp": otp }),
    )
    .await
}

async fn magic_link_signs_a_new_user_in_once(app: TestApp) {
    let app = app.with_smtp(&[MAGIC]).await;
    let email = address("magic");
    let redirect = "http://localhost:3000/home?x=1";
    let res = ask(
        &app,
        "/signin/passwordless/email",
        &email,
        json!({ "redirectTo": redirect }),
    )
    .await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));

    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Email-Template"), "signin-passwordless");
    assert_eq!(mail.header("Subject"), "Secure sign-in link");
    let ticket = mail.header("X-Ticket");
    assert!(ticket.starts_with("passwordlessEmail:"), "{ticket}");
    let link = mail.header("X-Link").to_owned();
    let url = Url::parse(&link).unwrap();
    assert_eq!(param(&url, "type").as_deref(), Some("signinPasswordless"));
    assert_eq!(param(&url, "redirectTo").as_deref(), Some(redirect));
    let user = app.store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(!user.email_verified);

    let (status, location) = follow(&app, &link).await;
    assert_eq!(status, 302);
    assert!(
        location.as_str().starts_with("http://localhost:3000/home?"),
        "{location}"
    );
    assert_eq!(param(&location, "x").as_deref(), Some("1"), "{location}");
    assert_eq!(param(&location, "error"), None, "{location}");
    assert_eq!(
        param(&location, "type").as_deref(),
        Some("passwordlessEmail")
    );
    let refresh = param(&location, "refreshToken").expect("refreshToken");
    let res = app
        .post("/token", &json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["user"]["email"], email.as_str());
    assert_eq!(res.body["user"]["emailVerified"], true);
    assert_eq!(
        app.store
            .count_events("signin.succeeded", user.id)
            .await
            .unwrap(),
        1
    );

    // Single use.
    let (status, location) = follow(&app, &link).await;
    assert_eq!(status, 302);
    assert_eq!(param(&location, "error").as_deref(), Some("invalid-ticket"));
    assert_eq!(param(&location, "refreshToken"), None);

    // The second request for an existing user mails a new link; the newer one works.
    let res = ask(&app, "/signin/passwordless/email", &email, json!({})).await;
    assert_eq!(res.status, 200);
    let mails = wait_for_mails(&email, 2).await;
    let (status, location) = follow(&app, mails[1].header("X-Link")).await;
    assert_eq!((status, param(&location, "error")), (302, None));
}
both_backends!(magic_link_signs_a_new_user_in_once);

async fn email_code_signs_in_once_and_verifies_the_address(app: TestApp) {
    let app = app.with_smtp(&[OTP]).await;
    let email = address("otp");
    let code = mailed_code(&app, &email, 1).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let res = verify(&app, &email, wrong).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));
    let res = verify(&app, &email, &code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["email"], email.as_str());
    assert_eq!(res.body["session"]["user"]["emailVerified"], true);
    assert!(res.body["session"]["refreshToken"].is_string());
    let res = verify(&app, &email, &code).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-ticket"),
        "reused"
    );
    let res = verify(&app, &address("nobody"), &code).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-ticket"),
        "unknown"
    );
}
both_backends!(email_code_signs_in_once_and_verifies_the_address);

/// Five wrong guesses kill the code: the right one after them is refused too.
async fn a_code_dies_after_five_wrong_guesses(app: TestApp) {
    let app = app.with_smtp(&[OTP]).await;
    let email = address("guess");
    let code = mailed_code(&app, &email, 1).await;
    let wrong: Vec<String> = (0..5)
        .map(|i| format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .collect();
    for guess in &wrong {
        let res = verify(&app, &email, guess).await;
        assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));
    }
    let res = verify(&app, &email, &code).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-ticket"),
        "dead code"
    );
    let user = app.store.find_user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(
        app.store
            .count_events("otp.exhausted", user.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.store
            .count_events("signin.failed", user.id)
            .await
            .unwrap(),
        6
    );

    // A new code starts with five guesses again; four wrong ones leave the right one working.
    let code = mailed_code(&app, &email, 2).await;
    for guess in &wrong[..4] {
        if *guess != code {
            verify(&app, &email, guess).await;
        }
    }
    let res = verify(&app, &email, &code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
both_backends!(a_code_dies_after_five_wrong_guesses);

async fn codes_and_links_expire(app: TestApp) {
    let app = app
        .with_smtp(&[OTP, MAGIC, ("LATCHKEY_OTP_TTL", "60")])
        .await;
    let email = address("expiry");
    let code = mailed_code(&app, &email, 1).await;
    let res = ask(&app, "/signin/passwordless/email", &email, json!({})).await;
    assert_eq!(res.status, 200);
    let mails = wait_for_mails(&email, 2).await;
    app.advance(Duration::from_secs(61));
    let res = verify(&app, &email, &code).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));
    let (_, location) = follow(&app, mails[1].header("X-Link")).await;
    assert_eq!(param(&location, "error").as_deref(), Some("invalid-ticket"));
}
both_backends!(codes_and_links_expire);

/// Each kind has its own slot and redeems nowhere else: upstream's one `ticket` column lets
/// a magic-link ticket (or the `mfaTotp:` one) pass as an e-mail code, and lets a code
/// request destroy a pending magic link or verification.
async fn kinds_never_cross(app: TestApp) {
    let app = app.with_smtp(&[OTP, MAGIC]).await;
    let email = address("kinds");
    let res = ask(&app, "/signin/passwordless/email", &email, json!({})).await;
    assert_eq!(res.status, 200);
    let magic = wait_for_mail(&email).await;
    let ticket = magic.header("X-Ticket").to_owned();
    let code = mailed_code(&app, &email, 2).await;
    let res = verify(&app, &email, &ticket).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-ticket"),
        "ticket as code"
    );
    // The code request left the magic link in place, and the link leaves the code.
    let (status, location) = follow(&app, magic.header("X-Link")).await;
    assert_eq!(
        (status, param(&location, "error")),
        (302, None),
        "{location}"
    );
    let res = verify(&app, &email, &code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    // A code is no ticket for GET /verify.
    let link = format!(
        "{}/verify?ticket=passwordlessEmail:{code}&type=signinPasswordless&redirectTo=http://localhost:3000",
        app.base
    );
    let (_, location) = follow(&app, &link).await;
    assert_eq!(param(&location, "error").as_deref(), Some("invalid-ticket"));
}
both_backends!(kinds_never_cross);

async fn a_pending_verification_survives_a_code_request(app: TestApp) {
    let app = app
        .with_smtp(&[OTP, ("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true")])
        .await;
    let email = address("pending");
    let body = json!({ "email": email, "password": "correct horse battery" });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let verification = wait_for_mail(&email).await;
    assert_eq!(verification.header("X-Email-Template"), "email-verify");
    mailed_code(&app, &email, 2).await;
    let (status, location) = follow(&app, verification.header("X-Link")).await;
    assert_eq!(
        (status, param(&location, "error")),
        (302, None),
        "{location}"
    );
}
both_backends!(a_pending_verification_survives_a_code_request);

async fn sign_up_rules_apply_and_can_be_concealed(app: TestApp) {
    let app = app.with_smtp(&[OTP, MAGIC]).await;
    for path in ["/signin/passwordless/email", "/signin/otp/email"] {
        let res = ask(
            &app,
            path,
            &address("roles"),
            json!({ "allowedRoles": ["admin"] }),
        )
        .await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "role-not-allowed"),
            "{path}"
        );
        let res = ask(&app, path, "not-an-address", json!({})).await;
        assert_eq!(res.status, 400, "{path}");
    }
    app.change_env(&[("AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS", "blocked.test")])
        .await;
    let blocked = "someone@blocked.test";
    let res = ask(&app, "/signin/otp/email", blocked, json!({})).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-email-password")
    );
    app.change_env(&[("AUTH_DISABLE_SIGNUP", "true")]).await;
    let res = ask(
        &app,
        "/signin/passwordless/email",
        &address("late"),
        json!({}),
    )
    .await;
    assert_eq!((res.status, res.error_code()), (403, "signup-disabled"));

    // Concealed: the same "OK" as for an existing address, and no mail.
    app.change_env(&[("AUTH_CONCEAL_ERRORS", "true")]).await;
    let late = address("late2");
    for (path, email) in [
        ("/signin/otp/email", blocked.to_owned()),
        ("/signin/passwordless/email", late.clone()),
    ] {
        let res = ask(&app, path, &email, json!({})).await;
        assert_eq!((res.status, &res.body), (200, &json!("OK")), "{path}");
    }
    assert!(mails_to(&late).is_empty());
    assert!(app.store.find_user_by_email(&late).await.unwrap().is_none());

    app.change_env(&[
        ("AUTH_DISABLE_SIGNUP", "false"),
        ("AUTH_CONCEAL_ERRORS", "false"),
    ])
    .await;
    app.change_env(&[("AUTH_DISABLE_NEW_USERS", "true")]).await;
    let res = ask(
        &app,
        "/signin/passwordless/email",
        &address("new"),
        json!({}),
    )
    .await;
    assert_eq!((res.status, res.error_code()), (401, "disabled-user"));
}
both_backends!(sign_up_rules_apply_and_can_be_concealed);

async fn switched_off_by_default(app: TestApp) {
    for path in ["/signin/passwordless/email", "/signin/otp/email"] {
        let res = ask(&app, path, &address("off"), json!({})).await;
        assert_eq!(
            (res.status, res.error_code()),
            (409, "disabled-endpoint"),
            "{path}"
        );
    }
    let res = verify(&app, &address("off"), "123456").await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
}
both_backends!(switched_off_by_default);

async fn deanonymize_by_magic_link(app: TestApp) {
    let app = app
        .with_smtp(&[MAGIC, ("AUTH_ANONYMOUS_USERS_ENABLED", "true")])
        .await;
    let session = app.sign_in_anonymous().await;
    let token = session["accessToken"].as_str().unwrap();
    let refresh = session["refreshToken"].as_str().unwrap();
    let email = address("deanon");
    let body = json!({ "signInMethod": "passwordless", "connection": "email", "email": email, "password": "ignored1" });
    let res = app.post_bearer("/user/deanonymize", token, &body).await;
    assert_eq!(
        (res.status, &res.body),
        (200, &json!("OK")),
        "{:?}",
        res.body
    );
    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Email-Template"), "signin-passwordless");
    let res = app
        .post("/token", &json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(res.status, 401, "the anonymous session ended");
    let (status, location) = follow(&app, mail.header("X-Link")).await;
    assert_eq!(
        (status, param(&location, "error")),
        (302, None),
        "{location}"
    );
    let user = app.store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(!user.is_anonymous && user.email_verified);
}
both_backends!(deanonymize_by_magic_link);
