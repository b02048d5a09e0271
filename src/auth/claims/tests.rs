use std::time::Duration;

use serde_json::{Map, json};

use super::*;
use crate::config::CustomClaim;
use crate::model::ClaimPath;

fn config(claims: &[(&str, &str)], defaults: Value) -> CustomClaimsConfig {
    let mut claims: Vec<CustomClaim> = claims
        .iter()
        .map(|(name, path)| CustomClaim {
            name: (*name).to_owned(),
            path: ClaimPath::parse(path).unwrap(),
        })
        .collect();
    claims.sort_by(|a, b| a.name.cmp(&b.name));
    let defaults: Map<String, Value> = serde_json::from_value(defaults).unwrap();
    CustomClaimsConfig {
        claims,
        defaults,
        hasura: None,
        timeout: Duration::from_secs(1),
    }
}

/// Upstream's claims from go/controller/custom_claims_test.go, and the query it expects.
const UPSTREAM: &[(&str, &str)] = &[
    ("root", "m"),
    ("key", "m.k"),
    ("element", "m.l[2]"),
    ("array[]", "m.l[]"),
    ("array[*]", "m.l[*]"),
    ("array[].ids", "m.lm[].id"),
    ("array[*].ids", "m.lm[*].id"),
    ("array.ids[]", "m.lm.id[]"),
    ("arrayOneElement[]", "m.l2[]"),
    ("metadata.m1", "metadata.m1"),
    ("nonexistent", "nonexistent.nonexistent"),
    ("filtered", "m.d[?(@.v == 'a')].id"),
];

#[test]
fn the_graphql_query_is_upstreams() {
    let query = graphql_query(&config(UPSTREAM, json!({})));
    assert_eq!(
        query,
        "query GetClaims($id: uuid!) { user(id:$id) {m{d{id v }k l l2 lm{id }}metadata nonexistent{nonexistent }} }"
    );
    let without_filter = &UPSTREAM[..UPSTREAM.len() - 1];
    assert_eq!(
        graphql_query(&config(without_filter, json!({}))),
        "query GetClaims($id: uuid!) { user(id:$id) {m{k l l2 lm{id }}metadata nonexistent{nonexistent }} }"
    );
}

#[test]
fn values_are_encoded_as_session_variables() {
    assert_eq!(encode(&json!("v")), "v");
    assert_eq!(encode(&json!(["a", "b"])), r#"{"a","b"}"#);
    assert_eq!(encode(&json!([1, 2, 3])), "{1,2,3}");
    assert_eq!(encode(&json!([])), "{}");
    assert_eq!(encode(&json!(1)), "1");
    assert_eq!(encode(&json!(true)), "true");
    assert_eq!(encode(&Value::Null), "null");
    assert_eq!(encode(&json!({"b": 1, "a": "x"})), r#"{"a":"x","b":1}"#);
    assert_eq!(encode(&json!([{"b": 1, "a": 2}])), r#"{{"a":2,"b":1}}"#);
}

#[test]
fn keys_are_prefixed_once_and_lower_cased() {
    assert_eq!(claim_key("Org-Id"), "x-hasura-org-id");
    assert_eq!(claim_key("x-hasura-org-id"), "x-hasura-org-id");
    assert_eq!(claim_key("X-Hasura-User-Id"), "x-hasura-user-id");
}

#[test]
fn paths_without_a_value_take_the_default_or_null() {
    let claims = CustomClaims::new(config(
        &[
            ("org", "metadata.org"),
            ("team", "metadata.team"),
            ("k", "m.k"),
        ],
        json!({ "team": ["none"] }),
    ));
    let got = claims.extract(&json!({ "m": { "k": 7 }, "metadata": {} }));
    assert_eq!(
        got,
        vec![
            ("x-hasura-k".to_owned(), "7".to_owned()),
            ("x-hasura-org".to_owned(), "null".to_owned()),
            ("x-hasura-team".to_owned(), r#"{"none"}"#.to_owned()),
        ]
    );
}

#[test]
fn the_user_document_uses_hasuras_field_names() {
    let user = User {
        id: crate::model::UserId::new_random(),
        created_at: chrono::Utc::now(),
        display_name: "Ada".into(),
        avatar_url: String::new(),
        locale: "fr".into(),
        email: Some("ada@example.test".into()),
        email_verified: true,
        phone_number: None,
        phone_number_verified: false,
        is_anonymous: false,
        disabled: false,
        default_role: "user".into(),
        roles: vec!["me".into(), "user".into()],
        metadata: Some(json!({ "org": { "id": "o1" } })),
        active_mfa_type: None,
    };
    let claims = CustomClaims::new(config(
        &[
            ("org-id", "metadata.org.id"),
            ("role", "defaultRole"),
            ("locale", "locale"),
            ("roles", "roles[].role"),
            ("email", "email"),
            ("phone", "phoneNumber"),
        ],
        json!({}),
    ));
    let got: BTreeMap<String, String> = claims.extract(&user_document(&user)).into_iter().collect();
    assert_eq!(got["x-hasura-org-id"], "o1");
    assert_eq!(got["x-hasura-role"], "user");
    assert_eq!(got["x-hasura-locale"], "fr");
    assert_eq!(got["x-hasura-roles"], r#"{"me","user"}"#);
    assert_eq!(got["x-hasura-email"], "ada@example.test");
    assert_eq!(got["x-hasura-phone"], "null");
}
