//! The playground page at `/` (`AUTH_PLAYGROUND_ENABLED`) and its origin in ceremonies.

use serde_json::json;

use latchkey::mail::Mailer as _;

use crate::sms;
use crate::support::TestApp;
use crate::support::authenticator::SoftAuthenticator;
use crate::support::fake_sms::FakeSms;

/// The server's own origin with the test defaults (`AUTH_SERVER_URL` unset, port 4000).
const SERVER_ORIGIN: &str = "http://localhost:4000";

async fn fetch(app: &TestApp, path: &str) -> (u16, String, String) {
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

async fn playground_is_served_and_its_origin_accepted(app: TestApp) {
    let (status, content_type, page) = fetch(&app, "/").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains(r#"<meta name="latchkey-api-prefix" content="">"#));
    assert!(page.contains(r#"src="/playground/app.js""#));
    let (status, content_type, script) = fetch(&app, "/playground/app.js").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert!(script.contains("signUpWebauthn"), "the v4 SDK bundle");

    // Its "read more" links go to the book under /book/: the built book when `scripts/docs`
    // has written docs/book (paths relative to the working directory), else a note.
    assert!(page.contains(r#"href="/book/sign-in/passkeys.html""#));
    let (status, _, book) = fetch(&app, "/book/").await;
    if std::path::Path::new("docs/book/index.html").exists() {
        assert_eq!(status, 200);
    } else {
        assert_eq!(status, 404);
        assert!(book.contains("./scripts/docs"), "{book}");
    }

    // The page runs ceremonies from the server's origin: accepted while it is served.
    let (session, _) = app
        .sign_up_with(
            "playground@example.test",
            SoftAuthenticator::new(SERVER_ORIGIN),
        )
        .await;
    assert!(session["accessToken"].is_string(), "{session}");

    app.change_env(&[("AUTH_PLAYGROUND_ENABLED", "false")])
        .await;
    assert_eq!(fetch(&app, "/").await.0, 404);
    assert_eq!(fetch(&app, "/playground/app.js").await.0, 404);
    assert_eq!(
        fetch(&app, "/book/").await,
        (404, String::new(), String::new())
    );
    let options = app
        .post(
            "/signup/webauthn",
            &json!({ "email": "no-playground@example.test" }),
        )
        .await;
    let credential = SoftAuthenticator::new(SERVER_ORIGIN)
        .register(&options.body)
        .await;
    let refused = app
        .post(
            "/signup/webauthn/verify",
            &json!({ "credential": credential }),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
}
both_backends!(playground_is_served_and_its_origin_accepted);

async fn playground_sits_at_the_root_under_an_api_prefix(app: TestApp) {
    let prefixed = app.restart_with(&[("AUTH_API_PREFIX", "/v1")]).await;
    let (status, _, page) = fetch(&prefixed, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<meta name="latchkey-api-prefix" content="/v1">"#));
    assert_eq!(fetch(&prefixed, "/playground/app.js").await.0, 200);
}
both_backends!(playground_sits_at_the_root_under_an_api_prefix);

/// The development inbox lists the mails written to files, newest first, and is served only
/// with the playground on, mail going to files, and a client on this machine.
async fn the_dev_inbox_is_for_this_machine_only(app: TestApp) {
    let dir = std::env::temp_dir().join(format!("latchkey-inbox-{}", uuid::Uuid::new_v4()));
    let dir_var = dir.to_string_lossy().into_owned();
    let app = app
        .restart_with(&[
            ("LATCHKEY_MAIL_DIR", dir_var.as_str()),
            ("LATCHKEY_TRUSTED_PROXIES", "127.0.0.1/32"),
        ])
        .await;
    let (status, content_type, body) = fetch(&app, "/playground/inbox").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(body, "[]", "nothing written yet");

    // Through a trusted proxy, from another machine: as if it did not exist.
    let remote = app
        .client
        .get(format!("{}/playground/inbox", app.base))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(remote.status().as_u16(), 404);
    let local = app
        .client
        .get(format!("{}/playground/inbox", app.base))
        .header("x-forwarded-for", "127.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(local.status().as_u16(), 200);

    // Mail going to an SMTP server: no inbox.
    let smtp = app.with_smtp(&[]).await;
    assert_eq!(fetch(&smtp, "/playground/inbox").await.0, 404);
    smtp.stop().await;

    app.change_env(&[("AUTH_PLAYGROUND_ENABLED", "false")])
        .await;
    assert_eq!(fetch(&app, "/playground/inbox").await.0, 404);
    let _ = std::fs::remove_dir_all(&dir);
}
both_backends!(the_dev_inbox_is_for_this_machine_only);

/// With SMS sign-in on and the `dev` provider, the inbox lists the texts it wrote beside the
/// mails, newest first, each with its kind; a real provider's texts are never listed.
async fn the_dev_inbox_lists_texts_beside_mails(app: TestApp) {
    let dir = std::env::temp_dir().join(format!("latchkey-inbox-{}", uuid::Uuid::new_v4()));
    let (mail_dir, sms_dir) = (dir.join("mail"), dir.join("sms"));
    let (mail_var, sms_var) = (
        mail_dir.display().to_string(),
        sms_dir.display().to_string(),
    );
    let dirs = [
        ("LATCHKEY_MAIL_DIR", mail_var.as_str()),
        ("LATCHKEY_SMS_DIR", sms_var.as_str()),
        ("AUTH_SMS_PASSWORDLESS_ENABLED", "true"),
    ];
    let mut vars = dirs.to_vec();
    vars.push(("AUTH_EMAIL_PASSWORDLESS_ENABLED", "true"));
    let app = app.restart_with(&vars).await;

    // A magic-link mail, written to the folder by the file mailer (the test server records
    // its mail), then two texts from the `dev` provider.
    let res = app
        .post(
            "/signin/passwordless/email",
            &json!({ "email": "inbox@example.test" }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let mail = recorded_mail(&app).await;
    latchkey::mail::FileMailer::new(mail_dir.clone())
        .deliver(&mail)
        .await
        .unwrap();
    for number in [sms::NUMBER, sms::SPACED_OTHER] {
        next_millisecond();
        sms::assert_ok(&sms::ask(&app, number, json!({})).await, number);
    }
    let inbox = inbox(&app).await;
    let seen: Vec<(&str, &str)> = inbox
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("sms", sms::OTHER),
            ("sms", sms::NUMBER),
            ("mail", "inbox@example.test"),
        ],
        "newest first: {inbox:?}"
    );
    assert!(inbox[0]["link"].is_null() && inbox[2]["link"].is_string());
    // The code as the inbox shows it signs in.
    let code = crate::support::fake_sms::code_in(inbox[0]["text"].as_str().unwrap());
    assert_eq!(inbox[0]["text"], json!(format!("Your code is {code}.")));
    let res = sms::verify(&app, sms::OTHER, &code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // SMS sign-in off: no texts listed, the mails still are.
    app.change_env(&[("AUTH_SMS_PASSWORDLESS_ENABLED", "false")])
        .await;
    assert_eq!(inbox_kinds(&app).await, ["mail"]);

    // A real provider's texts are never listed, whatever the folder still holds.
    let fake = FakeSms::start().await;
    let twilio = fake.twilio_vars();
    let twilio: Vec<(&str, &str)> = twilio.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.change_env(&twilio).await;
    sms::assert_ok(&sms::ask(&app, sms::NUMBER, json!({})).await, "by Twilio");
    assert_eq!(fake.texts().len(), 1);
    assert_eq!(inbox_kinds(&app).await, ["mail"]);

    // Mail going to SMTP with texts to files: the inbox holds the texts alone.
    let smtp = app.with_smtp(&dirs).await;
    assert_eq!(inbox_kinds(&smtp).await, ["sms", "sms"]);
    smtp.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
both_backends!(the_dev_inbox_lists_texts_beside_mails);

async fn inbox(app: &TestApp) -> Vec<serde_json::Value> {
    let (status, _, body) = fetch(app, "/playground/inbox").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn inbox_kinds(app: &TestApp) -> Vec<String> {
    let inbox = inbox(app).await;
    inbox
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The one mail the test server recorded, waiting (bounded) for its outbox to deliver it.
async fn recorded_mail(app: &TestApp) -> latchkey::model::OutboxMail {
    let start = std::time::Instant::now();
    loop {
        if let Some(mail) = app.mailer.sent().pop() {
            return mail;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "no mail"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Returns once the wall clock has passed the current millisecond: the files named by the time
/// they were written then sort in the order the test wrote them.
fn next_millisecond() {
    let start = chrono::Utc::now().timestamp_millis();
    while chrono::Utc::now().timestamp_millis() == start {
        std::hint::spin_loop();
    }
}
