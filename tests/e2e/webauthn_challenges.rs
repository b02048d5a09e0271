//! WebAuthn challenges and keys bound to their ceremony: replayed answers, challenges from
//! another flow, user or RP ID, expired challenges, another user's key, a stored credential
//! registered again, and a cloned key whose counter went back.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::authenticator::{set_client_data_field, set_user_handle};
use crate::support::{ORIGIN, Res, SoftAuthenticator, TestApp};
use crate::webauthn::sign_in_by_email;
use crate::webauthn_rejects::{
    EMAIL, NEW, NO_USER, OTHER, answer, assert_invalid, assert_rejected, call,
    genuine_registration, no_user, token, user_id,
};

/// Posts the same (successful) answer twice; the second must be refused.
async fn twice(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> Res {
    let first = call(app, path, token, body).await;
    assert_eq!(first.status, 200, "{path}: {}", first.body);
    let again = call(app, path, token, body).await;
    assert_invalid(&again, &format!("{path} replayed"));
    first
}

async fn replayed_answers_are_refused(app: TestApp) {
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let options = call(&app, "/signup/webauthn", None, &json!({ "email": EMAIL })).await;
    let registration = json!({ "credential": authenticator.register(&options.body).await });
    let session = twice(&app, "/signup/webauthn/verify", None, &registration).await;
    let session = &session.body["session"];
    let (user, token) = (user_id(session), token(session));
    let token = Some(token.as_str());
    assert_eq!(app.keys_of(&user).await.len(), 1);
    assert_eq!(app.sessions_of(&user).await, 1);

    let options = call(&app, "/signin/webauthn", None, &json!({ "email": EMAIL })).await;
    let assertion = json!({ "credential": authenticator.assert(&options.body).await });
    twice(&app, "/signin/webauthn/verify", None, &assertion).await;
    assert_eq!(app.sessions_of(&user).await, 2);

    let options = call(&app, "/elevate/webauthn", token, &json!({})).await;
    let assertion = json!({ "credential": authenticator.assert(&options.body).await });
    twice(&app, "/elevate/webauthn/verify", token, &assertion).await;
    assert_eq!(app.sessions_of(&user).await, 3);
    assert_eq!(app.keys_of(&user).await[0].counter, 2);

    let options = call(&app, "/user/webauthn/add", token, &json!({})).await;
    let registration = genuine_registration(&options.body).await;
    twice(&app, "/user/webauthn/verify", token, &registration).await;
    assert_eq!(app.keys_of(&user).await.len(), 2);
}
both_backends!(replayed_answers_are_refused);

async fn challenge_of_another_flow_is_refused(app: TestApp) {
    let (session, mut authenticator) = app.sign_up_with_passkey(EMAIL).await;
    let (user, token) = (user_id(&session), token(&session));
    // (options from, answer posted to); the last one's own flow creates the user NEW.
    let cases = [
        ("/signin/webauthn", "/elevate/webauthn/verify"),
        ("/elevate/webauthn", "/signin/webauthn/verify"),
        ("/user/webauthn/add", "/signup/webauthn/verify"),
        ("/signup/webauthn", "/user/webauthn/verify"),
    ];
    for (options_path, wrong) in cases {
        let own = format!("{}/verify", options_path.trim_end_matches("/add"));
        let body = answer(&app, &mut authenticator, options_path, &token).await;
        let (sessions, keys) = (app.sessions_of(&user).await, app.keys_of(&user).await.len());
        let res = call(&app, wrong, Some(&token), &body).await;
        assert_invalid(&res, &format!("{options_path} -> {wrong}"));
        assert_eq!(
            app.sessions_of(&user).await,
            sessions,
            "{wrong}: no session"
        );
        assert_eq!(app.keys_of(&user).await.len(), keys, "{wrong}: no key");
        assert!(no_user(&app, NEW).await, "{wrong}: no user");
        // The challenge is bound to its flow: the wrong endpoint could not even take it.
        let res = call(&app, &own, Some(&token), &body).await;
        assert_eq!(res.status, 200, "{own}: {}", res.body);
    }
}
both_backends!(challenge_of_another_flow_is_refused);

async fn challenge_of_another_user_is_refused(app: TestApp) {
    let (a, _) = app.sign_up_with_passkey(EMAIL).await;
    let (b, mut b_authenticator) = app.sign_up_with_passkey(OTHER).await;
    let (a_id, a_token, b_id, b_token) = (user_id(&a), token(&a), user_id(&b), token(&b));

    // B's elevation challenge, answered by B's key, posted with A's bearer.
    let options = call(&app, "/elevate/webauthn", Some(&b_token), &json!({})).await;
    let assertion = json!({ "credential": b_authenticator.assert(&options.body).await });
    let res = call(&app, "/elevate/webauthn/verify", Some(&a_token), &assertion).await;
    assert_invalid(&res, "B's elevation with A's bearer");
    assert_eq!(app.sessions_of(&a_id).await, 1);
    assert_eq!(app.sessions_of(&b_id).await, 1);
    // Whoever presents a challenge first uses it up.
    let res = call(&app, "/elevate/webauthn/verify", Some(&b_token), &assertion).await;
    assert_invalid(&res, "B's elevation after A's attempt");
    assert_eq!(app.sessions_of(&b_id).await, 1);

    // A's add-key challenge, posted with B's bearer.
    let options = call(&app, "/user/webauthn/add", Some(&a_token), &json!({})).await;
    let registration = genuine_registration(&options.body).await;
    let res = call(&app, "/user/webauthn/verify", Some(&b_token), &registration).await;
    assert_invalid(&res, "A's add-key with B's bearer");
    assert_eq!(app.keys_of(&a_id).await.len(), 1);
    assert_eq!(app.keys_of(&b_id).await.len(), 1);
    let res = call(&app, "/user/webauthn/verify", Some(&a_token), &registration).await;
    assert_invalid(&res, "A's add-key after B's attempt");
    assert_eq!(app.keys_of(&a_id).await.len(), 1);
}
both_backends!(challenge_of_another_user_is_refused);

#[derive(Clone, Copy)]
enum Handle {
    /// B's own user handle, as its authenticator sends it.
    Kept,
    Dropped,
    /// A's id: B's key claims to be one of A's.
    ClaimsA,
    /// The id of no user.
    Unknown,
}

async fn key_of_another_user_is_refused(app: TestApp) {
    use Handle::{ClaimsA, Dropped, Kept, Unknown};
    let (a, mut a_authenticator) = app.sign_up_with_passkey(EMAIL).await;
    let (b, mut b_authenticator) = app.sign_up_with_passkey(OTHER).await;
    let (a_id, a_token, b_id) = (user_id(&a), token(&a), user_id(&b));
    let a_token = Some(a_token.as_str());
    let options = call(&app, "/elevate/webauthn", a_token, &json!({})).await;
    assert!(
        b_authenticator.try_assert(&options.body).await.is_err(),
        "A's options allow none of B's keys"
    );
    let (elevate, signin) = ("/elevate/webauthn", "/signin/webauthn");
    let (by_email, discoverable) = (json!({ "email": EMAIL }), json!({}));
    // A client that drops the allow list lets B's discoverable key answer A's challenge.
    let cases = [
        ("elevation, B's handle", elevate, &by_email, Kept),
        ("elevation, no handle", elevate, &by_email, Dropped),
        ("sign-in by e-mail, B's handle", signin, &by_email, Kept),
        ("sign-in by e-mail, no handle", signin, &by_email, Dropped),
        ("discoverable, A's handle", signin, &discoverable, ClaimsA),
        ("discoverable, no such user", signin, &discoverable, Unknown),
        ("discoverable, no handle", signin, &discoverable, Dropped),
    ];
    for (name, options_path, body, handle) in cases {
        let verify_path = format!("{options_path}/verify");
        let options = call(&app, options_path, a_token, body).await;
        let genuine = json!({ "credential": a_authenticator.assert(&options.body).await });
        let mut open = options.body.clone();
        open["allowCredentials"] = json!([]);
        let mut forged = json!({ "credential": b_authenticator.assert(&open).await });
        match handle {
            Kept => {}
            Dropped => set_user_handle(&mut forged["credential"], None),
            ClaimsA => set_user_handle(&mut forged["credential"], Some(&a_id)),
            Unknown => set_user_handle(&mut forged["credential"], Some(NO_USER)),
        }
        let res = call(&app, &verify_path, a_token, &forged).await;
        assert_invalid(&res, name);
        for user in [&a_id, &b_id] {
            assert_eq!(app.sessions_of(user).await, 1, "{name}: no session");
        }
        assert_eq!(
            app.keys_of(&a_id).await[0].counter,
            0,
            "{name}: A's key unused"
        );
        assert_eq!(
            app.keys_of(&b_id).await[0].counter,
            0,
            "{name}: B's key unused"
        );
        let res = call(&app, &verify_path, a_token, &genuine).await;
        assert_invalid(&res, &format!("{name}: challenge used"));
    }
}
both_backends!(key_of_another_user_is_refused);

/// With attestation "none" nothing ties the attestation object to `clientDataJSON`: a client
/// can present an already stored credential again under a fresh challenge.
async fn registered_credential_cannot_be_registered_again(app: TestApp) {
    let options = call(&app, "/signup/webauthn", None, &json!({ "email": EMAIL })).await;
    let registration = SoftAuthenticator::new(ORIGIN).register(&options.body).await;
    let body = json!({ "credential": registration });
    let res = call(&app, "/signup/webauthn/verify", None, &body).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let (a_id, a_token) = (user_id(&res.body["session"]), token(&res.body["session"]));
    let (b, _) = app.sign_up_with_passkey(OTHER).await;
    let (b_id, b_token) = (user_id(&b), token(&b));
    // (case, bearer: none for a sign-up, else a new key of the bearer)
    let cases = [
        ("sign-up of another e-mail", None),
        ("another user's new key", Some(b_token.as_str())),
        ("the same user's new key", Some(a_token.as_str())),
    ];
    for (name, token) in cases {
        let (options_path, verify_path) = match token {
            None => ("/signup/webauthn", "/signup/webauthn/verify"),
            Some(_) => ("/user/webauthn/add", "/user/webauthn/verify"),
        };
        let options = call(&app, options_path, token, &json!({ "email": NEW })).await;
        let mut credential = registration.clone();
        let challenge = options.body["challenge"].clone();
        set_client_data_field(&mut credential, "challenge", challenge);
        let body = json!({ "credential": credential });
        let res = call(&app, verify_path, token, &body).await;
        assert_invalid(&res, name);
        assert!(no_user(&app, NEW).await, "{name}: no user");
        for user in [&a_id, &b_id] {
            assert_eq!(app.keys_of(user).await.len(), 1, "{name}: no key");
            assert_eq!(app.sessions_of(user).await, 1, "{name}: no session");
        }
    }
}
both_backends!(registered_credential_cannot_be_registered_again);

/// A challenge issued before `AUTH_WEBAUTHN_RP_ID` changed cannot verify after it.
async fn challenge_of_another_rp_id_is_refused(app: TestApp) {
    let (session, mut authenticator) = app.sign_up_with_passkey(EMAIL).await;
    let user = user_id(&session);
    let options = call(&app, "/signin/webauthn", None, &json!({ "email": EMAIL })).await;
    let assertion = json!({ "credential": authenticator.assert(&options.body).await });
    app.change_env(&[("AUTH_WEBAUTHN_RP_ID", "example.localhost")])
        .await;
    let res = call(&app, "/signin/webauthn/verify", None, &assertion).await;
    assert_invalid(&res, "after the RP ID changed");
    app.change_env(&[("AUTH_WEBAUTHN_RP_ID", "")]).await;
    let res = call(&app, "/signin/webauthn/verify", None, &assertion).await;
    assert_invalid(&res, "changed back: challenge used");
    assert_eq!(app.sessions_of(&user).await, 1);
    assert_eq!(app.keys_of(&user).await[0].counter, 0);
}
both_backends!(challenge_of_another_rp_id_is_refused);

async fn expired_challenges_are_refused(app: TestApp) {
    let (session, mut authenticator) = app.sign_up_with_passkey(EMAIL).await;
    let (user, token) = (user_id(&session), token(&session));
    // Just inside the default timeout of 60 s the challenge still answers.
    let options = call(&app, "/signin/webauthn", None, &json!({ "email": EMAIL })).await;
    let assertion = json!({ "credential": authenticator.assert(&options.body).await });
    app.advance(Duration::from_secs(59));
    let res = call(&app, "/signin/webauthn/verify", None, &assertion).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let sessions = app.sessions_of(&user).await;

    for (options_path, verify_path) in [
        ("/signup/webauthn", "/signup/webauthn/verify"),
        ("/signin/webauthn", "/signin/webauthn/verify"),
        ("/user/webauthn/add", "/user/webauthn/verify"),
        ("/elevate/webauthn", "/elevate/webauthn/verify"),
    ] {
        let body = answer(&app, &mut authenticator, options_path, &token).await;
        app.advance(Duration::from_secs(61));
        let res = call(&app, verify_path, Some(&token), &body).await;
        assert_invalid(&res, options_path);
        assert_eq!(app.sessions_of(&user).await, sessions, "{options_path}");
        assert_eq!(app.keys_of(&user).await.len(), 1, "{options_path}");
        assert_eq!(app.keys_of(&user).await[0].counter, 1, "{options_path}");
        assert!(no_user(&app, NEW).await, "{options_path}");
    }
}
both_backends!(expired_challenges_are_refused);

async fn counter_regression_is_refused_and_audited(app: TestApp) {
    let (session, mut authenticator) = app.sign_up_with_passkey(EMAIL).await;
    let user = user_id(&session);
    sign_in_by_email(&app, EMAIL, &mut authenticator).await;
    sign_in_by_email(&app, EMAIL, &mut authenticator).await;
    assert_eq!(app.keys_of(&user).await[0].counter, 2);
    // A clone of the key that lags behind: its next assertion reports 1.
    authenticator.set_counter(0);
    let options = call(&app, "/signin/webauthn", None, &json!({ "email": EMAIL })).await;
    let assertion = json!({ "credential": authenticator.assert(&options.body).await });
    let res = call(&app, "/signin/webauthn/verify", None, &assertion).await;
    assert_rejected(&res, 401, "invalid-email-password", "counter 1 after 2");
    assert_eq!(app.sessions_of(&user).await, 3, "no session");
    assert_eq!(app.keys_of(&user).await[0].counter, 2, "counter kept");
    let id = latchkey::model::UserId::from_uuid(user.parse().unwrap());
    let events = app.store.count_events("webauthn.counter_regressed", id);
    assert_eq!(events.await.unwrap(), 1);
    let res = call(&app, "/signin/webauthn/verify", None, &assertion).await;
    assert_invalid(&res, "challenge used");
}
both_backends!(counter_regression_is_refused_and_audited);

/// Storing a ceremony sweeps the expired ones (in the same statement on PostgreSQL), so
/// abandoned ceremonies do not pile up.
async fn storing_a_challenge_sweeps_expired_ones(app: TestApp) {
    use latchkey::model::{NewChallenge, Purpose};
    let t0 = app.clock_now();
    let challenge = |name: &str, now, expires_at| NewChallenge {
        challenge: name.to_owned(),
        purpose: Purpose::Signin,
        user_id: None,
        rp_id: "localhost".into(),
        state: "{}".into(),
        expires_at,
        now,
    };
    let second = chrono::Duration::seconds(1);
    let store = &app.store;
    store
        .insert_challenge(&challenge("abandoned", t0, t0 + second))
        .await
        .unwrap();
    store
        .insert_challenge(&challenge("live", t0, t0 + second * 60))
        .await
        .unwrap();
    // A later ceremony, after the first one expired.
    let later = t0 + second * 10;
    store
        .insert_challenge(&challenge("later", later, later + second * 60))
        .await
        .unwrap();
    // Asked as of t0, when it was still valid: gone only because it was swept.
    let abandoned = store.take_challenge("abandoned", Purpose::Signin, t0).await;
    assert!(
        abandoned.unwrap().is_none(),
        "the expired ceremony was swept"
    );
    let live = store.take_challenge("live", Purpose::Signin, t0).await;
    assert!(live.unwrap().is_some(), "a live ceremony stays");
}
both_backends!(storing_a_challenge_sweeps_expired_ones);

/// The stored sign-in ceremony holds no copy of the user's keys (verify reads them fresh), so
/// a user with many keys does not grow every ceremony row; each key still signs in, the
/// newest included.
async fn stored_assertion_state_holds_no_keys(app: TestApp) {
    use latchkey::model::Purpose;
    let mut owner = app.key_owner(EMAIL).await;
    let mut newest = SoftAuthenticator::new(ORIGIN);
    for _ in 0..3 {
        app.add_key(&owner.token, None).await;
    }
    app.add_key_with(&owner.token, &mut newest, None).await;

    let options = call(&app, "/signin/webauthn", None, &json!({ "email": EMAIL })).await;
    assert_eq!(options.status, 200, "{}", options.body);
    let listed = options.body["allowCredentials"].as_array().unwrap().len();
    assert_eq!(listed, 5, "the options still list every key");
    // The keys are found by e-mail as the user is: case-insensitively.
    let upper = json!({ "email": EMAIL.to_uppercase() });
    let shouted = call(&app, "/signin/webauthn", None, &upper).await;
    assert_eq!(
        shouted.body["allowCredentials"].as_array().unwrap().len(),
        5
    );
    let challenge = options.body["challenge"].as_str().unwrap();
    let stored = app
        .store
        .take_challenge(challenge, Purpose::Signin, app.clock_now())
        .await
        .unwrap()
        .expect("the ceremony is stored");
    let state: Value = serde_json::from_str(&stored.state).unwrap();
    assert_eq!(state["authentication"]["credentials"], json!([]));
    assert!(stored.state.len() < 400, "{} bytes", stored.state.len());

    sign_in_by_email(&app, EMAIL, &mut newest).await;
    sign_in_by_email(&app, EMAIL, &mut owner.authenticator).await;
}
both_backends!(stored_assertion_state_holds_no_keys);
