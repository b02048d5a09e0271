//! E-mail access control (`AUTH_ACCESS_CONTROL_*`) for users who already exist: an address
//! blocked, or no longer allowed, since sign-up is refused with 401 `invalid-email-password`
//! at every sign-in, at `/token` and on bearer routes, as upstream's `ValidateUser` does.

use serde_json::{Value, json};

use crate::support::{ORIGIN, Res, SoftAuthenticator, TestApp};

const PASSWORD: &str = "correct horse";

/// A user with a password and a passkey, and a session from signing up.
struct Account {
    email: String,
    session: Value,
    authenticator: SoftAuthenticator,
}

impl Account {
    fn token(&self) -> &str {
        self.session["accessToken"].as_str().unwrap()
    }
}

async fn account(app: &TestApp, email: &str) -> Account {
    let body = json!({ "email": email, "password": PASSWORD });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let session = res.body["session"].clone();
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let token = session["accessToken"].as_str().unwrap();
    app.add_key_with(token, &mut authenticator, None).await;
    Account {
        email: email.to_owned(),
        session,
        authenticator,
    }
}

async fn password_sign_in(app: &TestApp, email: &str) -> Res {
    let body = json!({ "email": email, "password": PASSWORD });
    app.post("/signin/email-password", &body).await
}

/// Every way in for `who`, each with its answer: password, passkey by e-mail (options),
/// discoverable passkey (verify), refresh, and bearer routes with the sign-up session.
async fn every_way_in(app: &TestApp, who: &mut Account) -> Vec<(&'static str, Res)> {
    let mut answers = vec![("password sign-in", password_sign_in(app, &who.email).await)];
    let res = app
        .post("/signin/webauthn", &json!({ "email": who.email }))
        .await;
    answers.push(("passkey options by e-mail", res));
    let options = app.post("/signin/webauthn", &json!({})).await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let assertion = who.authenticator.assert(&options.body).await;
    let body = json!({ "credential": assertion });
    let res = app.post("/signin/webauthn/verify", &body).await;
    answers.push(("discoverable passkey sign-in", res));
    let token = who.token().to_owned();
    answers.push(("GET /user", app.get("/user", Some(&token)).await));
    let res = app.post_bearer("/token/verify", &token, &json!({})).await;
    answers.push(("POST /token/verify", res));
    let res = app
        .post_bearer("/elevate/webauthn", &token, &json!({}))
        .await;
    answers.push(("POST /elevate/webauthn", res));
    let res = app
        .post_bearer("/user/webauthn/add", &token, &json!({}))
        .await;
    answers.push(("POST /user/webauthn/add", res));
    answers.push((
        "GET /user/webauthn/keys",
        app.get("/user/webauthn/keys", Some(&token)).await,
    ));
    // Last: a refused refresh uses the token up.
    let refresh = json!({ "refreshToken": who.session["refreshToken"] });
    answers.push(("POST /token", app.post("/token", &refresh).await));
    answers
}

async fn existing_users_are_refused_once_the_lists_exclude_them(app: TestApp) {
    let cases = [
        (
            "blocked address",
            "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS",
            "{email}",
        ),
        (
            "blocked domain",
            "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS",
            "example.test",
        ),
        (
            "allow-list of others",
            "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS",
            "vip@example.test",
        ),
        (
            "allowed domains exclude it",
            "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS",
            "other.test",
        ),
    ];
    for (i, (case, variable, value)) in cases.into_iter().enumerate() {
        let email = format!("user{i}@example.test");
        let mut who = account(&app, &email).await;
        let user_id = who.session["user"]["id"].as_str().unwrap().to_owned();
        let sessions = app.sessions_of(&user_id).await;
        for (way, res) in every_way_in(&app, &mut who).await {
            assert!(
                res.status < 300,
                "{case}, {way}: allowed first: {:?}",
                res.body
            );
        }
        who.session = password_sign_in(&app, &email).await.body["session"].clone();
        let sessions_before = app.sessions_of(&user_id).await;
        assert!(sessions_before > sessions, "{case}");
        app.change_env(&[(variable, &value.replace("{email}", &email))])
            .await;
        for (way, res) in every_way_in(&app, &mut who).await {
            assert_eq!(
                (res.status, res.error_code()),
                (401, "invalid-email-password"),
                "{case}, {way}"
            );
        }
        assert_eq!(
            app.sessions_of(&user_id).await,
            sessions_before,
            "{case}: no session added"
        );
        app.change_env(&[(variable, "")]).await;
        let res = password_sign_in(&app, &email).await;
        assert_eq!(res.status, 200, "{case}: allowed again: {:?}", res.body);
    }
}
both_backends!(existing_users_are_refused_once_the_lists_exclude_them);

/// Anonymous users have no address for the lists to judge: an allow-list leaves them be.
async fn anonymous_users_are_not_judged_by_the_e_mail_lists(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    app.change_env(&[("AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS", "other.test")])
        .await;
    let token = session["accessToken"].as_str().unwrap();
    let res = app.get("/user/audit", Some(token)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get("/user", Some(token)).await;
    assert_eq!(
        (res.status, res.error_code()),
        (403, "forbidden-anonymous"),
        "anonymous, as without lists"
    );
    let refresh = json!({ "refreshToken": session["refreshToken"] });
    let res = app.post("/token", &refresh).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(app.sign_in_anonymous().await["user"]["isAnonymous"], true);
}
both_backends!(anonymous_users_are_not_judged_by_the_e_mail_lists);

/// An e-mail link signs in too: once the address is blocked, `/verify` redirects with the
/// error and leaves no session.
async fn verify_links_of_blocked_addresses_sign_no_one_in(app: TestApp) {
    app.change_env(&[("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true")])
        .await;
    let body = json!({ "email": "ada@example.test", "password": PASSWORD });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!((res.status, &res.body), (200, &json!({})));
    let mail = app.mailer.sent().pop().unwrap();
    let link = url::Url::parse(mail.header("X-Link").unwrap()).unwrap();
    let local = format!("{}{}?{}", app.base, link.path(), link.query().unwrap());
    app.change_env(&[("AUTH_ACCESS_CONTROL_BLOCKED_EMAILS", "ada@example.test")])
        .await;
    let res = app.client.get(&local).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let query: Vec<_> = location
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert!(!query.contains(&"refreshToken".to_owned()), "{location}");
    let error = location
        .query_pairs()
        .find(|(k, _)| k == "error")
        .unwrap()
        .1;
    assert_eq!(error, "invalid-email-password");
    assert_eq!(app.sessions_of(&mail.user_id.to_string()).await, 0);
}
both_backends!(verify_links_of_blocked_addresses_sign_no_one_in);
