//! SMS sign-in codes (issue #17) against a Twilio-shaped service on a real socket
//! (`support::fake_sms`; the other providers are in `sms_providers`): codes once, five
//! guesses, expiry, E.164 numbers, the sign-up rules, phone-only users on bearer endpoints, failed sends that
//! leave nothing usable, and codes that never cross with e-mail ones.

use std::time::Duration;

use latchkey::model::UserId;
use serde_json::{Value, json};

use crate::support::fake_sms::{FakeSms, code_in};
use crate::support::{Res, TestApp};

pub(crate) const NUMBER: &str = "+33612345678";
pub(crate) const SPACED: &str = "+33 6 12 34 56 78";
pub(crate) const OTHER: &str = "+33698765432";
pub(crate) const SPACED_OTHER: &str = "+33 6 98 76 54 32";
pub(crate) const REQUIRE_VERIFIED: (&str, &str) =
    ("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true");

/// A server over `app`'s database with the provider's variables and `extra` on top.
pub(crate) async fn with(
    app: &TestApp,
    vars: Vec<(&'static str, String)>,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    app.restart_with(&all).await
}

pub(crate) async fn ask(app: &TestApp, number: &str, options: Value) -> Res {
    let body = json!({ "phoneNumber": number, "options": options });
    app.post("/signin/passwordless/sms", &body).await
}

pub(crate) async fn verify(app: &TestApp, number: &str, otp: &str) -> Res {
    let body = json!({ "phoneNumber": number, "otp": otp });
    app.post("/signin/passwordless/sms/otp", &body).await
}

pub(crate) fn assert_ok(res: &Res, what: &str) {
    assert_eq!((res.status, &res.body), (200, &json!("OK")), "{what}");
}

pub(crate) fn assert_bad_code(res: &Res, what: &str) {
    assert_eq!(
        (res.status, res.error_code()),
        (400, "invalid-request"),
        "{what}"
    );
}

/// A right guess's neighbour: certainly wrong.
pub(crate) fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

pub(crate) async fn user_id(app: &TestApp, number: &str) -> UserId {
    let user = app.store.find_user_by_phone(number).await.unwrap();
    user.expect("a user with the number").id
}

async fn sms_code_signs_a_new_user_in_once(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.twilio_vars(), &[REQUIRE_VERIFIED]).await;
    assert_ok(&ask(&app, SPACED, json!({})).await, "first request");
    let texts = fake.texts_to(NUMBER);
    assert_eq!(
        texts.len(),
        1,
        "sent to the E.164 number: {:?}",
        fake.texts()
    );
    assert_eq!(texts[0].sender_field, "MessagingServiceSid");
    let code = code_in(&texts[0].body);
    assert_eq!(texts[0].body, format!("Your code is {code}."));
    let user = app.store.find_user_by_phone(NUMBER).await.unwrap().unwrap();
    assert_eq!(
        (user.email.as_deref(), user.display_name.as_str()),
        (None, NUMBER)
    );
    assert!(!user.phone_number_verified);

    let res = verify(&app, NUMBER, &code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let session = &res.body["session"];
    assert_eq!(session["user"]["phoneNumber"], NUMBER);
    assert_eq!(session["user"]["phoneNumberVerified"], true);
    let user_after = app.store.get_user(user.id).await.unwrap().unwrap();
    assert!(user_after.phone_number_verified);
    assert_bad_code(&verify(&app, NUMBER, &code).await, "second use");
    assert_eq!(
        app.store
            .count_events("signin.succeeded", user.id)
            .await
            .unwrap(),
        1
    );

    // Another spelling is the same user; a new code replaces the previous one.
    assert_ok(&ask(&app, NUMBER, json!({})).await, "second request");
    let first = fake.last_code(NUMBER);
    assert_ok(&ask(&app, "+33 612 345 678", json!({})).await, "third");
    let second = fake.last_code(NUMBER);
    assert_eq!(fake.texts_to(NUMBER).len(), 3);
    assert_eq!(user_id(&app, NUMBER).await, user.id);
    if first != second {
        assert_bad_code(&verify(&app, NUMBER, &first).await, "replaced code");
    }
    let res = verify(&app, SPACED, &second).await;
    assert_eq!(
        res.status, 200,
        "verify with another spelling: {:?}",
        res.body
    );
    assert_eq!(
        res.body["session"]["user"]["id"],
        json!(user.id.to_string())
    );
    // A sender number (not a Messaging Service) goes as `From`.
    app.change_env(&[("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID", "+15005550006")])
        .await;
    assert_ok(&ask(&app, NUMBER, json!({})).await, "from a number");
    assert_eq!(fake.texts_to(NUMBER).last().unwrap().sender_field, "From");
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
}
both_backends!(sms_code_signs_a_new_user_in_once);

/// `GET /user`, refresh and the bearer checks hold a phone-only user to its number: the
/// e-mail verification requirement and the e-mail lists do not lock it out (upstream: 401).
async fn phone_only_users_pass_bearer_checks(app: TestApp) {
    let fake = FakeSms::start().await;
    let allow = ("AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS", "example.com");
    let app = with(&app, fake.twilio_vars(), &[REQUIRE_VERIFIED, allow]).await;
    assert_ok(&ask(&app, NUMBER, json!({})).await, "request");
    let res = verify(&app, NUMBER, &fake.last_code(NUMBER)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let token = res.body["session"]["accessToken"].as_str().unwrap();
    let refresh = res.body["session"]["refreshToken"].as_str().unwrap();
    let me = app.get("/user", Some(token)).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["phoneNumber"], NUMBER);
    assert_eq!(me.body["phoneNumberVerified"], true);
    let res = app
        .post("/token", &json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(res.status, 200, "refresh: {:?}", res.body);
    let token = res.body["accessToken"].as_str().unwrap();
    assert_eq!(app.get("/user", Some(token)).await.status, 200);
    // Disabling still ends it: the checks run, they just judge the number.
    app.change_env(&[("AUTH_DISABLE_NEW_USERS", "true")]).await;
    let res = ask(&app, OTHER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (401, "disabled-user"));
    assert!(
        fake.texts_to(OTHER).is_empty(),
        "nothing texted to a disabled user"
    );
    let disabled = user_id(&app, OTHER).await;
    let user = app.store.get_user(disabled).await.unwrap().unwrap();
    assert!(user.disabled && !user.phone_number_verified);
}
both_backends!(phone_only_users_pass_bearer_checks);

async fn five_wrong_guesses_kill_the_code(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.twilio_vars(), &[]).await;
    assert_ok(&ask(&app, NUMBER, json!({})).await, "request");
    let code = fake.last_code(NUMBER);
    let id = user_id(&app, NUMBER).await;
    for guess in 1..=5 {
        assert_bad_code(
            &verify(&app, NUMBER, &wrong(&code)).await,
            &format!("guess {guess}"),
        );
    }
    assert_bad_code(&verify(&app, NUMBER, &code).await, "right, but too late");
    assert_eq!(
        app.store.count_events("otp.exhausted", id).await.unwrap(),
        1
    );
    assert_eq!(
        app.store.count_events("signin.failed", id).await.unwrap(),
        6
    );
    assert_eq!(
        app.store
            .count_events("signin.succeeded", id)
            .await
            .unwrap(),
        0
    );
    // A new code starts with five guesses again.
    assert_ok(&ask(&app, NUMBER, json!({})).await, "new request");
    let res = verify(&app, NUMBER, &fake.last_code(NUMBER)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
both_backends!(five_wrong_guesses_kill_the_code);

async fn codes_expire(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.twilio_vars(), &[("LATCHKEY_OTP_TTL", "60")]).await;
    assert_ok(&ask(&app, NUMBER, json!({})).await, "request");
    let code = fake.last_code(NUMBER);
    app.advance(Duration::from_secs(61));
    assert_bad_code(&verify(&app, NUMBER, &code).await, "expired");
}
both_backends!(codes_expire);

async fn numbers_are_checked(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.twilio_vars(), &[]).await;
    for bad in ["+33 12", "0612345678", "+33612345678901234", "phone", ""] {
        let res = ask(&app, bad, json!({})).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{bad:?}"
        );
        assert_bad_code(&verify(&app, bad, "123456").await, bad);
    }
    let res = app
        .post("/signin/passwordless/sms", &json!({ "phone": NUMBER }))
        .await;
    assert_eq!(res.status, 400, "unknown field");
    assert!(fake.texts().is_empty());
    assert_bad_code(&verify(&app, OTHER, "123456").await, "no such user");
}
both_backends!(numbers_are_checked);

async fn switched_off_by_default(app: TestApp) {
    let fake = FakeSms::start().await;
    let mut vars = fake.twilio_vars();
    vars.retain(|(k, _)| *k != "AUTH_SMS_PASSWORDLESS_ENABLED");
    let app = with(&app, vars, &[]).await;
    let res = ask(&app, NUMBER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
    let res = verify(&app, NUMBER, "123456").await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
    assert!(fake.texts().is_empty());
}
both_backends!(switched_off_by_default);

async fn sign_up_rules_apply(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.twilio_vars(), &[]).await;
    let res = ask(&app, NUMBER, json!({ "allowedRoles": ["admin"] })).await;
    assert_eq!((res.status, res.error_code()), (400, "role-not-allowed"));
    let res = ask(&app, NUMBER, json!({ "redirectTo": "https://evil.test/" })).await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "redirectTo-not-allowed")
    );
    assert!(fake.texts().is_empty());
    assert!(
        app.store
            .find_user_by_phone(NUMBER)
            .await
            .unwrap()
            .is_none()
    );

    let options = json!({ "displayName": "Ada", "locale": "fr", "metadata": { "a": 1 } });
    app.change_env(&[("AUTH_LOCALE_ALLOWED_LOCALES", "en,fr")])
        .await;
    assert_ok(&ask(&app, NUMBER, options).await, "with options");
    let user = app.store.find_user_by_phone(NUMBER).await.unwrap().unwrap();
    assert_eq!(
        (user.display_name.as_str(), user.locale.as_str()),
        ("Ada", "fr")
    );
    assert!(fake.texts_to(NUMBER)[0].body.starts_with("Votre code est "));

    app.change_env(&[("AUTH_DISABLE_SIGNUP", "true")]).await;
    let res = ask(&app, OTHER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (403, "signup-disabled"));
    assert!(app.store.find_user_by_phone(OTHER).await.unwrap().is_none());
    assert_ok(
        &ask(&app, NUMBER, json!({})).await,
        "an existing user still gets codes",
    );
    assert_eq!(fake.texts_to(NUMBER).len(), 2);

    app.change_env(&[("AUTH_CONCEAL_ERRORS", "true")]).await;
    assert_ok(&ask(&app, OTHER, json!({})).await, "concealed");
    assert!(fake.texts_to(OTHER).is_empty());
    assert!(app.store.find_user_by_phone(OTHER).await.unwrap().is_none());
}
both_backends!(sign_up_rules_apply);

/// A refused SMS leaves neither a user nor a usable code; the previous code, whose SMS did
/// arrive, still works.
async fn a_failed_send_leaves_nothing_usable(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.twilio_vars(), &[]).await;
    fake.fail(true);
    let res = ask(&app, NUMBER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (400, "cannot-send-sms"));
    assert_eq!(
        res.body["message"],
        "Cannot send SMS, check your phone number is correct"
    );
    assert!(
        app.store
            .find_user_by_phone(NUMBER)
            .await
            .unwrap()
            .is_none()
    );
    assert_bad_code(
        &verify(&app, NUMBER, &fake.last_code(NUMBER)).await,
        "unsent, new user",
    );

    fake.fail(false);
    assert_ok(&ask(&app, NUMBER, json!({})).await, "sent");
    let delivered = fake.last_code(NUMBER);
    fake.fail(true);
    let res = ask(&app, NUMBER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (400, "cannot-send-sms"));
    let unsent = fake.last_code(NUMBER);
    if unsent != delivered {
        assert_bad_code(
            &verify(&app, NUMBER, &unsent).await,
            "unsent, existing user",
        );
    }
    let res = verify(&app, NUMBER, &delivered).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
both_backends!(a_failed_send_leaves_nothing_usable);

/// One user with both an address and a number: an SMS code is no e-mail code, nor the
/// reverse, and asking for one leaves the other in place.
async fn kinds_never_cross(app: TestApp, set_phone: impl AsyncFnOnce(UserId, &str)) {
    let fake = FakeSms::start().await;
    let app = with(
        &app,
        fake.twilio_vars(),
        &[("AUTH_OTP_EMAIL_ENABLED", "true")],
    )
    .await;
    let email = "both@example.test";
    let res = app
        .post("/signin/otp/email", &json!({ "email": email }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    set_phone(user.id, NUMBER).await;
    let mail_code = mailed_code(&app).await;
    assert_ok(&ask(&app, NUMBER, json!({})).await, "SMS request");
    let sms_code = fake.last_code(NUMBER);
    assert_eq!(user_id(&app, NUMBER).await, user.id, "no second user");
    if sms_code != mail_code {
        assert_bad_code(
            &verify(&app, NUMBER, &mail_code).await,
            "e-mail code by SMS",
        );
        let res = app
            .post(
                "/signin/otp/email/verify",
                &json!({ "email": email, "otp": sms_code }),
            )
            .await;
        assert_eq!(
            (res.status, res.error_code()),
            (401, "invalid-ticket"),
            "SMS code by e-mail"
        );
    }
    let res = verify(&app, NUMBER, &sms_code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app
        .post(
            "/signin/otp/email/verify",
            &json!({ "email": email, "otp": mail_code }),
        )
        .await;
    assert_eq!(res.status, 200, "the e-mail code survived: {:?}", res.body);
}

/// The code in the one mail recorded, waiting (bounded) for the outbox to deliver it.
async fn mailed_code(app: &TestApp) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Some(mail) = app.mailer.sent().pop() {
            return mail.header("X-Ticket").unwrap().to_owned();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends_setting_phone!(kinds_never_cross);

/// The send endpoint fills the SMS bucket; its `/otp` does not (it is brute-force counted).
async fn texts_are_rate_limited(app: TestApp) {
    let fake = FakeSms::start().await;
    let limits = [
        ("AUTH_RATE_LIMIT_ENABLE", "true"),
        ("AUTH_RATE_LIMIT_SMS_BURST", "2"),
        ("AUTH_RATE_LIMIT_BRUTE_FORCE_BURST", "100"),
    ];
    let app = with(&app, fake.twilio_vars(), &limits).await;
    for n in 0..2 {
        assert_ok(&ask(&app, NUMBER, json!({})).await, &format!("request {n}"));
    }
    for n in 0..3 {
        assert_bad_code(
            &verify(&app, NUMBER, "000000x").await,
            &format!("guess {n}"),
        );
    }
    let res = ask(&app, NUMBER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (429, "too-many-requests"));
    assert_eq!(fake.texts().len(), 2);
}
both_backends!(texts_are_rate_limited);
