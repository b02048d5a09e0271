//! The mail outbox (issue #16): the mail is in the mailbox when the answer arrives; a mail
//! server that is down, slow or refusing fails no request and loses no mail; a new server
//! delivers what a killed one left; two replicas draining one outbox send each mail once.

use std::time::Duration;

use latchkey::model::UserId;
use serde_json::json;

use crate::support::TestApp;
use crate::support::fake_smtp::{FakeSmtp, Mode};
use crate::support::smtp::{self, address, mails_to};

const REQUIRED: (&str, &str) = ("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "true");
/// Past any retry delay and lease the tests meet.
const LATER: Duration = Duration::from_secs(3600);

/// A password sign-up while verification is required: `{}`, and a verification mail.
async fn sign_up(app: &TestApp, email: &str) {
    let body = json!({ "email": email, "password": "correct horse" });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!((res.status, &res.body), (200, &json!({})), "{email}");
}

async fn user_id(app: &TestApp, email: &str) -> UserId {
    app.store
        .find_user_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A server over `app`'s database mailing through port `port`, after `app`'s worker is
/// stopped (it would otherwise take part in the tests below).
async fn server_on_port(app: &TestApp, port: u16, extra: &[(&str, &str)]) -> TestApp {
    app.stop().await;
    let port = port.to_string();
    let mut vars = vec![REQUIRED, ("AUTH_SMTP_PORT", port.as_str())];
    vars.extend_from_slice(extra);
    app.with_smtp(&vars).await
}

async fn mail_is_in_the_mailbox_when_the_answer_arrives(app: TestApp) {
    let app = app.with_smtp(&[REQUIRED]).await;
    let email = address("inline");
    sign_up(&app, &email).await;
    // No waiting: the answer came after the mail server took the mail.
    let mails = mails_to(&email);
    assert_eq!(mails.len(), 1, "in the mailbox at once");
    assert_eq!(mails[0].header("X-Email-Template"), "email-verify");
    assert_eq!(app.outbox_depth().await, 0, "deleted once sent");
}
both_backends!(mail_is_in_the_mailbox_when_the_answer_arrives);

async fn smtp_down_during_sign_up_delivers_the_mail_later(app: TestApp) {
    let app = server_on_port(&app, smtp::closed_port(), &[]).await;
    let email = address("down");
    sign_up(&app, &email).await;
    assert_eq!(app.outbox_depth().await, 1, "kept in the outbox");
    assert!(mails_to(&email).is_empty());
    // The worker publishes the depth (a process-wide gauge: other tests' outboxes share it).
    let started = std::time::Instant::now();
    loop {
        let url = format!("{}/metrics", app.base);
        let text = app.client.get(url).send().await.unwrap().text().await;
        if text.unwrap().contains("\nlatchkey_mail_outbox_depth ") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no depth gauge"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    app.change_env(&[("AUTH_SMTP_PORT", &smtp::port())]).await;
    app.advance(LATER);
    app.wait_for_empty_outbox().await;
    let mails = mails_to(&email);
    assert_eq!(mails.len(), 1, "delivered once by the worker");
    // The mail's ticket is the one stored with the user.
    let link = url::Url::parse(mails[0].header("X-Link")).unwrap();
    let local = format!("{}{}?{}", app.base, link.path(), link.query().unwrap());
    let res = app.client.get(&local).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("refreshToken="), "{location}");
}
both_backends!(smtp_down_during_sign_up_delivers_the_mail_later);

async fn a_new_server_delivers_what_a_killed_one_left(app: TestApp) {
    let first = server_on_port(&app, smtp::closed_port(), &[]).await;
    let emails: Vec<String> = (0..3).map(|i| address(&format!("killed{i}"))).collect();
    for email in &emails {
        sign_up(&first, email).await;
    }
    assert_eq!(first.outbox_depth().await, 3);
    first.kill();

    let second = first.with_smtp(&[REQUIRED]).await;
    second.advance(LATER);
    second.wait_for_empty_outbox().await;
    for email in &emails {
        assert_eq!(mails_to(email).len(), 1, "{email}: one mail");
    }
}
both_backends!(a_new_server_delivers_what_a_killed_one_left);

async fn two_replicas_send_each_mail_once(app: TestApp) {
    let queued = server_on_port(&app, smtp::closed_port(), &[]).await;
    // One claim's worth (5), sent slowly: whichever replica claims them is still sending when
    // the other looks (every second), so a claim that did not hold its rows would resend them.
    for i in 0..5 {
        sign_up(&queued, &address(&format!("pair{i}"))).await;
    }
    queued.stop().await;
    let server = FakeSmtp::start(Mode::Accept(Duration::from_millis(400))).await;
    let port = server.port.to_string();
    let vars = [REQUIRED, ("AUTH_SMTP_PORT", port.as_str())];
    let (one, two) = (queued.with_smtp(&vars).await, queued.with_smtp(&vars).await);
    // Both clocks on the same instant: only the claim's lease keeps a row from the other.
    let gap = (two.clock_now() - one.clock_now()).to_std().unwrap();
    one.advance(LATER + gap);
    two.advance(LATER);
    assert_eq!(one.clock_now(), two.clock_now());
    one.wait_for_empty_outbox().await;
    one.stop().await;
    two.stop().await;
    let mut ids = server.message_ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "every mail sent");
    assert_eq!(server.received().len(), 5, "no mail sent twice");
}
both_backends!(two_replicas_send_each_mail_once);

async fn a_hanging_server_costs_the_request_the_send_timeout(app: TestApp) {
    let server = FakeSmtp::start(Mode::Hang).await;
    let timeout = ("LATCHKEY_MAIL_SEND_TIMEOUT", "1");
    let app = server_on_port(&app, server.port, &[timeout]).await;
    let email = address("hang");
    let started = std::time::Instant::now();
    sign_up(&app, &email).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    assert_eq!(app.outbox_depth().await, 1);

    server.wait_for_attempts(1).await;
    server.set_mode(Mode::Refuse(451));
    app.advance(LATER);
    server.wait_for_attempts(2).await;
    // A 4xx is temporary: the mail stays. (Its outcome is recorded just after the answer.)
    let user = user_id(&app, &email).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.outbox_depth().await, 1, "kept after a 4xx");
    assert_eq!(
        app.store.count_events("mail.failed", user).await.unwrap(),
        0
    );

    server.set_mode(Mode::Accept(Duration::ZERO));
    app.advance(LATER);
    app.wait_for_empty_outbox().await;
    assert_eq!(server.received().len(), 1);
}
both_backends!(a_hanging_server_costs_the_request_the_send_timeout);

async fn a_refused_mail_is_given_up_after_three_attempts(app: TestApp) {
    let server = FakeSmtp::start(Mode::Refuse(550)).await;
    let app = server_on_port(&app, server.port, &[]).await;
    let email = address("refused");
    sign_up(&app, &email).await;
    let user = user_id(&app, &email).await;
    assert_eq!(app.outbox_depth().await, 1, "one refusal is not final");
    let started = std::time::Instant::now();
    while app.outbox_depth().await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never given up"
        );
        app.advance(LATER);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.store.count_events("mail.failed", user).await.unwrap(),
        1
    );
    assert!(server.received().is_empty());
}
both_backends!(a_refused_mail_is_given_up_after_three_attempts);
