//! The served OpenAPI document, and regressions for what schemathesis found against it.

use serde_json::json;

use crate::support::TestApp;

async fn openapi_document_is_served_with_its_prefix(app: TestApp) {
    let res = app.get("/openapi.json", None).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["openapi"], "3.0.0");
    assert_eq!(res.body["servers"], json!([{ "url": "/" }]));
    for path in [
        "/user/audit",
        "/signin/webauthn",
        "/user/webauthn/keys/{id}",
        "/user/provider/tokens",
        "/token/provider/{provider}",
    ] {
        assert!(res.body["paths"][path].is_object(), "{path} documented");
    }
    // Newer Nhost's OAuth2 authorization server (Nhost as a provider): not Latchkey's scope.
    assert!(
        res.body["paths"]["/oauth2/authorize"].is_null(),
        "routes Latchkey does not serve are left out"
    );
    let res = app.get("/oauth2/authorize", None).await;
    assert_eq!(res.status, 404, "and it is not served: {:?}", res.body);
    let prefixed = app.restart_with(&[("AUTH_API_PREFIX", "/v1")]).await;
    let res = prefixed.get("/v1/openapi.json", None).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["servers"], json!([{ "url": "/v1" }]));
}
both_backends!(openapi_document_is_served_with_its_prefix);

/// schemathesis: a U+0000 in a string reached PostgreSQL, which cannot store it, and came
/// back as a 500. Every JSON body with one is now a 400 on both stores, and nothing is stored.
async fn nul_characters_in_json_bodies_are_refused(app: TestApp) {
    let cases = [
        ("/signin/anonymous", json!({ "displayName": "a\u{0}b" })),
        ("/signin/anonymous", json!({ "metadata": { "k": "\u{0}" } })),
        ("/signin/anonymous", json!({ "metadata": { "\u{0}": 1 } })),
        (
            "/signin/anonymous",
            json!({ "metadata": { "k": ["x", "\u{0}"] } }),
        ),
        (
            "/signup/email-password",
            json!({ "email": "a\u{0}@example.test", "password": "long enough" }),
        ),
        (
            "/signin/webauthn",
            json!({ "email": "a\u{0}@example.test" }),
        ),
        (
            "/signup/webauthn",
            json!({ "email": "a\u{0}@example.test" }),
        ),
    ];
    for (path, body) in &cases {
        let res = app.post(path, body).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{path} {body}"
        );
    }
    // A literal backslash-u in a string is no NUL and still works.
    let res = app
        .post("/signin/anonymous", &json!({ "displayName": "\\u0000" }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["displayName"], "\\u0000");
    // Over GraphQL too: a Hasura-style error, not a database failure.
    let token = res.body["session"]["accessToken"].as_str().unwrap();
    let query =
        json!({ "query": "{ authUserSecurityKeys { id } }", "variables": { "x": "\u{0}" } });
    let res = app.post_bearer("/graphql", token, &query).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["errors"][0]["extensions"]["code"], "invalid-json");
}
both_backends!(nul_characters_in_json_bodies_are_refused);

/// schemathesis: metadata holding -f64::MAX was stored by PostgreSQL as a 309-digit number,
/// which then failed to parse on the way out (500 on every read of the user). Extreme numbers
/// now read back as the value that was stored, on both stores.
async fn extreme_numbers_in_metadata_read_back(app: TestApp) {
    let metadata = json!({
        "min": -1.797_693_134_862_315_7e308,
        "max": 1.797_693_134_862_315_7e308,
        "tiny": 5e-324,
        "big": 1.234_567_890_123_456_8e29,
        "list": [1e300, -1e-300],
    });
    let body = json!({
        "email": "ada@example.test",
        "password": "long enough",
        "options": { "metadata": metadata },
    });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["metadata"], metadata);
    let token = res.body["session"]["accessToken"].as_str().unwrap();
    let user = app.get("/user", Some(token)).await;
    assert_eq!(user.status, 200, "{:?}", user.body);
    assert_eq!(user.body["metadata"], metadata);
}
both_backends!(extreme_numbers_in_metadata_read_back);
