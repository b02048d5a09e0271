//! E-mail verification over real SMTP: the sink `scripts/test` runs receives each mail, and
//! the test follows its `X-Link` to `GET /verify` like a person clicking it.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::support::smtp::{self, address, mails_to, wait_for_mail, wait_for_mails};
use crate::support::{ORIGIN, SoftAuthenticator, TestApp};
use crate::webauthn::sign_in_by_email;

const REQUIRED: (&str, &str) = ("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true");
const CLIENT: &str = "http://localhost:3000";

/// Signs `email` up with a new passkey while verification is required: `{}`, and a mail.
async fn sign_up(app: &TestApp, email: &str, options: Value) -> SoftAuthenticator {
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let res = app
        .post("/signup/webauthn", &json!({ "email": email }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let credential = authenticator.register(&res.body).await;
    let body = json!({ "credential": credential, "options": options });
    let res = app.post("/signup/webauthn/verify", &body).await;
    assert_eq!(
        (res.status, &res.body),
        (200, &json!({})),
        "sign-up of {email}"
    );
    authenticator
}

/// GETs `link` (redirects are not followed): the status and the parsed `Location`.
async fn follow(app: &TestApp, link: &str) -> (u16, Option<Url>) {
    let res = app.client.get(link).send().await.unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|v| Url::parse(v.to_str().unwrap()).unwrap());
    (res.status().as_u16(), location)
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `link` with the query parameter `name` replaced (or removed, with `None`).
fn with_param(link: &str, name: &str, value: Option<&str>) -> String {
    let mut url = Url::parse(link).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .chain(value.map(|v| (name.to_owned(), v.to_owned())))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

/// A redirect to `target` carrying `error` and no session.
fn assert_redirected_with_error(res: (u16, Option<Url>), target: &str, error: &str, case: &str) {
    let location = res.1.unwrap_or_else(|| panic!("{case}: no Location"));
    assert_eq!(res.0, 302, "{case}");
    assert!(location.as_str().starts_with(target), "{case}: {location}");
    assert_eq!(param(&location, "error").as_deref(), Some(error), "{case}");
    assert!(param(&location, "errorDescription").is_some(), "{case}");
    assert_eq!(param(&location, "refreshToken"), None, "{case}");
}

/// Follows a good link: the refresh token from the redirect.
async fn redeem(app: &TestApp, link: &str) -> String {
    let (status, location) = follow(app, link).await;
    let location = location.expect("Location");
    assert_eq!(status, 302, "{location}");
    assert_eq!(param(&location, "error"), None, "{location}");
    assert_eq!(param(&location, "type").as_deref(), Some("verifyEmail"));
    param(&location, "refreshToken").expect("refreshToken in the redirect")
}

async fn user_id_of(app: &TestApp, email: &str) -> String {
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    user.id.to_string()
}

async fn verification_link_signs_in_and_unlocks_passkey_sign_in(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("ada");
    let redirect = "http://localhost:3000/welcome?from=mail";
    let options = json!({ "redirectTo": redirect, "displayName": "Ada O'Brien" });
    let mut authenticator = sign_up(&app, &email, options).await;

    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Email-Template"), "email-verify");
    assert_eq!(mail.header("X-Redirect-To"), redirect);
    assert_eq!(mail.header("Content-Type"), "text/html; charset=UTF-8");
    assert_eq!(mail.header("Subject"), "Verify your email");
    assert_eq!(
        mail.header("From"),
        "\"Latchkey Tests\" <auth@latchkey.test>"
    );
    assert_eq!(mail.header("To"), email);
    let ticket = mail.header("X-Ticket");
    let uuid = ticket
        .strip_prefix("verifyEmail:")
        .expect("verifyEmail ticket");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{ticket}");
    let link = mail.header("X-Link").to_owned();
    let url = Url::parse(&link).unwrap();
    assert!(link.starts_with(&format!("{}/verify?", app.base)), "{link}");
    assert_eq!(param(&url, "ticket").as_deref(), Some(ticket));
    assert_eq!(param(&url, "type").as_deref(), Some("emailVerify"));
    assert_eq!(param(&url, "redirectTo").as_deref(), Some(redirect));
    let body = mail.body();
    assert!(
        body.contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))),
        "{body}"
    );
    assert!(body.contains("Ada O&#39;Brien"), "escaped: {body}");

    let res = app
        .post("/signin/webauthn", &json!({ "email": email }))
        .await;
    assert_eq!((res.status, res.error_code()), (401, "unverified-user"));

    let (status, location) = follow(&app, &link).await;
    let location = location.unwrap();
    assert_eq!(status, 302);
    assert!(
        location
            .as_str()
            .starts_with("http://localhost:3000/welcome?"),
        "{location}"
    );
    assert_eq!(param(&location, "from").as_deref(), Some("mail"));
    assert_eq!(param(&location, "type").as_deref(), Some("verifyEmail"));
    let refresh = param(&location, "refreshToken").unwrap();
    let res = app
        .post("/token", &json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["user"]["emailVerified"], true);
    assert_eq!(res.body["user"]["id"], user_id_of(&app, &email).await);

    let session = sign_in_by_email(&app, &email, &mut authenticator).await;
    assert_eq!(session["user"]["emailVerified"], true);
}
both_backends!(verification_link_signs_in_and_unlocks_passkey_sign_in);

async fn a_ticket_works_once(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("once");
    sign_up(&app, &email, Value::Null).await;
    let link = wait_for_mail(&email).await.header("X-Link").to_owned();
    let user_id = user_id_of(&app, &email).await;
    // Clicked five times at once: exactly one click signs in, the others are refused.
    let clicks = futures::future::join_all((0..5).map(|_| follow(&app, &link))).await;
    let (winners, losers): (Vec<_>, Vec<_>) = clicks.into_iter().partition(|(_, to)| {
        to.as_ref()
            .is_some_and(|to| param(to, "refreshToken").is_some())
    });
    assert_eq!(winners.len(), 1, "{winners:?} {losers:?}");
    for click in losers {
        assert_redirected_with_error(click, CLIENT, "invalid-ticket", "concurrent use");
    }
    assert_eq!(app.sessions_of(&user_id).await, 1);
    let again = follow(&app, &link).await;
    assert_redirected_with_error(again, CLIENT, "invalid-ticket", "second use");
    assert_eq!(
        app.sessions_of(&user_id).await,
        1,
        "no session for a used ticket"
    );

    // AUTH_CONCEAL_ERRORS hides the reason in redirects too.
    app.change_env(&[("AUTH_CONCEAL_ERRORS", "true")]).await;
    let concealed = follow(&app, &link).await;
    assert_redirected_with_error(concealed, CLIENT, "invalid-request", "concealed");
}
both_backends!(a_ticket_works_once);

async fn an_expired_ticket_is_refused(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("late");
    sign_up(&app, &email, Value::Null).await;
    let link = wait_for_mail(&email).await.header("X-Link").to_owned();
    app.advance(Duration::from_secs(31 * 24 * 3600));
    let res = follow(&app, &link).await;
    assert_redirected_with_error(res, CLIENT, "invalid-ticket", "31 days later");
    let user = app.store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(!user.email_verified);
    assert_eq!(app.sessions_of(&user.id.to_string()).await, 0);
}
both_backends!(an_expired_ticket_is_refused);

async fn forged_and_foreign_tickets_are_refused(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("forge");
    sign_up(&app, &email, Value::Null).await;
    let mail = wait_for_mail(&email).await;
    let (link, ticket) = (mail.header("X-Link"), mail.header("X-Ticket"));
    let uuid = ticket.trim_start_matches("verifyEmail:");
    let stored_form = format!("verifyEmail:{}", hex::encode(Sha256::digest(ticket)));
    let cases = [
        ("another kind, same value", format!("passwordReset:{uuid}")),
        ("magic-link kind", format!("passwordlessEmail:{uuid}")),
        ("unknown kind", format!("magic:{uuid}")),
        ("no kind", uuid.to_owned()),
        ("kind in other case", format!("VerifyEmail:{uuid}")),
        (
            "someone else's",
            format!("verifyEmail:{}", uuid::Uuid::new_v4()),
        ),
        ("the stored hash", stored_form),
        ("empty", String::new()),
    ];
    for (case, forged) in &cases {
        let res = follow(&app, &with_param(link, "ticket", Some(forged))).await;
        assert_redirected_with_error(res, CLIENT, "invalid-ticket", case);
    }
    // None of that used the real ticket up.
    redeem(&app, link).await;
}
both_backends!(forged_and_foreign_tickets_are_refused);

async fn verify_checks_redirect_to_before_the_ticket(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("redirect");
    sign_up(&app, &email, Value::Null).await;
    let link = wait_for_mail(&email).await.header("X-Link").to_owned();

    let foreign = with_param(&link, "redirectTo", Some("https://evil.example/steal"));
    let res = follow(&app, &foreign).await;
    assert_redirected_with_error(res, CLIENT, "redirectTo-not-allowed", "foreign host");

    for (case, bad) in [
        (
            "unparsable redirectTo",
            with_param(&link, "redirectTo", Some("not a url")),
        ),
        ("no redirectTo", with_param(&link, "redirectTo", None)),
        ("no ticket", with_param(&link, "ticket", None)),
    ] {
        let res = app.send(app.client.get(&bad)).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{case}"
        );
    }
    redeem(&app, &link).await;
}
both_backends!(verify_checks_redirect_to_before_the_ticket);

async fn smtp_down_at_sign_up_keeps_the_user_and_resending_works(app: TestApp) {
    let closed = smtp::closed_port().to_string();
    let app = app
        .with_smtp(&[REQUIRED, ("AUTH_SMTP_PORT", &closed)])
        .await;
    let email = address("down");
    let mut authenticator = sign_up(&app, &email, Value::Null).await;
    let user = app.store.find_user_by_email(&email).await.unwrap();
    assert!(user.is_some_and(|u| !u.email_verified), "the user is kept");

    app.change_env(&[("AUTH_SMTP_PORT", &smtp::port())]).await;
    let again = "http://localhost:3000/again";
    let body = json!({ "email": email.to_uppercase(), "options": { "redirectTo": again } });
    let res = app.post("/user/email/send-verification-email", &body).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Redirect-To"), again);
    redeem(&app, mail.header("X-Link")).await;
    sign_in_by_email(&app, &email, &mut authenticator).await;
}
both_backends!(smtp_down_at_sign_up_keeps_the_user_and_resending_works);

async fn resending_replaces_the_ticket(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("resend");
    sign_up(&app, &email, Value::Null).await;
    wait_for_mail(&email).await;
    let res = app
        .post(
            "/user/email/send-verification-email",
            &json!({ "email": email }),
        )
        .await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    let mails = wait_for_mails(&email, 2).await;
    let (first, second) = (mails[0].header("X-Link"), mails[1].header("X-Link"));
    assert_ne!(first, second);
    let res = follow(&app, first).await;
    assert_redirected_with_error(res, CLIENT, "invalid-ticket", "replaced ticket");
    redeem(&app, second).await;
}
both_backends!(resending_replaces_the_ticket);

async fn send_verification_email_answers_alike_and_mails_only_unverified_users(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let unknown = address("unknown");
    let verified = address("verified");
    sign_up(&app, &verified, Value::Null).await;
    redeem(&app, wait_for_mail(&verified).await.header("X-Link")).await;
    // A user created disabled gets a ticket but no mail.
    let disabled = address("disabled");
    app.change_env(&[("AUTH_DISABLE_NEW_USERS", "true")]).await;
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let options = app
        .post("/signup/webauthn", &json!({ "email": disabled }))
        .await;
    let credential = authenticator.register(&options.body).await;
    let res = app
        .post(
            "/signup/webauthn/verify",
            &json!({ "credential": credential }),
        )
        .await;
    assert_eq!((res.status, res.error_code()), (401, "disabled-user"));
    app.change_env(&[("AUTH_DISABLE_NEW_USERS", "false")]).await;
    let pending = address("pending");
    sign_up(&app, &pending, Value::Null).await;
    wait_for_mail(&pending).await;

    for email in [&unknown, &verified, &disabled, &pending] {
        let res = app
            .post(
                "/user/email/send-verification-email",
                &json!({ "email": email }),
            )
            .await;
        assert_eq!((res.status, &res.body), (200, &json!("OK")), "{email}");
    }
    // The pending user's second mail went out after the others' requests: by the time it
    // arrives, any mail to them would have too.
    wait_for_mails(&pending, 2).await;
    assert!(mails_to(&unknown).is_empty(), "unknown address");
    assert_eq!(
        mails_to(&verified).len(),
        1,
        "verified user: only the sign-up mail"
    );
    assert!(mails_to(&disabled).is_empty(), "disabled user");

    for (case, body, code) in [
        (
            "not an address",
            json!({ "email": "nobody" }),
            "invalid-request",
        ),
        (
            "unknown field",
            json!({ "email": pending, "x": 1 }),
            "invalid-request",
        ),
        (
            "foreign redirect",
            json!({ "email": pending, "options": { "redirectTo": "https://evil.example/" } }),
            "redirectTo-not-allowed",
        ),
    ] {
        let res = app.post("/user/email/send-verification-email", &body).await;
        assert_eq!((res.status, res.error_code()), (400, code), "{case}");
    }
}
both_backends!(send_verification_email_answers_alike_and_mails_only_unverified_users);

/// Without `redirectTo` the default is `AUTH_CLIENT_URL` exactly as configured, no `/` added:
/// in `X-Redirect-To`, in the link, and in the `/verify` redirects (upstream prints it with
/// Go's `url.URL`, which keeps an empty path empty).
async fn default_redirect_is_the_client_url_as_configured(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("default-redirect");
    sign_up(&app, &email, Value::Null).await;
    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Redirect-To"), "http://localhost:3000");
    let link = mail.header("X-Link").to_owned();
    let redirect = param(&Url::parse(&link).unwrap(), "redirectTo");
    assert_eq!(redirect.as_deref(), Some("http://localhost:3000"));
    let location = |res: reqwest::Response| {
        assert_eq!(res.status(), 302);
        res.headers()["location"].to_str().unwrap().to_owned()
    };
    let foreign = with_param(&link, "redirectTo", Some("https://evil.example/steal"));
    let refused = location(app.client.get(&foreign).send().await.unwrap());
    assert!(
        refused.starts_with("http://localhost:3000?error=redirectTo-not-allowed&"),
        "{refused}"
    );
    let signed_in = location(app.client.get(&link).send().await.unwrap());
    assert!(
        signed_in.starts_with("http://localhost:3000?refreshToken="),
        "{signed_in}"
    );

    // A configured trailing slash is kept too.
    let slash = app
        .with_smtp(&[REQUIRED, ("AUTH_CLIENT_URL", "http://localhost:3000/")])
        .await;
    let email = address("slash-redirect");
    sign_up(&slash, &email, Value::Null).await;
    let mail = wait_for_mail(&email).await;
    assert_eq!(mail.header("X-Redirect-To"), "http://localhost:3000/");
    let signed_in = location(
        slash
            .client
            .get(mail.header("X-Link"))
            .send()
            .await
            .unwrap(),
    );
    assert!(
        signed_in.starts_with("http://localhost:3000/?refreshToken="),
        "{signed_in}"
    );
}
both_backends!(default_redirect_is_the_client_url_as_configured);
