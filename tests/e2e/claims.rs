//! Custom JWT claims (`AUTH_JWT_CUSTOM_CLAIMS`): from the user's own fields, and from a
//! GraphQL endpoint standing in for Hasura, over real HTTP.

use serde_json::{Value, json};

use crate::support::fake_http::FakeService;
use crate::support::{TestApp, jwt_claims};

const NAMESPACE: &str = "https://hasura.io/jwt/claims";

const CLAIMS: &str = r#"{
    "org-id": "metadata.org.id",
    "Teams": "metadata.teams[*].name",
    "admin-teams": "metadata.teams[?(@.admin == true)].name",
    "locale": "locale",
    "roles": "roles[].role",
    "missing": "metadata.nope",
    "fallback": "metadata.nope",
    "user-id": "metadata.org.id",
    "auth-elevated": "id"
}"#;

fn hasura_claims(token: &str) -> Value {
    jwt_claims(token)[NAMESPACE].clone()
}

async fn sign_in_anonymous_with(app: &TestApp, metadata: Value) -> Value {
    let res = app
        .post(
            "/signin/anonymous",
            &json!({ "metadata": metadata, "locale": "en" }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["session"].clone()
}

async fn claims_come_from_the_users_own_fields(app: TestApp) {
    app.change_env(&[
        ("AUTH_JWT_CUSTOM_CLAIMS", CLAIMS),
        (
            "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS",
            r#"{"fallback": ["x", "y"]}"#,
        ),
    ])
    .await;
    let metadata = json!({
        "org": { "id": "org-1" },
        "teams": [{ "name": "red", "admin": true }, { "name": "blue", "admin": false }],
    });
    let session = sign_in_anonymous_with(&app, metadata).await;
    let user_id = session["user"]["id"].as_str().unwrap();
    let claims = hasura_claims(session["accessToken"].as_str().unwrap());
    assert_eq!(claims["x-hasura-org-id"], "org-1");
    assert_eq!(claims["x-hasura-teams"], r#"{"red","blue"}"#);
    assert_eq!(claims["x-hasura-admin-teams"], r#"{"red"}"#);
    assert_eq!(claims["x-hasura-locale"], "en");
    assert_eq!(claims["x-hasura-roles"], r#"{"anonymous"}"#);
    assert_eq!(claims["x-hasura-missing"], "null");
    assert_eq!(claims["x-hasura-fallback"], r#"{"x","y"}"#);
    // Built-ins win; and no path, however configured, makes a token elevated.
    assert_eq!(claims["x-hasura-user-id"], user_id);
    assert!(claims.get("x-hasura-auth-elevated").is_none(), "{claims}");

    // Every issuance carries them: a refresh too.
    let refresh = json!({ "refreshToken": session["refreshToken"] });
    let res = app.post("/token", &refresh).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let claims = hasura_claims(res.body["accessToken"].as_str().unwrap());
    assert_eq!(claims["x-hasura-org-id"], "org-1");
    assert!(claims.get("x-hasura-auth-elevated").is_none(), "{claims}");
}
both_backends!(claims_come_from_the_users_own_fields);

/// A stand-in for Hasura answering `user(id:)` with `user`.
async fn fake_hasura(user: Value) -> FakeService {
    FakeService::start(move |_| (200, json!({ "data": { "user": user } }).to_string())).await
}

async fn claims_come_from_hasura_when_configured(app: TestApp) {
    let hasura = fake_hasura(json!({
        "profile": { "orgs": [{ "id": 7, "owner": "yes" }, { "id": 8, "owner": "no" }] },
        "metadata": { "plan": "pro" },
    }))
    .await;
    let url = format!("{}/v1/graphql", hasura.base);
    app.change_env(&[
        ("HASURA_GRAPHQL_GRAPHQL_URL", &url),
        ("HASURA_GRAPHQL_ADMIN_SECRET", "admin-secret-for-tests"),
        (
            "AUTH_JWT_CUSTOM_CLAIMS",
            r#"{"orgs": "profile.orgs[].id", "owned": "profile.orgs[?(@.owner == 'yes')].id", "plan": "metadata.plan"}"#,
        ),
    ])
    .await;
    let session = sign_in_anonymous_with(&app, json!({ "plan": "ignored: Hasura answers" })).await;
    let claims = hasura_claims(session["accessToken"].as_str().unwrap());
    assert_eq!(claims["x-hasura-orgs"], "{7,8}");
    assert_eq!(claims["x-hasura-owned"], "{7}");
    assert_eq!(claims["x-hasura-plan"], "pro");

    let requests = hasura.requests();
    assert_eq!(requests.len(), 1, "one query per issuance");
    let request = &requests[0];
    assert_eq!(request.uri, "/v1/graphql");
    assert_eq!(
        request.headers["x-hasura-admin-secret"],
        "admin-secret-for-tests"
    );
    assert_eq!(
        request.body["query"],
        "query GetClaims($id: uuid!) { user(id:$id) {metadata profile{orgs{id owner }}} }"
    );
    assert_eq!(request.body["variables"]["id"], session["user"]["id"]);

    let refresh = json!({ "refreshToken": session["refreshToken"] });
    assert_eq!(app.post("/token", &refresh).await.status, 200);
    assert_eq!(hasura.requests().len(), 2, "a refresh asks again");
}
both_backends!(claims_come_from_hasura_when_configured);

async fn a_failing_hasura_gives_defaults_only(app: TestApp) {
    let broken = FakeService::start(|_| (500, "boom".into())).await;
    let no_user = FakeService::start(|_| (200, r#"{"data":{"user":null}}"#.into())).await;
    for (name, url) in [
        ("500", format!("{}/v1/graphql", broken.base)),
        ("user null", format!("{}/v1/graphql", no_user.base)),
        (
            "nothing listening",
            format!(
                "http://127.0.0.1:{}/v1/graphql",
                crate::support::smtp::closed_port()
            ),
        ),
    ] {
        app.change_env(&[
            ("HASURA_GRAPHQL_GRAPHQL_URL", &url),
            ("HASURA_GRAPHQL_ADMIN_SECRET", "s"),
            (
                "AUTH_JWT_CUSTOM_CLAIMS",
                r#"{"org": "org.id", "plan": "plan"}"#,
            ),
            ("AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS", r#"{"plan": "free"}"#),
        ])
        .await;
        let session = sign_in_anonymous_with(&app, json!({})).await;
        let claims = hasura_claims(session["accessToken"].as_str().unwrap());
        assert_eq!(claims["x-hasura-plan"], "free", "{name}");
        assert!(claims.get("x-hasura-org").is_none(), "{name}: {claims}");
        assert_eq!(claims["x-hasura-default-role"], "anonymous", "{name}");
    }
    assert_eq!(broken.requests().len(), 1);

    // An endpoint that accepts the connection and never answers: the token still comes, with
    // the defaults, once the lookup's 3 s bound has passed.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/graphql", silent.local_addr().unwrap());
    app.change_env(&[("HASURA_GRAPHQL_GRAPHQL_URL", &url)])
        .await;
    let started = std::time::Instant::now();
    let session = sign_in_anonymous_with(&app, json!({})).await;
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(8), "{waited:?}");
    let claims = hasura_claims(session["accessToken"].as_str().unwrap());
    assert_eq!(claims["x-hasura-plan"], "free");
    drop(silent);
}
both_backends!(a_failing_hasura_gives_defaults_only);
