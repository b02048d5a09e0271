//! Attestation policy (`AUTH_WEBAUTHN_ATTESTATION`, `AUTH_WEBAUTHN_ALLOWED_AAGUIDS` with a CA
//! file) and the WebAuthn Signal API support: unknown credentials reported on sign-in, and
//! `GET /user/webauthn/signals`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::attestation::TestCa;
use crate::support::authenticator::set_user_handle;
use crate::support::{ORIGIN, SoftAuthenticator, TestApp};

const ALLOWED: [u8; 16] = [0xa1; 16];
const OTHER_MODEL: [u8; 16] = [0xb2; 16];

fn aaguid_text(bytes: [u8; 16]) -> String {
    uuid::Uuid::from_bytes(bytes).to_string()
}

async fn attestation_conveyance_follows_the_config(app: TestApp) {
    let options = app
        .post("/signup/webauthn", &json!({ "email": "ada@example.test" }))
        .await;
    assert_eq!(options.body["attestation"], "none", "{:?}", options.body);
    for wanted in ["indirect", "direct"] {
        let server = app
            .restart_with(&[("AUTH_WEBAUTHN_ATTESTATION", wanted)])
            .await;
        let options = server
            .post("/signup/webauthn", &json!({ "email": "ada@example.test" }))
            .await;
        assert_eq!(options.body["attestation"], wanted);
    }
}
both_backends!(attestation_conveyance_follows_the_config);

/// Signs up through `server`, letting `attest` rewrite the credential before verify.
async fn sign_up(
    server: &TestApp,
    email: &str,
    authenticator: &mut SoftAuthenticator,
    attest: impl FnOnce(&mut Value),
) -> crate::support::Res {
    let options = server
        .post("/signup/webauthn", &json!({ "email": email }))
        .await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let mut credential = authenticator.register(&options.body).await;
    attest(&mut credential);
    server
        .post(
            "/signup/webauthn/verify",
            &json!({ "credential": credential }),
        )
        .await
}

fn assert_refused(res: &crate::support::Res, case: &str) {
    assert_eq!(
        (res.status, res.error_code()),
        (400, "invalid-request"),
        "{case}: {:?}",
        res.body
    );
    assert_eq!(
        res.body["message"], "This authenticator model is not allowed by this server",
        "{case}"
    );
}

async fn allow_list_admits_only_attested_allowed_models(app: TestApp) {
    let trusted = TestCa::new("Trusted Vendor");
    let unknown_ca = TestCa::new("Unknown Vendor");
    let ca_file = trusted.write_pem();
    let allowed = aaguid_text(ALLOWED);
    let server = app
        .restart_with(&[
            ("AUTH_WEBAUTHN_ALLOWED_AAGUIDS", &allowed),
            (
                "LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE",
                ca_file.to_str().unwrap(),
            ),
        ])
        .await;
    let options = server
        .post("/signup/webauthn", &json!({ "email": "x@example.test" }))
        .await;
    assert_eq!(options.body["attestation"], "direct", "asked by default");

    // An allowed AAGUID alone proves nothing: the software key attests "none".
    let mut plain = SoftAuthenticator::with_aaguid(ORIGIN, ALLOWED);
    let res = sign_up(&server, "none@example.test", &mut plain, |_| {}).await;
    assert_refused(&res, "no attestation statement");
    // A statement from a CA nobody configured.
    let mut foreign = SoftAuthenticator::with_aaguid(ORIGIN, ALLOWED);
    let res = sign_up(&server, "foreign@example.test", &mut foreign, |c| {
        unknown_ca.attest(c)
    })
    .await;
    assert_refused(&res, "untrusted chain");
    // The trusted CA, but a model outside the allow-list.
    let mut other = SoftAuthenticator::with_aaguid(ORIGIN, OTHER_MODEL);
    let res = sign_up(&server, "other@example.test", &mut other, |c| {
        trusted.attest(c)
    })
    .await;
    assert_refused(&res, "model not allowed");
    for email in ["none", "foreign", "other"] {
        let user = app
            .store
            .find_user_by_email(&format!("{email}@example.test"))
            .await
            .unwrap();
        assert!(user.is_none(), "{email}: no user was created");
    }

    // The allowed model, attested by the trusted CA.
    let mut good = SoftAuthenticator::with_aaguid(ORIGIN, ALLOWED);
    let res = sign_up(&server, "good@example.test", &mut good, |c| {
        trusted.attest(c)
    })
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let user_id = res.body["session"]["user"]["id"].as_str().unwrap();
    let token = res.body["session"]["accessToken"].as_str().unwrap();
    let keys = app.keys_of(user_id).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].attestation_format.as_deref(), Some("packed"));
    assert_eq!(keys[0].aaguid, Some(uuid::Uuid::from_bytes(ALLOWED)));

    // Adding a key goes through the same policy.
    let options = server
        .post_bearer("/user/webauthn/add", token, &json!({}))
        .await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let mut second = SoftAuthenticator::with_aaguid(ORIGIN, OTHER_MODEL);
    let mut credential = second.register(&options.body).await;
    trusted.attest(&mut credential);
    let res = server
        .post_bearer(
            "/user/webauthn/verify",
            token,
            &json!({ "credential": credential }),
        )
        .await;
    assert_refused(&res, "add key of another model");
    assert_eq!(app.keys_of(user_id).await.len(), 1, "nothing stored");

    // The user still signs in with the admitted key.
    let options = server
        .post("/signin/webauthn", &json!({ "email": "good@example.test" }))
        .await;
    let assertion = good.assert(&options.body).await;
    let res = server
        .post(
            "/signin/webauthn/verify",
            &json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let _ = std::fs::remove_file(ca_file);
}
both_backends!(allow_list_admits_only_attested_allowed_models);

async fn unknown_credential_is_named_for_the_signal_api(app: TestApp) {
    let mut owner = app.key_owner("ada@example.test").await;
    let mut spare = SoftAuthenticator::new(ORIGIN);
    app.add_key_with(&owner.token, &mut spare, Some("spare"))
        .await;
    let spare_id = spare.credential_ids()[0].clone();
    let elevated = app.elevate(&mut owner).await;
    let key = app
        .keys_of(&owner.user_id)
        .await
        .into_iter()
        .find(|k| k.nickname.as_deref() == Some("spare"))
        .unwrap();
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/user/webauthn/keys/{}", key.id),
            Some(&elevated),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);

    // The deleted key still sits in the authenticator; a discoverable sign-in uses it.
    let options = app.post("/signin/webauthn", &json!({})).await;
    let assertion = spare.assert(&options.body).await;
    let res = app
        .post(
            "/signin/webauthn/verify",
            &json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-email-password"),
        "{:?}",
        res.body
    );
    assert_eq!(res.body["credentialId"], spare_id.as_str());

    // A key some other user has is never reported as unknown.
    let mut bob = app.key_owner("bob@example.test").await;
    let options = app
        .post("/signin/webauthn", &json!({ "email": "ada@example.test" }))
        .await;
    let mut options_any_key = options.body.clone();
    options_any_key["allowCredentials"] = json!([]);
    let mut assertion = bob.authenticator.assert(&options_any_key).await;
    set_user_handle(&mut assertion, None);
    let res = app
        .post(
            "/signin/webauthn/verify",
            &json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(res.status, 400, "{:?}", res.body);
    assert!(res.body.get("credentialId").is_none(), "{:?}", res.body);
    let _ = app.elevate(&mut bob).await; // Bob's key still works.
}
both_backends!(unknown_credential_is_named_for_the_signal_api);

async fn signals_give_the_signal_api_arguments(app: TestApp) {
    let owner = app.key_owner("ada@example.test").await;
    let mut second = SoftAuthenticator::new(ORIGIN);
    // Keys list oldest first; the test clock stands still unless moved.
    app.advance(std::time::Duration::from_secs(1));
    app.add_key_with(&owner.token, &mut second, None).await;
    let res = app.get("/user/webauthn/signals", Some(&owner.token)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let mut ids = owner.authenticator.credential_ids();
    ids.extend(second.credential_ids());
    assert_eq!(
        res.body,
        json!({
            "allAcceptedCredentials": {
                "rpId": "localhost",
                "userId": owner.user_id,
                "allAcceptedCredentialIds": ids,
            },
            "currentUserDetails": {
                "rpId": "localhost",
                "userId": owner.user_id,
                "name": "ada@example.test",
                "displayName": "ada@example.test",
            },
        })
    );
    // The user id the page signals is the handle the authenticator stored at registration.
    let options = app.post("/signin/webauthn", &json!({})).await;
    let assertion = second.assert(&options.body).await;
    assert_eq!(assertion["response"]["userHandle"], owner.user_id.as_str());

    let anonymous = app.get("/user/webauthn/signals", None).await;
    assert_eq!(
        anonymous.status, 400,
        "bearer required, as every /user route"
    );
}
both_backends!(signals_give_the_signal_api_arguments);
