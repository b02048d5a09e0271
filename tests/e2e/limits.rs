//! Resource limits: header size, slow clients, request timeout and the bounded DB pool.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use latchkey::store::postgres::PgStore;
use serde_json::{Value, json};

use crate::support::TestApp;

/// Writes `request` on a fresh connection, then reads until the server closes it (or 20 s
/// pass, which fails the test). Returns what the server sent.
async fn send_raw_and_wait_for_close(
    base: &str,
    request: impl AsRef<[u8]> + Send + 'static,
) -> String {
    let addr = base.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_ref()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut out = Vec::new();
        match stream.read_to_end(&mut out) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("the server kept the stalled connection open: {e}"),
        }
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

async fn oversized_headers_get_431(app: TestApp) {
    let big = "a".repeat(40 * 1024);
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-padding", big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 431);
    // Headers under the cap are fine, and the server is still up.
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-padding", "a".repeat(4 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
both_backends!(oversized_headers_get_431);

async fn a_client_stalling_in_its_headers_is_disconnected(app: TestApp) {
    let app = app
        .restart_with(&[("LATCHKEY_HEADER_READ_TIMEOUT", "1")])
        .await;
    let answer = send_raw_and_wait_for_close(
        &app.base,
        b"POST /signin/anonymous HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
    )
    .await;
    // hyper closes the connection, at most with a 408; never a 5xx or a session.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer:.200}"
    );
    // An idle keep-alive connection is closed the same way.
    let idle = send_raw_and_wait_for_close(&app.base, b"").await;
    assert!(
        idle.is_empty() || idle.starts_with("HTTP/1.1 408"),
        "{idle:.200}"
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
}
both_backends!(a_client_stalling_in_its_headers_is_disconnected);

async fn a_client_stalling_in_its_body_gets_408(app: TestApp) {
    let app = app.restart_with(&[("LATCHKEY_REQUEST_TIMEOUT", "1")]).await;
    let answer = send_raw_and_wait_for_close(
        &app.base,
        b"POST /signin/anonymous HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{\"opt",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.300}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        json!({ "status": 408, "message": "The request took too long", "error": "request-timeout" })
    );
    // Requests that finish in time are unaffected.
    app.sign_in_anonymous().await;
}
both_backends!(a_client_stalling_in_its_body_gets_408);

/// A body over 64 KiB is 413 with Nhost's error JSON, whether its length is declared or it
/// comes in chunks; a declared length over the limit is refused before the body is read.
async fn oversized_bodies_get_413(app: TestApp) {
    let too_large = json!({
        "status": 413,
        "message": "The request body is too large",
        "error": "invalid-request"
    });
    let big = json!({ "displayName": "a".repeat(70 * 1024) });
    for path in ["/signin/anonymous", "/signin/webauthn", "/graphql"] {
        let res = app.post(path, &big).await;
        assert_eq!((res.status, &res.body), (413, &too_large), "{path}");
    }
    // Declared, never sent: the answer comes at once, not after the request timeout.
    let answer = send_raw_and_wait_for_close(
        &app.base,
        b"POST /signin/anonymous HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n{",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.300}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(serde_json::from_str::<Value>(body).unwrap(), too_large);
    // Chunked, no length declared: cut off at the limit.
    let payload = big.to_string();
    let mut chunked = b"POST /signin/anonymous HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    chunked.extend(format!("{:x}\r\n{payload}\r\n0\r\n\r\n", payload.len()).as_bytes());
    let answer = send_raw_and_wait_for_close(&app.base, chunked).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.300}");
    // Just under the limit is read as usual.
    let under = json!({ "displayName": "a".repeat(60 * 1024) });
    let res = app.post("/signin/anonymous", &under).await;
    assert_eq!(res.status, 200, "{}", res.body["error"]);
}
both_backends!(oversized_bodies_get_413);

/// A pool of one connection, held by the test: a request waits `LATCHKEY_DB_ACQUIRE_TIMEOUT`
/// for it and is answered 503, then works again once the connection is back.
#[sqlx::test(migrator = "latchkey::store::postgres::MIGRATOR")]
async fn an_exhausted_pool_answers_503_then_recovers(pool: sqlx::PgPool) {
    let options = pool.connect_options().as_ref().clone();
    let tiny = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(1))
        .connect_with(options)
        .await
        .unwrap();
    let store = Arc::new(PgStore::new(tiny).await.unwrap());
    let app = TestApp::start(store.clone(), &[]).await;
    // Settle whatever the app does at start before taking the only connection.
    app.sign_in_anonymous().await;
    let held = store.checkout().await.unwrap();
    let res = app.post("/signin/anonymous", &json!({})).await;
    assert_eq!(
        (res.status, res.error_code()),
        (503, "service-unavailable"),
        "{:?}",
        res.body
    );
    drop(held);
    app.sign_in_anonymous().await;
}
