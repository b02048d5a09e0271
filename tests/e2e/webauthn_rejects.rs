//! Tampered WebAuthn answers, tables run against all four verify endpoints: what the
//! authenticator signs wrongly, what the client changes afterwards, and malformed bodies. Every
//! case checks the Nhost error, that nothing was stored, and whether the challenge was used up.
//! Also the helpers the other `webauthn_*` reject files share.

use serde_json::{Value, json};

use crate::support::authenticator::{
    b64url, flip_signature_bit, set_client_data_field, set_user_handle,
};
use crate::support::{ORIGIN, Res, SoftAuthenticator, TestApp};

pub const EMAIL: &str = "ada@example.test";
pub const OTHER: &str = "bob@example.test";
pub const NEW: &str = "new@example.test";
/// A user handle (base64url text of a UUID) that names no user.
pub const NO_USER: &str = "00000000-0000-4000-8000-000000000000";

/// POSTs `body`, with a bearer token if given. No response in these files may be a 5xx.
pub async fn call(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> Res {
    let res = match token {
        Some(token) => app.post_bearer(path, token, body).await,
        None => app.post(path, body).await,
    };
    no_server_error(res, path)
}

/// Passes `res` on, failing the test if it is a server error.
pub fn no_server_error(res: Res, what: &str) -> Res {
    assert!(res.status < 500, "{what}: server error {}", res.body);
    res
}

/// The status and Nhost error code of a refusal.
#[track_caller]
pub fn assert_rejected(res: &Res, status: u16, code: &str, case: &str) {
    assert_eq!(
        (res.status, res.error_code()),
        (status, code),
        "{case}: {}",
        res.body
    );
}

/// 400 `invalid-request`: what every malformed, forged or misdirected answer gets.
#[track_caller]
pub fn assert_invalid(res: &Res, case: &str) {
    assert_rejected(res, 400, "invalid-request", case);
}

pub fn user_id(session: &Value) -> String {
    session["user"]["id"].as_str().unwrap().to_owned()
}

pub fn token(session: &Value) -> String {
    session["accessToken"].as_str().unwrap().to_owned()
}

pub async fn no_user(app: &TestApp, email: &str) -> bool {
    app.store.find_user_by_email(email).await.unwrap().is_none()
}

/// A fresh authenticator's answer to creation options.
pub async fn genuine_registration(options: &Value) -> Value {
    let credential = SoftAuthenticator::new(ORIGIN).register(options).await;
    json!({ "credential": credential })
}

/// Gets options at `options_path` and answers them as the user (a fresh authenticator for
/// creation options, the user's own for request options). Sign-up is for `NEW`.
pub async fn answer(
    app: &TestApp,
    authenticator: &mut SoftAuthenticator,
    options_path: &str,
    token: &str,
) -> Value {
    let email = if options_path == "/signup/webauthn" {
        NEW
    } else {
        EMAIL
    };
    let options = call(app, options_path, Some(token), &json!({ "email": email })).await;
    assert_eq!(options.status, 200, "{options_path}: {}", options.body);
    if options.body.get("rp").is_some() {
        genuine_registration(&options.body).await
    } else {
        json!({ "credential": authenticator.assert(&options.body).await })
    }
}

/// One way to spoil the answer to a ceremony: how the authenticator misbehaves while signing,
/// what the client changes in the body afterwards, and whether the server gets as far as
/// taking the challenge (a body refused while being parsed leaves it to the genuine client).
/// Every refusal is `invalid-request`, with status 400 or, for a body over the limit, 413.
struct Tamper {
    name: &'static str,
    authenticator: fn(&mut SoftAuthenticator),
    body: fn(&mut Value),
    takes_challenge: bool,
    status: u16,
}

fn honest(_: &mut SoftAuthenticator) {}

fn untouched(_: &mut Value) {}

fn response(body: &mut Value) -> &mut Value {
    &mut body["credential"]["response"]
}

fn remove(object: &mut Value, key: &str) {
    object.as_object_mut().unwrap().remove(key);
}

/// Tampering that both registrations and assertions must survive.
fn common_tampers() -> Vec<Tamper> {
    let tamper = |name, body: fn(&mut Value)| Tamper {
        name,
        authenticator: honest,
        body,
        takes_challenge: false,
        status: 400,
    };
    let signer = |name, authenticator: fn(&mut SoftAuthenticator)| Tamper {
        name,
        authenticator,
        body: untouched,
        takes_challenge: true,
        status: 400,
    };
    vec![
        signer("another origin", |a| a.set_origin("http://localhost:3001")),
        signer("another RP ID hash", |a| {
            a.set_rp_id_override(Some("evil.localhost"))
        }),
        signer("UV flag missing while required", |a| {
            a.set_user_verification(false)
        }),
        tamper("challenge never issued", |b| {
            let stray = json!(b64url(&[7; 32]));
            set_client_data_field(&mut b["credential"], "challenge", stray)
        }),
        tamper("clientDataJSON not JSON", |b| {
            response(b)["clientDataJSON"] = json!(b64url(b"not json"))
        }),
        tamper("rawId not base64url", |b| {
            b["credential"]["rawId"] = json!("!!!")
        }),
        // Found by fuzzing: webauthn-rs reads only rawId.
        tamper("id is not the rawId", |b| {
            b["credential"]["id"] = json!(b64url(b"another credential"))
        }),
        tamper("type not public-key", |b| {
            b["credential"]["type"] = json!("password")
        }),
        tamper("credential without response", |b| {
            remove(&mut b["credential"], "response")
        }),
        tamper("credential without rawId", |b| {
            remove(&mut b["credential"], "rawId")
        }),
        tamper("body without credential", |b| remove(b, "credential")),
        tamper("unknown field in credential", |b| {
            b["credential"]["extra"] = json!(true)
        }),
        tamper("unknown field in response", |b| {
            response(b)["extra"] = json!(true)
        }),
        Tamper {
            status: 413,
            ..tamper("70 KiB clientDataJSON (body limit 64 KiB)", |b| {
                response(b)["clientDataJSON"] = json!("A".repeat(70 * 1024))
            })
        },
    ]
}

fn assertion_tampers() -> Vec<Tamper> {
    let taken = |name, body: fn(&mut Value)| Tamper {
        name,
        authenticator: honest,
        body,
        takes_challenge: true,
        status: 400,
    };
    let mut cases = common_tampers();
    cases.extend([
        taken("flipped signature bit", |b| {
            flip_signature_bit(&mut b["credential"])
        }),
        taken("userHandle of an unknown user", |b| {
            set_user_handle(&mut b["credential"], Some(NO_USER))
        }),
        taken("userHandle not a user id", |b| {
            set_user_handle(&mut b["credential"], Some(&b64url(b"short")))
        }),
        Tamper {
            name: "signature not base64url",
            authenticator: honest,
            body: |b| response(b)["signature"] = json!("!!!"),
            takes_challenge: false,
            status: 400,
        },
    ]);
    cases
}

/// With attestation "none" nothing signs clientDataJSON: only the server's own checks catch
/// a changed type or origin there.
fn registration_tampers() -> Vec<Tamper> {
    let tamper = |name, body: fn(&mut Value), takes_challenge| Tamper {
        name,
        authenticator: honest,
        body,
        takes_challenge,
        status: 400,
    };
    let mut cases = common_tampers();
    cases.extend([
        tamper(
            "clientData type webauthn.get",
            |b| set_client_data_field(&mut b["credential"], "type", json!("webauthn.get")),
            true,
        ),
        tamper(
            "attestationObject not CBOR",
            |b| response(b)["attestationObject"] = json!(b64url(b"\xff\x00garbage")),
            true,
        ),
        tamper(
            "attestationObject not base64url",
            |b| response(b)["attestationObject"] = json!("!!!"),
            false,
        ),
        tamper(
            "credential without attestationObject",
            |b| remove(response(b), "attestationObject"),
            false,
        ),
    ]);
    cases
}

/// The tampered answer to request options, signed by the user's own authenticator.
async fn forged_assertion(
    authenticator: &mut SoftAuthenticator,
    options: &Value,
    case: &Tamper,
) -> Value {
    (case.authenticator)(authenticator);
    let assertion = authenticator.assert(options).await;
    authenticator.set_origin(ORIGIN);
    authenticator.set_user_verification(true);
    authenticator.set_rp_id_override(None);
    let mut body = json!({ "credential": assertion });
    (case.body)(&mut body);
    body
}

/// The tampered answer to creation options, from a fresh authenticator.
async fn forged_registration(options: &Value, case: &Tamper) -> Value {
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    (case.authenticator)(&mut authenticator);
    let mut body = json!({ "credential": authenticator.register(options).await });
    (case.body)(&mut body);
    body
}

/// Re-posts the genuine answer after the forged one was refused: refused too if the forged
/// one used the challenge up, else accepted. Returns whether it was accepted.
async fn retry_genuine(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    genuine: &Value,
    case: &Tamper,
) -> bool {
    let res = call(app, path, token, genuine).await;
    if case.takes_challenge {
        let what = format!("{}: the challenge is single use", case.name);
        assert_invalid(&res, &what);
    } else {
        assert_eq!(
            res.status, 200,
            "{}: challenge kept: {}",
            case.name, res.body
        );
    }
    !case.takes_challenge
}

/// Sign-in by e-mail or elevation: both verify an assertion of the user's key.
async fn refuses_tampered_assertions(app: TestApp, options_path: &str, verify_path: &str) {
    let (session, mut authenticator) = app.sign_up_with_passkey(EMAIL).await;
    let (user, token) = (user_id(&session), token(&session));
    let token = Some(token.as_str());
    for case in assertion_tampers() {
        let options = call(&app, options_path, token, &json!({ "email": EMAIL })).await;
        assert_eq!(options.status, 200, "{}: {}", case.name, options.body);
        let genuine = json!({ "credential": authenticator.assert(&options.body).await });
        let forged = forged_assertion(&mut authenticator, &options.body, &case).await;
        let sessions = app.sessions_of(&user).await;
        let counter = app.keys_of(&user).await[0].counter;
        let res = call(&app, verify_path, token, &forged).await;
        assert_rejected(&res, case.status, "invalid-request", case.name);
        assert_eq!(app.sessions_of(&user).await, sessions, "{}", case.name);
        assert_eq!(
            app.keys_of(&user).await[0].counter,
            counter,
            "{}",
            case.name
        );
        let accepted = retry_genuine(&app, verify_path, token, &genuine, &case).await;
        let expected = sessions + u64::from(accepted);
        assert_eq!(app.sessions_of(&user).await, expected, "{}", case.name);
    }
}

async fn signin_verify_refuses_tampered_assertions(app: TestApp) {
    refuses_tampered_assertions(app, "/signin/webauthn", "/signin/webauthn/verify").await;
}
both_backends!(signin_verify_refuses_tampered_assertions);

async fn elevate_verify_refuses_tampered_assertions(app: TestApp) {
    refuses_tampered_assertions(app, "/elevate/webauthn", "/elevate/webauthn/verify").await;
}
both_backends!(elevate_verify_refuses_tampered_assertions);

async fn signup_verify_refuses_tampered_registrations(app: TestApp) {
    for (i, case) in registration_tampers().iter().enumerate() {
        let email = format!("case{i}@example.test");
        let options = call(&app, "/signup/webauthn", None, &json!({ "email": email })).await;
        assert_eq!(options.status, 200, "{}: {}", case.name, options.body);
        let genuine = genuine_registration(&options.body).await;
        let forged = forged_registration(&options.body, case).await;
        let res = call(&app, "/signup/webauthn/verify", None, &forged).await;
        assert_rejected(&res, case.status, "invalid-request", case.name);
        assert!(no_user(&app, &email).await, "{}: no user", case.name);
        let handle = options.body["user"]["id"].as_str().unwrap();
        assert!(
            app.keys_of(handle).await.is_empty(),
            "{}: no key",
            case.name
        );
        let accepted = retry_genuine(&app, "/signup/webauthn/verify", None, &genuine, case).await;
        assert_eq!(!no_user(&app, &email).await, accepted, "{}", case.name);
    }
}
both_backends!(signup_verify_refuses_tampered_registrations);

async fn add_key_verify_refuses_tampered_registrations(app: TestApp) {
    let (session, _) = app.sign_up_with_passkey(EMAIL).await;
    let (user, token) = (user_id(&session), token(&session));
    let token = Some(token.as_str());
    for case in registration_tampers() {
        let options = call(&app, "/user/webauthn/add", token, &json!({})).await;
        assert_eq!(options.status, 200, "{}: {}", case.name, options.body);
        let genuine = genuine_registration(&options.body).await;
        let forged = forged_registration(&options.body, &case).await;
        let keys = app.keys_of(&user).await.len();
        let res = call(&app, "/user/webauthn/verify", token, &forged).await;
        assert_rejected(&res, case.status, "invalid-request", case.name);
        assert_eq!(
            app.keys_of(&user).await.len(),
            keys,
            "{}: no key",
            case.name
        );
        let accepted = retry_genuine(&app, "/user/webauthn/verify", token, &genuine, &case).await;
        let expected = keys + usize::from(accepted);
        assert_eq!(app.keys_of(&user).await.len(), expected, "{}", case.name);
    }
}
both_backends!(add_key_verify_refuses_tampered_registrations);
