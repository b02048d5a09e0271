//! Managing security keys over REST: list, rename, delete; row scoping, the last-key rule,
//! elevation, and malformed requests.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{ORIGIN, SoftAuthenticator, TestApp};

const KEYS: &str = "/user/webauthn/keys";

async fn list_rename_and_delete_own_keys(app: TestApp) {
    let owner = app.key_owner("ada@example.test").await;
    // Keys list oldest first; the test clock stands still unless moved.
    app.advance(Duration::from_secs(1));
    let second = app.add_key(&owner.token, Some("yubikey")).await;

    let list = app.get(KEYS, Some(&owner.token)).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let keys = list.body.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let stored = app.keys_of(&owner.user_id).await;
    let first = &keys[0];
    assert_eq!(first["id"], stored[0].id.to_string());
    assert_eq!(first["userId"], owner.user_id);
    assert_eq!(first["nickname"], "", "sign-up stores '' as Nhost does");
    assert_eq!(
        first["credentialId"],
        owner.authenticator.credential_ids()[0]
    );
    assert_eq!(first["transports"], json!(["internal"]));
    assert!(first["counter"].is_u64());
    assert!(first["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(first["lastUsedAt"], json!(null));
    assert_eq!(first["backupEligible"], true);
    assert!(first["backedUp"].is_boolean());
    assert!(first.get("aaguid").is_some());
    assert!(
        first.get("credentialPublicKey").is_none(),
        "no key material"
    );
    assert_eq!(keys[1]["id"], second.as_str());
    assert_eq!(keys[1]["nickname"], "yubikey");

    let path = format!("{KEYS}/{second}");
    let body = json!({ "nickname": "blue key" });
    let renamed = app
        .call(Method::PATCH, &path, Some(&owner.token), Some(&body))
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(renamed.body["id"], second.as_str());
    assert_eq!(renamed.body["nickname"], "blue key");

    let deleted = app
        .call(Method::DELETE, &path, Some(&owner.token), None)
        .await;
    assert_eq!((deleted.status, &deleted.body), (200, &json!("OK")));
    let left = app.get(KEYS, Some(&owner.token)).await;
    assert_eq!(left.body.as_array().unwrap().len(), 1);
    assert_eq!(left.body[0]["id"], first["id"]);
}
both_backends!(list_rename_and_delete_own_keys);

async fn another_users_keys_are_out_of_reach(app: TestApp) {
    let ada = app.key_owner("ada@example.test").await;
    let bob = app.key_owner("bob@example.test").await;
    app.add_key(&ada.token, None).await;
    let bobs_key = app.keys_of(&bob.user_id).await[0].id.to_string();
    let unknown = uuid::Uuid::new_v4().to_string();

    let list = app.get(KEYS, Some(&ada.token)).await;
    let ids: Vec<_> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["id"])
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&&json!(bobs_key)));

    for id in [&bobs_key, &unknown] {
        let path = format!("{KEYS}/{id}");
        let body = json!({ "nickname": "mine now" });
        let renamed = app
            .call(Method::PATCH, &path, Some(&ada.token), Some(&body))
            .await;
        let deleted = app
            .call(
                Method::DELETE,
                &format!("{path}?force=true"),
                Some(&ada.token),
                None,
            )
            .await;
        for res in [&renamed, &deleted] {
            assert_eq!(
                (res.status, res.error_code()),
                (400, "invalid-request"),
                "{id}"
            );
        }
        // Foreign and unknown ids get byte-identical answers: ids cannot be probed.
        assert_eq!(renamed.body, deleted.body);
    }
    let bobs = app.keys_of(&bob.user_id).await;
    assert_eq!(bobs.len(), 1, "Bob's key is still there");
    assert_eq!(bobs[0].nickname.as_deref(), Some(""), "and not renamed");
}
both_backends!(another_users_keys_are_out_of_reach);

async fn last_key_is_kept_unless_forced(app: TestApp) {
    let owner = app.key_owner("ada@example.test").await;
    let id = app.keys_of(&owner.user_id).await[0].id.to_string();
    let path = format!("{KEYS}/{id}");

    let refused = app
        .call(Method::DELETE, &path, Some(&owner.token), None)
        .await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (400, "invalid-request")
    );
    assert_eq!(
        app.keys_of(&owner.user_id).await.len(),
        1,
        "nothing deleted"
    );
    let not_forced = app
        .call(
            Method::DELETE,
            &format!("{path}?force=false"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(not_forced.status, 400);

    let forced = app
        .call(
            Method::DELETE,
            &format!("{path}?force=true"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!((forced.status, &forced.body), (200, &json!("OK")));
    assert!(app.keys_of(&owner.user_id).await.is_empty());
}
both_backends!(last_key_is_kept_unless_forced);

async fn deleting_needs_elevation_when_configured(app: TestApp) {
    let mut owner = app.key_owner("ada@example.test").await;
    let second = app.add_key(&owner.token, None).await;
    let path = format!("{KEYS}/{second}");
    for mode in ["required", "recommended"] {
        app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", mode)])
            .await;
        let res = app
            .call(Method::DELETE, &path, Some(&owner.token), None)
            .await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{mode}"
        );
        assert_eq!(app.keys_of(&owner.user_id).await.len(), 2, "{mode}");
        // Renaming is not a sensitive change: the plain bearer suffices.
        let body = json!({ "nickname": mode });
        let renamed = app
            .call(Method::PATCH, &path, Some(&owner.token), Some(&body))
            .await;
        assert_eq!(renamed.status, 200, "{mode}: {:?}", renamed.body);
    }
    let elevated = app.elevate(&mut owner).await;
    let res = app.call(Method::DELETE, &path, Some(&elevated), None).await;
    assert_eq!((res.status, &res.body), (200, &json!("OK")));
    assert_eq!(app.keys_of(&owner.user_id).await.len(), 1);
}
both_backends!(deleting_needs_elevation_when_configured);

/// Name, method, path, bearer, body.
type Case<'a> = (
    &'a str,
    Method,
    String,
    Option<&'a str>,
    Option<serde_json::Value>,
);

async fn malformed_requests_get_nhost_errors(app: TestApp) {
    let owner = app.key_owner("ada@example.test").await;
    let id = app.keys_of(&owner.user_id).await[0].id.to_string();
    let path = format!("{KEYS}/{id}");
    let token = Some(owner.token.as_str());
    let cases: Vec<Case> = vec![
        (
            "bad uuid, patch",
            Method::PATCH,
            format!("{KEYS}/not-a-uuid"),
            token,
            Some(json!({ "nickname": "x" })),
        ),
        (
            "bad uuid, delete",
            Method::DELETE,
            format!("{KEYS}/1234"),
            token,
            None,
        ),
        (
            "unknown field",
            Method::PATCH,
            path.clone(),
            token,
            Some(json!({ "nickname": "x", "userId": owner.user_id })),
        ),
        (
            "no nickname",
            Method::PATCH,
            path.clone(),
            token,
            Some(json!({})),
        ),
        (
            "nickname too long",
            Method::PATCH,
            path.clone(),
            token,
            Some(json!({ "nickname": "x".repeat(300) })),
        ),
        ("no body", Method::PATCH, path.clone(), token, None),
        (
            "bad force",
            Method::DELETE,
            format!("{path}?force=maybe"),
            token,
            None,
        ),
        ("no bearer, list", Method::GET, KEYS.to_owned(), None, None),
        (
            "no bearer, delete",
            Method::DELETE,
            format!("{path}?force=true"),
            None,
            None,
        ),
    ];
    for (name, method, path, token, body) in cases {
        let res = app.call(method, &path, token, body.as_ref()).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "invalid-request"),
            "{name}"
        );
    }
    let key = &app.keys_of(&owner.user_id).await[0];
    assert_eq!(key.nickname.as_deref(), Some(""), "nothing was changed");
}
both_backends!(malformed_requests_get_nhost_errors);

const APPLE: &str = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd";
const GOOGLE: &str = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";

fn authenticator_of_model(aaguid: &str) -> SoftAuthenticator {
    let bytes = *uuid::Uuid::parse_str(aaguid).unwrap().as_bytes();
    SoftAuthenticator::with_aaguid(ORIGIN, bytes)
}

async fn keys_are_named_after_their_authenticator(app: TestApp) {
    let (session, _) = app
        .sign_up_with("ada@example.test", authenticator_of_model(APPLE))
        .await;
    let token = session["accessToken"].as_str().unwrap();
    app.advance(Duration::from_secs(1));
    let unknown_model = app.add_key(token, None).await;
    app.advance(Duration::from_secs(1));
    let named = app
        .add_key_with(
            token,
            &mut authenticator_of_model(GOOGLE),
            Some("work phone"),
        )
        .await;
    app.advance(Duration::from_secs(1));
    let unnamed = app
        .add_key_with(token, &mut authenticator_of_model(GOOGLE), None)
        .await;

    let list = app.get(KEYS, Some(token)).await;
    let keys = list.body.as_array().unwrap();
    let summary: Vec<_> = keys
        .iter()
        .map(|k| {
            (
                k["aaguid"].clone(),
                k["authenticatorName"].clone(),
                k["nickname"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                json!(APPLE),
                json!("Apple Passwords"),
                json!("Apple Passwords")
            ),
            (json!(null), json!(null), json!(null)),
            (
                json!(GOOGLE),
                json!("Google Password Manager"),
                json!("work phone")
            ),
            (
                json!(GOOGLE),
                json!("Google Password Manager"),
                json!("Google Password Manager")
            ),
        ],
        "sign-up and add-key default the nickname to the authenticator's name"
    );
    let ids: Vec<_> = keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids[1..],
        [unknown_model.as_str(), named.as_str(), unnamed.as_str()]
    );
}
both_backends!(keys_are_named_after_their_authenticator);

async fn well_known_webauthn_lists_the_related_origins(app: TestApp) {
    let res = app.get("/.well-known/webauthn", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, json!({ "origins": [ORIGIN] }));
    app.change_env(&[(
        "AUTH_WEBAUTHN_RP_ORIGINS",
        "https://admin.example.com,android:apk-key-hash:abc",
    )])
    .await;
    let res = app.get("/.well-known/webauthn", None).await;
    assert_eq!(
        res.body,
        json!({ "origins": ["https://admin.example.com", "android:apk-key-hash:abc", ORIGIN] })
    );
}
both_backends!(well_known_webauthn_lists_the_related_origins);
