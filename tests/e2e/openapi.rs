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
    ] {
        assert!(res.body["paths"][path].is_object(), "{path} documented");
    }
    assert!(
        res.body["paths"]["/signin/passwordless/sms"].is_null(),
        "routes Latchkey does not serve are left out"
    );
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
