//! TOTP multi-factor authentication (issue #18): generating and sealing the secret, turning
//! TOTP on and off, the `mfaTotp:` ticket of a password sign-in, single-use time steps,
//! tickets dying after five wrong codes or five minutes, recovery codes, and clear-text
//! secrets migrated from Nhost. Codes are computed here from the returned secret.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use latchkey::auth::encryption::Sealer;
use latchkey::model::UserId;

use crate::support::{Res, TestApp};

const PASSWORD: &str = "correct horse battery";

/// The code of `secret` (base32) at the app's current time, `steps_ago` steps back.
fn code(app: &TestApp, secret: &str, steps_ago: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_bytes().to_vec())
        .build()
        .unwrap();
    let at = app.clock_now().timestamp() - 30 * steps_ago;
    totp.generate(u64::try_from(at).unwrap()).to_string()
}

fn user_id(session: &Value) -> UserId {
    UserId::from_uuid(session["user"]["id"].as_str().unwrap().parse().unwrap())
}

/// A new e-mail-and-password user with MFA enabled on the server: its session.
async fn password_user(app: &TestApp, email: &str) -> Value {
    app.change_env(&[("AUTH_MFA_ENABLED", "true")]).await;
    let body = json!({ "email": email, "password": PASSWORD });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["session"].clone()
}

async fn generate(app: &TestApp, token: &str) -> Res {
    app.get("/mfa/totp/generate", Some(token)).await
}

async fn user_mfa(app: &TestApp, token: &str, code: &str, kind: Option<&str>) -> Res {
    let body = match kind {
        Some(kind) => json!({ "code": code, "activeMfaType": kind }),
        None => json!({ "code": code }),
    };
    app.post_bearer("/user/mfa", token, &body).await
}

/// Generates a secret and turns TOTP on: the secret.
async fn enable_totp(app: &TestApp, token: &str) -> String {
    let res = generate(app, token).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let secret = res.body["totpSecret"].as_str().unwrap().to_owned();
    let res = user_mfa(app, token, &code(app, &secret, 0), Some("totp")).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body, json!("OK"));
    secret
}

async fn password_sign_in(app: &TestApp, email: &str) -> Res {
    let body = json!({ "email": email, "password": PASSWORD });
    let res = app.post("/signin/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res
}

async fn ticket(app: &TestApp, email: &str) -> String {
    let res = password_sign_in(app, email).await;
    assert!(res.body.get("session").is_none(), "{:?}", res.body);
    let ticket = res.body["mfa"]["ticket"].as_str().unwrap().to_owned();
    assert!(ticket.starts_with("mfaTotp:"), "{ticket}");
    ticket
}

async fn sign_in_totp(app: &TestApp, ticket: &str, otp: &str) -> Res {
    let body = json!({ "ticket": ticket, "otp": otp });
    app.post("/signin/mfa/totp", &body).await
}

async fn stored_secret(app: &TestApp, user: UserId) -> Option<String> {
    app.store.totp_secret_of(user).await.unwrap()
}

/// The otpauth:// URI in the QR code of a `data:image/png;base64,` URL.
fn qr_content(image_url: &str) -> String {
    let png = image_url.strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let (w, h) = image.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

async fn generate_gives_a_sealed_secret_and_its_qr_code(app: TestApp) {
    let session = password_user(&app, "qr@example.test").await;
    let token = session["accessToken"].as_str().unwrap();
    let user = user_id(&session);

    app.change_env(&[("AUTH_MFA_ENABLED", "false")]).await;
    let res = generate(&app, token).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
    app.change_env(&[
        ("AUTH_MFA_ENABLED", "true"),
        ("AUTH_MFA_TOTP_ISSUER", "Acme"),
    ])
    .await;

    let anonymous = app.sign_in_anonymous().await;
    let res = generate(&app, anonymous["accessToken"].as_str().unwrap()).await;
    assert_eq!((res.status, res.error_code()), (403, "forbidden-anonymous"));

    let res = generate(&app, token).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let secret = res.body["totpSecret"].as_str().unwrap();
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    assert!(bytes.as_bytes().len() >= 20, "{secret}");
    let uri = qr_content(res.body["imageUrl"].as_str().unwrap());
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=Acme"), "{uri}");
    assert!(uri.contains("qr%40example.test"), "{uri}");

    let stored = stored_secret(&app, user).await.unwrap();
    assert!(Sealer::is_sealed(&stored), "{stored}");
    assert!(
        !stored.contains(secret),
        "the secret is not stored in clear"
    );

    // A second generate before activation replaces the pending secret.
    let res = generate(&app, token).await;
    assert_eq!(res.status, 200);
    assert_ne!(res.body["totpSecret"].as_str().unwrap(), secret);
}
both_backends!(generate_gives_a_sealed_secret_and_its_qr_code);

async fn totp_turns_on_and_off_with_a_right_code(app: TestApp) {
    let session = password_user(&app, "toggle@example.test").await;
    let token = session["accessToken"].as_str().unwrap();
    let user = user_id(&session);

    let res = user_mfa(&app, token, "123456", Some("totp")).await;
    assert_eq!((res.status, res.error_code()), (400, "no-totp-secret"));
    let res = user_mfa(&app, token, "123456", Some("")).await;
    assert_eq!((res.status, res.error_code()), (401, "disabled-mfa-totp"));

    let res = generate(&app, token).await;
    let secret = res.body["totpSecret"].as_str().unwrap().to_owned();
    let wrong = if code(&app, &secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = user_mfa(&app, token, wrong, Some("totp")).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));
    let res = user_mfa(&app, token, &code(&app, &secret, 0), Some("sms")).await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let res = app.get("/user", Some(token)).await;
    assert_eq!(res.body["activeMfaType"], Value::Null);

    let now = code(&app, &secret, 0);
    let res = user_mfa(&app, token, &now, Some("totp")).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get("/user", Some(token)).await;
    assert_eq!(res.body["activeMfaType"], "totp");
    let res = user_mfa(&app, token, &now, Some("totp")).await;
    assert_eq!((res.status, res.error_code()), (400, "totp-already-active"));

    // Upstream silently re-keys an active TOTP; here the secret is kept.
    let before = stored_secret(&app, user).await;
    let res = generate(&app, token).await;
    assert_eq!((res.status, res.error_code()), (400, "totp-already-active"));
    assert_eq!(stored_secret(&app, user).await, before);

    // Activation did not use up the step: sign in with the same code, as upstream's suite.
    let pending = ticket(&app, "toggle@example.test").await;
    let res = sign_in_totp(&app, &pending, &now).await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    let res = user_mfa(&app, token, wrong, None).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));
    let res = user_mfa(&app, token, &now, None).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get("/user", Some(token)).await;
    assert_eq!(res.body["activeMfaType"], Value::Null);
    assert_eq!(
        stored_secret(&app, user).await,
        None,
        "the secret is forgotten"
    );
    let res = password_sign_in(&app, "toggle@example.test").await;
    assert!(res.body.get("mfa").is_none(), "{:?}", res.body);
    assert!(res.body["session"].is_object());
}
both_backends!(totp_turns_on_and_off_with_a_right_code);

async fn password_sign_in_needs_a_fresh_code(app: TestApp) {
    let email = "second@example.test";
    let session = password_user(&app, email).await;
    let token = session["accessToken"].as_str().unwrap();
    let res = password_sign_in(&app, email).await;
    assert!(
        res.body.get("mfa").is_none(),
        "no mfa key at all: {:?}",
        res.body
    );
    let secret = enable_totp(&app, token).await;

    app.advance(Duration::from_secs(30));
    let first = ticket(&app, email).await;
    let res = sign_in_totp(&app, &first, &code(&app, &secret, 0)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(user_id(&res.body["session"]), user_id(&session));
    let res = app.get(
        "/user",
        Some(res.body["session"]["accessToken"].as_str().unwrap()),
    );
    assert_eq!(res.await.body["activeMfaType"], "totp");

    // The ticket is single-use; the code's step is spent, and so is any earlier one.
    let res = sign_in_totp(&app, &first, &code(&app, &secret, 0)).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));
    let again = ticket(&app, email).await;
    let res = sign_in_totp(&app, &again, &code(&app, &secret, 0)).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));
    let res = sign_in_totp(&app, &again, &code(&app, &secret, 1)).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));
    app.advance(Duration::from_secs(30));
    let res = sign_in_totp(&app, &again, &code(&app, &secret, 0)).await;
    assert_eq!(res.status, 200, "the next step signs in: {:?}", res.body);

    let res = sign_in_totp(&app, "verifyEmail:abc", "123456").await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    let res = sign_in_totp(&app, "mfaTotp:unknown", "123456").await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));
    app.change_env(&[("AUTH_MFA_ENABLED", "false")]).await;
    let res = sign_in_totp(&app, &again, &code(&app, &secret, 0)).await;
    assert_eq!((res.status, res.error_code()), (409, "disabled-endpoint"));
}
both_backends!(password_sign_in_needs_a_fresh_code);

async fn one_code_signs_in_once_under_concurrency(app: TestApp) {
    let email = "race@example.test";
    let session = password_user(&app, email).await;
    let secret = enable_totp(&app, session["accessToken"].as_str().unwrap()).await;
    app.advance(Duration::from_secs(30));
    let shared = ticket(&app, email).await;
    let otp = code(&app, &secret, 0);
    let tries = (0..4).map(|_| sign_in_totp(&app, &shared, &otp));
    let results = futures::future::join_all(tries).await;
    let won = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        won,
        1,
        "{:?}",
        results.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for res in results.iter().filter(|r| r.status != 200) {
        assert_eq!(res.status, 401, "{:?}", res.body);
    }
    assert_eq!(app.sessions_of(&user_id(&session).to_string()).await, 2);
}
both_backends!(one_code_signs_in_once_under_concurrency);

async fn tickets_die_after_five_wrong_codes_or_five_minutes(app: TestApp) {
    let email = "tickets@example.test";
    let session = password_user(&app, email).await;
    let secret = enable_totp(&app, session["accessToken"].as_str().unwrap()).await;
    app.advance(Duration::from_secs(30));
    let wrong = |app: &TestApp| {
        let right = code(app, &secret, 0);
        (if right == "000000" {
            "111111"
        } else {
            "000000"
        })
        .to_owned()
    };

    // Four wrong codes leave the ticket alive.
    let survivor = ticket(&app, email).await;
    for _ in 0..4 {
        let res = sign_in_totp(&app, &survivor, &wrong(&app)).await;
        assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));
    }
    let res = sign_in_totp(&app, &survivor, &code(&app, &secret, 0)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // The fifth wrong code kills it.
    app.advance(Duration::from_secs(30));
    let doomed = ticket(&app, email).await;
    for _ in 0..5 {
        let res = sign_in_totp(&app, &doomed, &wrong(&app)).await;
        assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));
    }
    let res = sign_in_totp(&app, &doomed, &code(&app, &secret, 0)).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));

    // Other flows never take it, and leave it in place.
    let other = ticket(&app, email).await;
    let body = json!({ "email": email, "otp": other });
    let res = app.post("/signin/otp/email/verify", &body).await;
    assert_ne!(res.status, 200, "{:?}", res.body);
    app.change_env(&[("AUTH_OTP_EMAIL_ENABLED", "true")]).await;
    let res = app.post("/signin/otp/email/verify", &body).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));
    let link = format!(
        "{}/verify?ticket={other}&type=signinPasswordless&redirectTo=http://localhost:3000",
        app.base
    );
    let res = app.client.get(&link).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=invalid-ticket"), "{location}");
    assert!(!location.contains("refreshToken"), "{location}");

    // Five minutes later the ticket is gone.
    app.advance(Duration::from_secs(5 * 60 + 1));
    let res = sign_in_totp(&app, &other, &code(&app, &secret, 0)).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-ticket"));
    let fresh = ticket(&app, email).await;
    app.advance(Duration::from_secs(4 * 60));
    let res = sign_in_totp(&app, &fresh, &code(&app, &secret, 0)).await;
    assert_eq!(res.status, 200, "alive within five minutes: {:?}", res.body);
}
both_backends!(tickets_die_after_five_wrong_codes_or_five_minutes);

async fn recovery_codes_sign_in_once_each(app: TestApp) {
    let email = "recovery@example.test";
    let session = password_user(&app, email).await;
    let token = session["accessToken"].as_str().unwrap().to_owned();
    let res = app
        .post_bearer("/user/mfa/recovery-codes", &token, &json!({}))
        .await;
    assert_eq!((res.status, res.error_code()), (401, "disabled-mfa-totp"));
    let secret = enable_totp(&app, &token).await;

    let res = app
        .post_bearer("/user/mfa/recovery-codes", &token, &json!({}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let codes: Vec<String> = res.body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let unique: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10);
    for c in &codes {
        let groups: Vec<&str> = c.split('-').collect();
        assert_eq!(groups.len(), 3, "{c}");
        assert!(groups.iter().all(|g| g.len() == 4), "{c}");
    }
    let res = app.get("/user/mfa", Some(&token)).await;
    assert_eq!(
        res.body,
        json!({ "activeMfaType": "totp", "recoveryCodesLeft": 10 })
    );

    let first = ticket(&app, email).await;
    let res = sign_in_totp(&app, &first, &codes[0].to_uppercase()).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get("/user/mfa", Some(&token)).await;
    assert_eq!(res.body["recoveryCodesLeft"], 9);
    let again = ticket(&app, email).await;
    let res = sign_in_totp(&app, &again, &codes[0]).await;
    assert_eq!(
        (res.status, res.error_code()),
        (401, "invalid-totp"),
        "single use"
    );
    let res = sign_in_totp(&app, &again, "abcd-efgh-jkmn").await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));

    // A new set voids the old one.
    let res = app
        .post_bearer("/user/mfa/recovery-codes", &token, &json!({}))
        .await;
    let fresh = res.body["recoveryCodes"][0].as_str().unwrap().to_owned();
    let res = sign_in_totp(&app, &again, &codes[1]).await;
    assert_eq!((res.status, res.error_code()), (401, "invalid-totp"));
    let res = sign_in_totp(&app, &again, &fresh).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get("/user/audit", Some(&token)).await;
    let events: Vec<&str> = res.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for event in [
        "mfa.totp_activated",
        "mfa.recovery_codes_created",
        "mfa.recovery_code_used",
    ] {
        assert!(events.contains(&event), "{event}: {events:?}");
    }
    assert!(events.contains(&"signin.failed"), "{events:?}");

    // Elevation, where required.
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "required")])
        .await;
    let res = app
        .post_bearer("/user/mfa/recovery-codes", &token, &json!({}))
        .await;
    assert_eq!((res.status, res.error_code()), (400, "invalid-request"));
    app.change_env(&[("AUTH_REQUIRE_ELEVATED_CLAIM", "disabled")])
        .await;

    // Turning TOTP off voids the codes.
    let res = user_mfa(&app, &token, &code(&app, &secret, 0), None).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get("/user/mfa", Some(&token)).await;
    assert_eq!(
        res.body,
        json!({ "activeMfaType": null, "recoveryCodesLeft": 0 })
    );
}
both_backends!(recovery_codes_sign_in_once_each);

async fn a_clear_text_secret_from_nhost_still_works_and_gets_sealed(app: TestApp) {
    let email = "legacy@example.test";
    let session = password_user(&app, email).await;
    let user = user_id(&session);
    let secret = enable_totp(&app, session["accessToken"].as_str().unwrap()).await;
    // As a migrated hasura-auth database has it: the base32 secret in clear.
    let sealed = stored_secret(&app, user).await.unwrap();
    assert!(
        app.store
            .reseal_totp_secret(user, &sealed, &secret)
            .await
            .unwrap()
    );
    assert_eq!(
        stored_secret(&app, user).await.as_deref(),
        Some(secret.as_str())
    );

    app.advance(Duration::from_secs(30));
    let first = ticket(&app, email).await;
    let res = sign_in_totp(&app, &first, &code(&app, &secret, 0)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let stored = stored_secret(&app, user).await.unwrap();
    assert!(Sealer::is_sealed(&stored), "sealed on first use: {stored}");
    assert!(!stored.contains(&secret));
    app.advance(Duration::from_secs(30));
    let second = ticket(&app, email).await;
    let res = sign_in_totp(&app, &second, &code(&app, &secret, 0)).await;
    assert_eq!(res.status, 200, "and works sealed: {:?}", res.body);
}
both_backends!(a_clear_text_secret_from_nhost_still_works_and_gets_sealed);

async fn passkey_sign_in_is_not_asked_for_totp(app: TestApp) {
    app.change_env(&[("AUTH_MFA_ENABLED", "true")]).await;
    let email = "passkey-totp@example.test";
    let (session, mut authenticator) = app.sign_up_with_passkey(email).await;
    enable_totp(&app, session["accessToken"].as_str().unwrap()).await;
    // User verification makes a passkey two factors, as upstream.
    let signed_in = crate::webauthn::sign_in_by_email(&app, email, &mut authenticator).await;
    assert!(signed_in["accessToken"].is_string(), "{signed_in:?}");
    let res = app.get("/user", signed_in["accessToken"].as_str()).await;
    assert_eq!(res.body["activeMfaType"], "totp");
}
both_backends!(passkey_sign_in_is_not_asked_for_totp);
