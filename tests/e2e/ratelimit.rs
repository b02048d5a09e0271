//! Rate limits: counted per client in the database (so shared by replicas), 429 with
//! Retry-After, `X-Forwarded-For` believed only from trusted proxies.

use serde_json::{Value, json};

use crate::support::TestApp;

async fn post_from(
    app: &TestApp,
    path: &str,
    forwarded_for: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .json(&json!({}));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

async fn brute_force_bucket_answers_429_across_replicas(app: TestApp) {
    app.change_env(&[
        ("AUTH_RATE_LIMIT_ENABLE", "true"),
        ("AUTH_RATE_LIMIT_BRUTE_FORCE_BURST", "3"),
    ])
    .await;
    let replica = app
        .restart_with(&[
            ("AUTH_RATE_LIMIT_ENABLE", "true"),
            ("AUTH_RATE_LIMIT_BRUTE_FORCE_BURST", "3"),
        ])
        .await;
    for (i, server) in [&app, &replica, &app].into_iter().enumerate() {
        let (status, _, _) = post_from(server, "/signin/webauthn", None).await;
        assert_eq!(status, 200, "request {i} is within the burst");
    }
    // The fourth, on the other replica, is over the shared limit.
    let (status, retry, body) = post_from(&replica, "/signin/webauthn", None).await;
    assert_eq!(status, 429);
    assert_eq!(
        (body["status"].as_u64(), body["error"].as_str()),
        (Some(429), Some("too-many-requests"))
    );
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains(r#"latchkey_rate_limited_total{bucket="brute-force"}"#),
        "counted"
    );
    // Other buckets are unaffected; after the window the bucket opens again.
    assert_eq!(
        post_from(&app, "/signin/anonymous", None).await.0,
        429,
        "same brute-force bucket"
    );
    assert_eq!(
        app.get("/version", None).await.status,
        200,
        "global bucket not full"
    );
    app.advance(std::time::Duration::from_secs(301));
    replica.advance(std::time::Duration::from_secs(301));
    assert_eq!(post_from(&app, "/signin/webauthn", None).await.0, 200);
}
both_backends!(brute_force_bucket_answers_429_across_replicas);

async fn forwarded_for_counts_only_behind_a_trusted_proxy(app: TestApp) {
    let limits = [
        ("AUTH_RATE_LIMIT_ENABLE", "true"),
        ("AUTH_RATE_LIMIT_SIGNUPS_BURST", "1"),
    ];
    let direct = app.restart_with(&limits).await;
    // Not trusted: a forged header does not buy a fresh bucket.
    assert_ne!(
        post_from(&direct, "/signup/webauthn", Some("198.51.100.1"))
            .await
            .0,
        429
    );
    assert_eq!(
        post_from(&direct, "/signup/webauthn", Some("198.51.100.2"))
            .await
            .0,
        429
    );

    let mut trusted = limits.to_vec();
    trusted.push(("LATCHKEY_TRUSTED_PROXIES", "127.0.0.0/8,::1"));
    let proxied = app.restart_with(&trusted).await;
    assert_ne!(
        post_from(&proxied, "/signup/webauthn", Some("198.51.100.3"))
            .await
            .0,
        429
    );
    assert_eq!(
        post_from(&proxied, "/signup/webauthn", Some("198.51.100.3"))
            .await
            .0,
        429
    );
    assert_ne!(
        post_from(&proxied, "/signup/webauthn", Some("198.51.100.4"))
            .await
            .0,
        429,
        "another client"
    );
}
both_backends!(forwarded_for_counts_only_behind_a_trusted_proxy);

async fn limits_are_off_by_default(app: TestApp) {
    for _ in 0..15 {
        assert_eq!(post_from(&app, "/signin/webauthn", None).await.0, 200);
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("latchkey_http_requests_total"));
}
both_backends!(limits_are_off_by_default);
