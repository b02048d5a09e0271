//! Bounded fuzzing on stable, inside `cargo test`: proptest mutates real WebAuthn credentials,
//! real access tokens and real GraphQL queries and sends them through the real server. Bad
//! input must get a 4xx (GraphQL: Hasura's 200 with `errors`), never a 5xx, a crash or a
//! session it should not. `LATCHKEY_FUZZ_CASES` (default 1000 per target) sets the length; the
//! long run is in the book (docs/src/security.md).

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use base64::Engine as _;

use crate::support::authenticator::b64url;
use crate::support::{KeyOwner, TestApp};

fn cases() -> u32 {
    std::env::var("LATCHKEY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// A fresh SQLite-backed server on its own runtime (proptest drives cases synchronously).
fn harness() -> (tokio::runtime::Runtime, TestApp, std::path::PathBuf) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("latchkey-fuzz-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("fuzz.db").display());
    let app = rt.block_on(async {
        let store =
            latchkey::store::sqlite::SqliteStore::connect(&url, std::time::Duration::from_secs(5))
                .await
                .unwrap();
        store.migrate().await.unwrap();
        TestApp::start(Arc::new(store), &[]).await
    });
    (rt, app, dir)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// One edit of a byte string; positions wrap, so every edit changes something.
#[derive(Debug, Clone)]
enum Edit {
    Flip { at: usize, bit: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
    ];
    prop::collection::vec(edit, 1..4)
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let len = bytes.len();
        match edit {
            Edit::Flip { at, bit } if len > 0 => bytes[at % len] ^= 1 << bit,
            Edit::Truncate { at } if len > 0 => bytes.truncate(at % len),
            Edit::Insert { at, bytes: new } => {
                let at = at % (len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            _ => bytes.push(0),
        }
    }
}

/// Where a credential is damaged: a base64url field (decoded, edited, re-encoded), its JSON
/// type, or the serialised JSON text itself.
#[derive(Debug, Clone)]
enum Damage {
    Field(usize, Vec<Edit>),
    Retype(usize, u8),
    Text(Vec<Edit>),
}

const CREDENTIAL_FIELDS: &[&str] = &[
    "/response/attestationObject",
    "/response/clientDataJSON",
    "/response/authenticatorData",
    "/response/signature",
    "/response/userHandle",
    "/id",
    "/rawId",
    "/type",
];

fn damage() -> impl Strategy<Value = Damage> {
    let n = CREDENTIAL_FIELDS.len();
    prop_oneof![
        4 => (0..n, edits()).prop_map(|(f, e)| Damage::Field(f, e)),
        1 => (0..n, 0u8..4).prop_map(|(f, k)| Damage::Retype(f, k)),
        1 => edits().prop_map(Damage::Text),
    ]
}

/// The request body for `credential` damaged as said; `None` when the field is absent.
fn damaged_body(credential: &Value, damage: &Damage, extra: &Value) -> Option<Vec<u8>> {
    let mut body = extra.clone();
    body["credential"] = credential.clone();
    match damage {
        Damage::Field(f, edits) => {
            let field = body.pointer_mut(&format!("/credential{}", CREDENTIAL_FIELDS[*f]))?;
            let text = field.as_str()?;
            *field = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text) {
                Ok(mut bytes) => {
                    apply(&mut bytes, edits);
                    json!(b64url(&bytes))
                }
                // `type` is plain text.
                Err(_) => {
                    let mut bytes = text.as_bytes().to_vec();
                    apply(&mut bytes, edits);
                    json!(String::from_utf8_lossy(&bytes))
                }
            };
        }
        Damage::Retype(f, kind) => {
            let field = body.pointer_mut(&format!("/credential{}", CREDENTIAL_FIELDS[*f]))?;
            *field = match kind {
                0 => Value::Null,
                1 => json!(12345),
                2 => json!([field.clone()]),
                _ => json!({ "x": field.clone() }),
            };
        }
        Damage::Text(edits) => {
            let mut text = serde_json::to_vec(&body).unwrap();
            apply(&mut text, edits);
            return Some(text);
        }
    }
    Some(serde_json::to_vec(&body).unwrap())
}

async fn post_raw(app: &TestApp, path: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = app.send(req).await;
    (res.status, res.body)
}

fn assert_client_error(what: &str, status: u16, body: &Value, input: &impl std::fmt::Debug) {
    assert!(
        (400..500).contains(&status),
        "{what}: {status} {body} for {input:?}"
    );
    assert_eq!(
        body["status"],
        json!(status),
        "{what}: Nhost error body {body}"
    );
}

#[test]
fn fuzz_registration_credentials() {
    let (rt, app, dir) = harness();
    runner()
        .run(&damage(), |damage| {
            rt.block_on(async {
                let email = format!("fuzz-{}@example.test", uuid::Uuid::new_v4());
                let options = app
                    .post("/signup/webauthn", &json!({ "email": email }))
                    .await;
                assert_eq!(options.status, 200, "{:?}", options.body);
                let mut key = crate::support::SoftAuthenticator::new(crate::support::ORIGIN);
                let credential = key.register(&options.body).await;
                let Some(body) = damaged_body(&credential, &damage, &json!({})) else {
                    return;
                };
                let (status, body) = post_raw(&app, "/signup/webauthn/verify", None, body).await;
                // `none` attestation signs nothing: a changed key or AAGUID can still be a
                // valid (different) registration. Anything else must be refused cleanly.
                if status != 200 {
                    assert_client_error("signup verify", status, &body, &damage);
                }
            });
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fuzz_sign_in_assertions() {
    let (rt, app, dir) = harness();
    let owner: KeyOwner = rt.block_on(app.key_owner("fuzz-signin@example.test"));
    let authenticator = tokio::sync::Mutex::new(owner.authenticator);
    runner()
        .run(&damage(), |damage| {
            rt.block_on(async {
                let email = json!({ "email": "fuzz-signin@example.test" });
                let options = app.post("/signin/webauthn", &email).await;
                assert_eq!(options.status, 200, "{:?}", options.body);
                let assertion = authenticator.lock().await.assert(&options.body).await;
                let Some(body) = damaged_body(&assertion, &damage, &email) else {
                    return;
                };
                let intact = same_signed_parts(&assertion, &body);
                let sent = String::from_utf8_lossy(&body).into_owned();
                let (status, body) = post_raw(&app, "/signin/webauthn/verify", None, body).await;
                // Only the user handle is unsigned (and checked against the challenge's user;
                // null is the same as none): any change to signed data, the credential id
                // or the shape must be refused. A text edit may land in an
                // unsigned extra (`authenticatorAttachment`) or whitespace: it is judged by
                // what it parses to.
                let harmless =
                    intact || matches!(&damage, Damage::Field(4, _) | Damage::Retype(4, 0));
                if !(harmless && status == 200) {
                    assert_client_error("signin verify", status, &body, &(&damage, &sent));
                }
            });
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Whether the damaged body still carries every signed or identifying part of the assertion
/// unchanged (and `type`), so that a 200 for it is right. The e-mail is not one: the user is
/// the one the challenge was issued for, whatever the verify body names (and the key must be
/// theirs).
fn same_signed_parts(assertion: &Value, damaged: &[u8]) -> bool {
    let Ok(body) = serde_json::from_slice::<Value>(damaged) else {
        return false;
    };
    let kept = |pointer: &str| {
        body.pointer(&format!("/credential{pointer}")) == assertion.pointer(pointer)
    };
    ["/id", "/rawId", "/type", "/response/clientDataJSON"]
        .into_iter()
        .chain(["/response/authenticatorData", "/response/signature"])
        .chain(["/response/userHandle"])
        .all(kept)
}

#[test]
fn fuzz_bearer_tokens() {
    let (rt, app, dir) = harness();
    let owner = rt.block_on(app.key_owner("fuzz-jwt@example.test"));
    runner()
        .run(&edits(), |edits| {
            // The token is damaged, not the scheme: `bearer` is as good as `Bearer`.
            let mut token = owner.token.clone().into_bytes();
            apply(&mut token, &edits);
            if token == owner.token.as_bytes() {
                return Ok(());
            }
            let value = [b"Bearer ".as_slice(), &token].concat();
            // Bytes no HTTP client can send are not worth a case.
            let Ok(value) = reqwest::header::HeaderValue::from_bytes(&value) else {
                return Ok(());
            };
            rt.block_on(async {
                for path in ["/user", "/user/webauthn/keys"] {
                    let req = app
                        .client
                        .get(format!("{}{path}", app.base))
                        .header("authorization", value.clone());
                    let res = app.send(req).await;
                    assert_client_error(path, res.status, &res.body, &value);
                }
                let res = app
                    .client
                    .post(format!("{}/graphql", app.base))
                    .header("authorization", value.clone())
                    .json(&json!({ "query": "{ authUserSecurityKeys { id } }" }))
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().as_u16() < 500, "graphql: {value:?}");
                let body: Value = res.json().await.unwrap();
                assert!(body["data"].is_null(), "a damaged token read data: {body}");
            });
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

const QUERIES: &[&str] = &[
    "query securityKeys($userId: uuid!) { authUserSecurityKeys(where: { userId: { _eq: $userId } }) { id nickname } }",
    "mutation removeSecurityKey($id: uuid!) { deleteAuthUserSecurityKey(id: $id) { id } }",
    "{ __schema { types { name fields { name } } } }",
    "query { a: authUserSecurityKeys { id } b: authUserSecurityKeys { ...F } } fragment F on authUserSecurityKeys { nickname }",
];

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "$",
    "...",
    "@skip(if: true)",
    "fragment F on Query { __typename }",
    "\"",
    "\\u0000",
    "query",
    "mutation",
    "subscription",
    ":",
    "!",
    "= 1",
    "__typename",
    "\u{feff}",
    "#",
    "\n",
    "1e999999",
    "-",
    "_eq",
    "where:",
    "id",
];

fn graphql_input() -> impl Strategy<Value = (usize, Vec<(usize, usize)>, Vec<Edit>, u8)> {
    (
        0..QUERIES.len(),
        prop::collection::vec((any::<usize>(), 0..TOKENS.len()), 0..6),
        prop::collection::vec(
            prop_oneof![
                (any::<usize>(), 0u8..7).prop_map(|(at, bit)| Edit::Flip { at, bit }),
                any::<usize>().prop_map(|at| Edit::Truncate { at }),
            ],
            0..2,
        ),
        0u8..4,
    )
}

#[test]
fn fuzz_graphql_queries() {
    let (rt, app, dir) = harness();
    let owner = rt.block_on(app.key_owner("fuzz-gql@example.test"));
    // Deep nesting must be refused, not recurse the parser off the stack.
    for depth in [64, 5_000, 30_000] {
        let query = format!("{}{}", "{a".repeat(depth), "}".repeat(depth));
        let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
        let (status, body) = rt.block_on(post_raw(&app, "/graphql", Some(&owner.token), body));
        assert!(
            status < 500 && body["data"].is_null(),
            "depth {depth}: {status} {body}"
        );
    }
    runner()
        .run(&graphql_input(), |(seed, inserts, edits, variables)| {
            let mut query = QUERIES[seed].to_owned().into_bytes();
            for (at, token) in &inserts {
                let at = at % (query.len() + 1);
                query.splice(at..at, TOKENS[*token].bytes());
            }
            apply(&mut query, &edits);
            let query = String::from_utf8_lossy(&query).into_owned();
            let variables = match variables {
                0 => json!({ "userId": owner.user_id, "id": owner.user_id }),
                1 => json!({ "userId": "not-a-uuid", "id": 7 }),
                2 => json!([1, 2]),
                _ => Value::Null,
            };
            let body = serde_json::to_vec(&json!({ "query": query, "variables": variables }));
            rt.block_on(async {
                let (status, body) =
                    post_raw(&app, "/graphql", Some(&owner.token), body.unwrap()).await;
                assert!(status < 500, "{status} {body} for {query:?}");
                assert!(body.is_object(), "{status} not JSON for {query:?}");
            });
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
