//! `POST /graphql`: the Hasura-shaped security-key fields, row scoping whatever `where` says,
//! and Hasura's error shape.

use serde_json::{Value, json};

use crate::support::{Res, TestApp};

const SECURITY_KEYS: &str = "query securityKeys($userId: uuid!) { authUserSecurityKeys(where: { userId: { _eq: $userId } }) { id nickname } }";
const REMOVE_SECURITY_KEY: &str =
    "mutation removeSecurityKey($id: uuid!) { deleteAuthUserSecurityKey(id: $id) { id } }";

async fn gql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Res {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    app.send(req).await
}

fn error_code(res: &Res) -> &str {
    assert_eq!(res.status, 200, "Hasura answers errors with 200");
    assert!(res.body.get("data").is_none(), "{}", res.body);
    let error = &res.body["errors"][0];
    assert!(error["message"].is_string(), "{}", res.body);
    assert!(error["extensions"]["path"].is_string(), "{}", res.body);
    error["extensions"]["code"].as_str().unwrap()
}

async fn seed_operations_list_and_remove_keys(app: TestApp) {
    let owner = app.key_owner("ada@example.test").await;
    let second = app.add_key(&owner.token, Some("yubikey")).await;
    let token = Some(owner.token.as_str());

    let res = gql(
        &app,
        token,
        SECURITY_KEYS,
        json!({ "userId": owner.user_id }),
    )
    .await;
    assert_eq!(res.status, 200);
    let keys = res.body["data"]["authUserSecurityKeys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{}", res.body);
    assert!(keys.contains(&json!({ "id": second, "nickname": "yubikey" })));

    let res = gql(&app, token, REMOVE_SECURITY_KEY, json!({ "id": second })).await;
    assert_eq!(
        res.body,
        json!({ "data": { "deleteAuthUserSecurityKey": { "id": second } } })
    );
    assert_eq!(app.keys_of(&owner.user_id).await.len(), 1);

    let query = "query k($id: uuid!) { authUserSecurityKey(id: $id) { id userId credentialId transports counter createdAt aaguid authenticatorName backupEligible backedUp lastUsedAt nickname } }";
    let first = app.keys_of(&owner.user_id).await[0].id.to_string();
    let res = gql(&app, token, query, json!({ "id": first })).await;
    let key = &res.body["data"]["authUserSecurityKey"];
    assert_eq!(key["userId"], owner.user_id, "{}", res.body);
    assert_eq!(key["transports"], "internal");
    assert_eq!(key["nickname"], "");
}
both_backends!(seed_operations_list_and_remove_keys);

async fn crafted_filters_never_reach_another_users_rows(app: TestApp) {
    let ada = app.key_owner("ada@example.test").await;
    let bob = app.key_owner("bob@example.test").await;
    app.add_key(&bob.token, Some("bob's")).await;
    let bobs_key = app.keys_of(&bob.user_id).await[0].id.to_string();
    let token = Some(ada.token.as_str());

    let res = gql(&app, token, SECURITY_KEYS, json!({ "userId": bob.user_id })).await;
    assert_eq!(res.body, json!({ "data": { "authUserSecurityKeys": [] } }));
    let everything = "{ authUserSecurityKeys(where: { _or: [{ userId: { _in: [] } }, { nickname: { _is_null: false } }] }) { userId } }";
    let res = gql(&app, token, everything, json!({})).await;
    assert_eq!(
        res.body["data"]["authUserSecurityKeys"],
        json!([{ "userId": ada.user_id }])
    );

    let by_pk = "query k($id: uuid!) { authUserSecurityKey(id: $id) { id } }";
    let res = gql(&app, token, by_pk, json!({ "id": bobs_key })).await;
    assert_eq!(res.body, json!({ "data": { "authUserSecurityKey": null } }));
    let res = gql(&app, token, REMOVE_SECURITY_KEY, json!({ "id": bobs_key })).await;
    assert_eq!(
        res.body,
        json!({ "data": { "deleteAuthUserSecurityKey": null } })
    );
    let rename = "mutation r($id: uuid!) { updateAuthUserSecurityKey(pk_columns: { id: $id }, _set: { nickname: \"mine\" }) { id nickname } }";
    let res = gql(&app, token, rename, json!({ "id": bobs_key })).await;
    assert_eq!(
        res.body,
        json!({ "data": { "updateAuthUserSecurityKey": null } })
    );
    let bobs = app.keys_of(&bob.user_id).await;
    assert_eq!(bobs.len(), 2, "Bob's keys are untouched");
    assert!(bobs.iter().all(|k| k.nickname.as_deref() != Some("mine")));

    let adas_key = app.keys_of(&ada.user_id).await[0].id.to_string();
    let res = gql(&app, token, rename, json!({ "id": adas_key })).await;
    assert_eq!(
        res.body["data"]["updateAuthUserSecurityKey"],
        json!({ "id": adas_key, "nickname": "mine" })
    );
}
both_backends!(crafted_filters_never_reach_another_users_rows);

async fn errors_have_hasuras_shape(app: TestApp) {
    let mut owner = app.key_owner("ada@example.test").await;
    let only_key = app.keys_of(&owner.user_id).await[0].id.to_string();
    let vars = json!({ "userId": owner.user_id });

    let res = gql(&app, None, SECURITY_KEYS, vars.clone()).await;
    assert_eq!(error_code(&res), "access-denied");
    assert_eq!(res.body["errors"][0]["extensions"]["path"], "$");
    let res = gql(&app, Some("not.a.jwt"), SECURITY_KEYS, vars.clone()).await;
    assert_eq!(error_code(&res), "invalid-jwt");
    let res = gql(&app, Some(&owner.token), "{ nope }", json!({})).await;
    assert_eq!(error_code(&res), "validation-failed");
    let res = gql(
        &app,
        Some(&owner.token),
        SECURITY_KEYS,
        json!({ "userId": "x" }),
    )
    .await;
    assert_eq!(error_code(&res), "validation-failed");

    // The last sign-in method is kept (GraphQL never forces).
    let res = gql(
        &app,
        Some(&owner.token),
        REMOVE_SECURITY_KEY,
        json!({ "id": only_key }),
    )
    .await;
    assert_eq!(error_code(&res), "constraint-violation");
    // Deleting needs elevation when configured, as over REST.
    let second = app.add_key(&owner.token, None).await;
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "required")])
        .await;
    let res = gql(
        &app,
        Some(&owner.token),
        REMOVE_SECURITY_KEY,
        json!({ "id": second }),
    )
    .await;
    assert_eq!(error_code(&res), "access-denied");
    let elevated = app.elevate(&mut owner).await;
    let res = gql(
        &app,
        Some(&elevated),
        REMOVE_SECURITY_KEY,
        json!({ "id": second }),
    )
    .await;
    assert_eq!(res.body["data"]["deleteAuthUserSecurityKey"]["id"], second);
    assert_eq!(app.keys_of(&owner.user_id).await.len(), 1);
}
both_backends!(errors_have_hasuras_shape);
