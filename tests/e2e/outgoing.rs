//! The shared outgoing HTTP client, seen through HIBP: a local stand-in for the range API,
//! reached directly, through a forward proxy (`HTTP_PROXY`), and past it (`NO_PROXY`).

use serde_json::json;

use crate::support::TestApp;
use crate::support::fake_http::{FakeService, Recorded};

const PWNED: &str = "password123 is pwned";
const FRESH: &str = "a fresh unlisted secret";

fn sha1_hex(password: &str) -> String {
    hex::encode_upper(openssl::sha::sha1(password.as_bytes()))
}

/// Lists `PWNED`'s suffix (and a padding line) for its prefix, nothing else.
async fn fake_hibp() -> FakeService {
    FakeService::start(|req: &Recorded| {
        let digest = sha1_hex(PWNED);
        let (prefix, suffix) = digest.split_at(5);
        if req.uri.ends_with(&format!("/range/{prefix}")) {
            (
                200,
                format!("{suffix}:42\r\n0000000000000000000000000000000000A:0\r\n"),
            )
        } else {
            (200, "0000000000000000000000000000000000B:0\r\n".into())
        }
    })
    .await
}

async fn sign_up_status(app: &TestApp, email: &str, password: &str) -> (u16, String) {
    let body = json!({ "email": email, "password": password });
    let res = app.post("/signup/email-password", &body).await;
    let code = res.body["error"].as_str().unwrap_or_default().to_owned();
    (res.status, code)
}

async fn hibp_is_asked_directly_and_through_a_proxy(app: TestApp) {
    let hibp = fake_hibp().await;
    let range = format!("{}/range/", hibp.base);
    app.change_env(&[
        ("AUTH_PASSWORD_HIBP_ENABLED", "true"),
        ("LATCHKEY_HIBP_URL", &range),
    ])
    .await;
    assert_eq!(
        sign_up_status(&app, "a@example.test", PWNED).await,
        (400, "password-in-hibp-database".into())
    );
    assert_eq!(sign_up_status(&app, "b@example.test", FRESH).await.0, 200);
    let requests = hibp.requests();
    assert_eq!(requests.len(), 2);
    let prefix = &sha1_hex(PWNED)[..5];
    assert_eq!(requests[0].uri, format!("/range/{prefix}"));
    assert_eq!(requests[0].headers["add-padding"], "true");

    // A name that does not resolve, reachable only through the proxy (the same stand-in,
    // which sees the absolute URL a forward proxy gets).
    app.change_env(&[
        ("LATCHKEY_HIBP_URL", "http://hibp.invalid/range/"),
        ("HTTP_PROXY", &hibp.base),
    ])
    .await;
    assert_eq!(
        sign_up_status(&app, "c@example.test", PWNED).await,
        (400, "password-in-hibp-database".into())
    );
    let last = hibp.requests().pop().unwrap();
    assert_eq!(last.uri, format!("http://hibp.invalid/range/{prefix}"));

    // A proxy that is down, bypassed for the stand-in's address by NO_PROXY.
    let down = format!("http://127.0.0.1:{}", crate::support::smtp::closed_port());
    app.change_env(&[
        ("LATCHKEY_HIBP_URL", &range),
        ("HTTP_PROXY", &down),
        ("NO_PROXY", "127.0.0.1"),
    ])
    .await;
    assert_eq!(
        sign_up_status(&app, "d@example.test", PWNED).await,
        (400, "password-in-hibp-database".into())
    );
    // Without NO_PROXY the dead proxy is used, and HIBP counts as unreachable.
    app.change_env(&[("NO_PROXY", "")]).await;
    assert_eq!(
        sign_up_status(&app, "e@example.test", FRESH).await,
        (503, "service-unavailable".into())
    );
}
both_backends!(hibp_is_asked_directly_and_through_a_proxy);

async fn a_bad_ssl_cert_file_is_refused(app: TestApp) {
    let body = json!({ "SSL_CERT_FILE": "/nonexistent/roots.pem" });
    let res = app.post("/change-env", &body).await;
    assert_eq!(res.status, 400, "{:?}", res.body);
    let message = res.body["message"].as_str().unwrap();
    assert!(message.contains("SSL_CERT_FILE"), "{message}");
}
both_backends!(a_bad_ssl_cert_file_is_refused);
