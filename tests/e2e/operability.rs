//! Operability: metrics after a scripted flow, readiness, no secrets in debug logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::authenticator::flip_signature_bit;

async fn metrics_count_requests_ceremonies_and_sessions(app: TestApp) {
    let (session, mut authenticator) = app.sign_up_with_passkey("metrics@example.test").await;
    crate::webauthn::sign_in_by_email(&app, "metrics@example.test", &mut authenticator).await;
    let options = app
        .post(
            "/signin/webauthn",
            &json!({ "email": "metrics@example.test" }),
        )
        .await;
    let mut forged = authenticator.assert(&options.body).await;
    flip_signature_bit(&mut forged);
    let refused = app
        .post("/signin/webauthn/verify", &json!({ "credential": forged }))
        .await;
    assert_eq!(refused.status, 400);
    let refreshed = app
        .post(
            "/token",
            &json!({ "refreshToken": session["refreshToken"] }),
        )
        .await;
    assert_eq!(refreshed.status, 200);

    let res = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    let has = |name: &str, labels: &[&str]| {
        text.lines().any(|l| {
            l.starts_with(name) && labels.iter().all(|label| l.contains(label)) && {
                let value: f64 = l.rsplit(' ').next().unwrap().parse().unwrap();
                value >= 1.0
            }
        })
    };
    assert!(has(
        "latchkey_http_requests_total",
        &[
            r#"route="/signin/webauthn/verify""#,
            r#"status="200""#,
            r#"method="POST""#
        ]
    ));
    assert!(has(
        "latchkey_http_request_duration_seconds_bucket",
        &[r#"route="/token""#]
    ));
    assert!(has(
        "latchkey_webauthn_ceremonies_total",
        &[r#"flow="signup""#, r#"outcome="started""#]
    ));
    assert!(has(
        "latchkey_webauthn_ceremonies_total",
        &[r#"flow="signin""#, r#"outcome="finished""#]
    ));
    assert!(has(
        "latchkey_webauthn_ceremonies_total",
        &[r#"flow="signin""#, r#"outcome="bad_signature""#]
    ));
    assert!(has(
        "latchkey_sessions_issued_total",
        &[r#"kind="refresh""#]
    ));
    assert!(has("latchkey_sessions_issued_total", &[r#"kind="signup""#]));
    assert!(text.contains("latchkey_db_pool_connections{state=\"idle\"}"));
    assert!(has("latchkey_db_pool_acquire_seconds_count", &[]));
    // Label values stay bounded: no user ids or addresses.
    let user_id = session["user"]["id"].as_str().unwrap();
    assert!(!text.contains(user_id) && !text.contains("metrics@example.test"));
}
both_backends!(metrics_count_requests_ceremonies_and_sessions);

async fn readyz_and_requests_report_a_lost_database(app: TestApp) {
    let res = app.get("/readyz", None).await;
    assert_eq!(
        (res.status, &res.body),
        (200, &json!({ "status": "ok", "database": "ok" }))
    );
    app.store.close().await;
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status, 503);
    assert_eq!(res.body["database"], "unreachable");
    // Liveness keeps Nhost's meaning: the process is up.
    assert_eq!(app.get("/healthz", None).await.status, 200);
    // Requests that need the database say so with 503 and Retry-After, not 500.
    let res = app
        .client
        .post(format!("{}/signin/anonymous", app.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["status"].as_u64(), body["error"].as_str()),
        (Some(503), Some("service-unavailable"))
    );
}
both_backends!(readyz_and_requests_report_a_lost_database);

/// Collects formatted log output in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn debug_logs_carry_no_secrets(app: TestApp) {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("latchkey=trace,tower_http=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runtime is single-threaded, so the server's tasks log through this too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut secrets: Vec<String> = vec!["secret@example.test".into()];
    let (session, mut authenticator) = app.sign_up_with_passkey("secret@example.test").await;
    let mut keep = |v: &Value| secrets.push(v.as_str().unwrap().to_owned());
    keep(&session["accessToken"]);
    keep(&session["refreshToken"]);
    let options = app
        .post(
            "/signin/webauthn",
            &json!({ "email": "secret@example.test" }),
        )
        .await;
    keep(&options.body["challenge"]);
    let assertion = authenticator.assert(&options.body).await;
    keep(&assertion["response"]["signature"]);
    let signed_in = app
        .post(
            "/signin/webauthn/verify",
            &json!({ "credential": assertion }),
        )
        .await;
    keep(&signed_in.body["session"]["refreshToken"]);
    let rotated = app
        .post(
            "/token",
            &json!({ "refreshToken": session["refreshToken"] }),
        )
        .await;
    keep(&rotated.body["refreshToken"]);
    keep(&rotated.body["accessToken"]);
    // A replay (reuse detection logs a warning) and a bad bearer.
    app.post(
        "/token",
        &json!({ "refreshToken": session["refreshToken"] }),
    )
    .await;
    let bad = app
        .post_bearer("/elevate/webauthn", "not-a-token-value-xyz", &json!({}))
        .await;
    assert_eq!(bad.status, 400);
    secrets.push("not-a-token-value-xyz".into());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("route=\"/signin/webauthn/verify\""),
        "logs were captured: {logs:.400}"
    );
    assert!(
        logs.contains("refresh_token.reused"),
        "the reuse event is logged"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the log: {secret:.12}…"
        );
    }
}
both_backends!(debug_logs_carry_no_secrets);

async fn readyz_warns_about_an_unreachable_mail_server(app: TestApp) {
    let with_mail = app.with_smtp(&[]).await;
    let res = with_mail.get("/readyz", None).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["smtp"], "ok");
    let port = crate::support::smtp::closed_port().to_string();
    with_mail
        .change_env(&[("AUTH_SMTP_PORT", port.as_str())])
        .await;
    let res = with_mail.get("/readyz", None).await;
    assert_eq!(res.status, 200, "SMTP down is a warning, not unready");
    assert_eq!(res.body["smtp"], "unreachable");
    assert!(
        app.get("/readyz", None).await.body.get("smtp").is_none(),
        "no SMTP configured"
    );
}
both_backends!(readyz_warns_about_an_unreachable_mail_server);
