//! Transport: bad input gets Nhost's error JSON (never a 5xx), CORS, prefix, RS256 JWKS.

use serde_json::{Value, json};

use crate::support::TestApp;

async fn raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> crate::support::Res {
    let mut req = app.client.post(format!("{}{path}", app.base)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    app.send(req).await
}

async fn malformed_bodies_get_invalid_request(app: TestApp) {
    let json_ct = Some("application/json");
    let cases: Vec<(&str, &str, Option<&str>, Vec<u8>)> = vec![
        (
            "truncated JSON",
            "/token",
            json_ct,
            b"{\"refreshToken\":".to_vec(),
        ),
        ("not JSON", "/signup/webauthn", json_ct, b"hello".to_vec()),
        (
            "array instead of object",
            "/signin/webauthn/verify",
            json_ct,
            b"[]".to_vec(),
        ),
        (
            "unknown field",
            "/signup/webauthn",
            json_ct,
            br#"{"email":"a@b.test","admin":true}"#.to_vec(),
        ),
        (
            "unknown option",
            "/signup/webauthn",
            json_ct,
            br#"{"email":"a@b.test","options":{"x":1}}"#.to_vec(),
        ),
        (
            "wrong type",
            "/signup/webauthn",
            json_ct,
            br#"{"email":5}"#.to_vec(),
        ),
        (
            "missing field",
            "/signup/webauthn/verify",
            json_ct,
            b"{}".to_vec(),
        ),
        (
            "wrong content type",
            "/token",
            Some("text/plain"),
            br#"{"refreshToken":"x"}"#.to_vec(),
        ),
        (
            "no content type",
            "/signup/webauthn",
            None,
            br#"{"email":"a@b.test"}"#.to_vec(),
        ),
        (
            "invalid UTF-8",
            "/signup/webauthn",
            json_ct,
            vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'],
        ),
        (
            "bad anonymous body",
            "/signin/anonymous",
            json_ct,
            br#"{"metadata":"x"}"#.to_vec(),
        ),
    ];
    for (name, path, ct, body) in cases {
        let res = raw(&app, path, ct, body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{name}"
        );
    }
    // Over the 64 KiB limit: `invalid-request` too, with status 413 (more in limits.rs).
    let oversized = [
        (
            "/signup/webauthn",
            format!(r#"{{"email":"{}@b.test"}}"#, "a".repeat(70 * 1024)).into_bytes(),
        ),
        ("/signin/webauthn", vec![b' '; 70 * 1024]),
    ];
    for (path, body) in oversized {
        let res = raw(&app, path, json_ct, body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (413, "invalid-request"),
            "oversized {path}"
        );
    }
}
both_backends!(malformed_bodies_get_invalid_request);

async fn bad_bearer_tokens_are_refused(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let token = session["accessToken"].as_str().unwrap();
    let headers = [
        format!("bearer {token}"),
        format!("Bearer  {token}"),
        format!("Basic {token}"),
        "Bearer".to_string(),
        "Bearer not.a.jwt".to_string(),
        format!("Bearer {}x", token),
    ];
    for header in headers {
        for path in ["/user/webauthn/add", "/elevate/webauthn"] {
            let req = app
                .client
                .post(format!("{}{path}", app.base))
                .header("authorization", &header);
            let res = app.send(req).await;
            assert_eq!(
                (res.status, res.error_code()),
                (400, "invalid-request"),
                "{path} {header:.12}"
            );
        }
        let req = app
            .client
            .get(format!("{}/user", app.base))
            .header("authorization", &header);
        assert_eq!(app.send(req).await.status, 400);
    }
    // A token signed with another key is refused.
    let other = app
        .restart_with(&[(
            "HASURA_GRAPHQL_JWT_SECRET",
            r#"{"type":"HS256","key":"another-key-another-key-another-key!"}"#,
        )])
        .await;
    let foreign = other.sign_in_anonymous().await;
    let res = app
        .post("/token/verify", &json!({ "token": foreign["accessToken"] }))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
}
both_backends!(bad_bearer_tokens_are_refused);

async fn cors_echoes_the_origin_and_answers_preflight(app: TestApp) {
    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/signin/webauthn", app.base),
        )
        .header("origin", "https://app.example.test")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.test");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(
        h["access-control-allow-headers"],
        "content-type,authorization"
    );
    let res = app
        .client
        .get(format!("{}/version", app.base))
        .header("origin", "https://app.example.test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.test"
    );
    assert!(
        res.headers().get("x-request-id").is_some(),
        "generated when absent"
    );
    let res = app
        .client
        .get(format!("{}/version", app.base))
        .header("x-request-id", "trace-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["x-request-id"],
        "trace-4711",
        "honoured and echoed"
    );
}
both_backends!(cors_echoes_the_origin_and_answers_preflight);

async fn api_prefix_moves_every_route(app: TestApp) {
    let prefixed = app.restart_with(&[("AUTH_API_PREFIX", "/v1")]).await;
    assert_eq!(prefixed.get("/v1/version", None).await.status, 200);
    assert_eq!(prefixed.get("/version", None).await.status, 404);
    let res = prefixed.get("/healthz", None).await;
    assert_eq!((res.status, &res.body), (200, &json!({ "status": "ok" })));
    let res = prefixed.post("/v1/signin/anonymous", &json!({})).await;
    assert_eq!(res.status, 200);
}
both_backends!(api_prefix_moves_every_route);

/// Nhost serves the API under `/v1` and nhost-js v4 needs it; without a prefix Latchkey
/// answers at both, with the same rate-limit buckets.
async fn without_a_prefix_the_api_also_answers_under_v1(app: TestApp) {
    let res = app.post("/v1/signin/anonymous", &json!({})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let refresh = res.body["session"]["refreshToken"].as_str().unwrap();
    let res = app
        .post("/v1/token", &json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(app.get("/version", None).await.status, 200);

    let limited = app
        .restart_with(&[
            ("AUTH_RATE_LIMIT_ENABLE", "true"),
            ("AUTH_RATE_LIMIT_BRUTE_FORCE_BURST", "1"),
        ])
        .await;
    assert_eq!(
        limited.post("/v1/signin/webauthn", &json!({})).await.status,
        200
    );
    let res = limited.post("/signin/webauthn", &json!({})).await;
    assert_eq!(
        (res.status, res.error_code()),
        (429, "too-many-requests"),
        "/v1/signin/webauthn and /signin/webauthn share the brute-force bucket"
    );

    let prefixed = app.restart_with(&[("AUTH_API_PREFIX", "/auth")]).await;
    assert_eq!(prefixed.get("/v1/version", None).await.status, 404);
    assert_eq!(prefixed.get("/auth/version", None).await.status, 200);
}
both_backends!(without_a_prefix_the_api_also_answers_under_v1);

async fn change_env_is_absent_unless_enabled(app: TestApp) {
    let plain = app
        .restart_with(&[("AUTH_ENABLE_CHANGE_ENV", "false")])
        .await;
    let res = plain
        .post("/change-env", &json!({ "AUTH_DISABLE_SIGNUP": "true" }))
        .await;
    assert_eq!(res.status, 404);
    let res = plain.post("/signin/anonymous", &json!({})).await;
    assert_eq!(res.status, 200, "nothing was changed");
    let res = app
        .post("/change-env", &json!({ "AUTH_PORT": "not a port" }))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
}
both_backends!(change_env_is_absent_unless_enabled);

async fn concealed_errors_hide_sensitive_codes(app: TestApp) {
    app.change_env(&[("AUTH_CONCEAL_ERRORS", "true")]).await;
    let res = app
        .post("/token", &json!({ "refreshToken": uuid::Uuid::new_v4() }))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let res = app
        .post(
            "/signin/webauthn",
            &json!({ "email": "nobody@example.test" }),
        )
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
}
both_backends!(concealed_errors_hide_sensitive_codes);

async fn rs256_tokens_verify_against_the_published_jwks(app: TestApp) {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let private_pem = String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap();
    let secret = json!({ "type": "RS256", "key": private_pem, "kid": "test-key", "issuer": "latchkey-test" });
    let app = app
        .restart_with(&[("HASURA_GRAPHQL_JWT_SECRET", &secret.to_string())])
        .await;
    let jwks = app.get("/.well-known/jwks.json", None).await.body;
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["kid"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("test-key"))
    );
    assert_eq!(key["use"], "sig");
    let token = app.sign_in_anonymous().await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // Verify with OpenSSL directly from the JWK's n and e, independent of the server's library.
    let b64 = |v: &Value| base64_url(v.as_str().unwrap());
    let n = openssl::bn::BigNum::from_slice(&b64(&key["n"])).unwrap();
    let e = openssl::bn::BigNum::from_slice(&b64(&key["e"])).unwrap();
    let public =
        openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::from_public_components(n, e).unwrap())
            .unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public).unwrap();
    verifier.update(signed.as_bytes()).unwrap();
    assert!(
        verifier.verify(&base64_url(signature)).unwrap(),
        "signature verifies with the JWKS key"
    );
    let header: Value =
        serde_json::from_slice(&base64_url(signed.split('.').next().unwrap())).unwrap();
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("RS256"), Some("test-key"))
    );
    let claims: Value =
        serde_json::from_slice(&base64_url(signed.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(claims["iss"], "latchkey-test");
    // A tampered payload fails the same check.
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public).unwrap();
    verifier.update(format!("{signed}x").as_bytes()).unwrap();
    assert!(!verifier.verify(&base64_url(signature)).unwrap());
    assert_eq!(
        app.post("/token/verify", &json!({ "token": token }))
            .await
            .status,
        200
    );
}
both_backends!(rs256_tokens_verify_against_the_published_jwks);

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

async fn concurrent_refreshes_of_one_token_yield_one_session(app: TestApp) {
    let session = app.sign_in_anonymous().await;
    let body = json!({ "refreshToken": session["refreshToken"] });
    let attempts = (0..8).map(|_| app.post("/token", &body));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert!(
        results.iter().all(|r| r.status == 200 || r.status == 401),
        "no 5xx"
    );
    assert_eq!(ok, 1, "exactly one rotation wins");
}
both_backends!(concurrent_refreshes_of_one_token_yield_one_session);

async fn jwt_key_rotation_keeps_old_tokens_valid_until_the_old_key_goes(app: TestApp) {
    let pem = || {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap()
    };
    let (old_pem, new_pem) = (pem(), pem());
    let secret =
        |pem: &str, kid: &str| json!({ "type": "RS256", "key": pem, "kid": kid }).to_string();
    let old = app
        .restart_with(&[("HASURA_GRAPHQL_JWT_SECRET", &secret(&old_pem, "old"))])
        .await;
    let old_token = old.sign_in_anonymous().await["accessToken"].clone();

    let previous = json!([{ "type": "RS256", "key": old_pem, "kid": "old" }]).to_string();
    let rotating = app
        .restart_with(&[
            ("HASURA_GRAPHQL_JWT_SECRET", &secret(&new_pem, "new")),
            ("LATCHKEY_JWT_PREVIOUS_KEYS", &previous),
        ])
        .await;
    let jwks = rotating.get("/.well-known/jwks.json", None).await.body;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["new", "old"]);
    let res = rotating
        .post("/token/verify", &json!({ "token": old_token }))
        .await;
    assert_eq!(res.status, 200, "old tokens verify during the rotation");
    let new_token = rotating.sign_in_anonymous().await["accessToken"].clone();
    let header = new_token.as_str().unwrap().split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&base64_url(header)).unwrap();
    assert_eq!(header["kid"], "new");

    let rotated = app
        .restart_with(&[("HASURA_GRAPHQL_JWT_SECRET", &secret(&new_pem, "new"))])
        .await;
    let res = rotated
        .post("/token/verify", &json!({ "token": old_token }))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let res = rotated
        .post("/token/verify", &json!({ "token": new_token }))
        .await;
    assert_eq!(res.status, 200);
}
both_backends!(jwt_key_rotation_keeps_old_tokens_valid_until_the_old_key_goes);
