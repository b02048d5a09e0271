//! Phone numbers an upstream (Nhost Auth) database stored as typed, e.g. "+33 6 12 34 56 78"
//! where Latchkey stores E.164: the SMS sign-in finds their user instead of creating a second
//! one, and the redemption that verifies the number stores it as E.164. The rows are written
//! with SQL, as upstream left them.

use latchkey::model::UserId;
use serde_json::json;

use crate::sms::{
    NUMBER, OTHER, SPACED, ask, assert_bad_code, assert_ok, user_id, verify, with, wrong,
};
use crate::support::TestApp;
use crate::support::fake_sms::FakeSms;

/// A user created by an SMS request for `number`, whose stored number is then set to `stored`.
async fn upstream_user(
    app: &TestApp,
    number: &str,
    stored: &str,
    set_phone: &impl AsyncFn(UserId, &str),
) -> UserId {
    assert_ok(&ask(app, number, json!({})).await, "creating the user");
    let id = user_id(app, number).await;
    set_phone(id, stored).await;
    let user = app.store.get_user(id).await.unwrap().unwrap();
    assert_eq!(user.phone_number.as_deref(), Some(stored));
    assert!(!user.phone_number_verified);
    id
}

async fn numbers_stored_as_typed_are_found(app: TestApp, set_phone: impl AsyncFn(UserId, &str)) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.twilio_vars(), &[]).await;
    let old = upstream_user(&app, NUMBER, SPACED, &set_phone).await;
    // Other separators people type, found by the store's lookup.
    let dashed = upstream_user(&app, OTHER, "+33 (6) 98-76.54-32", &set_phone).await;
    let found = app.store.find_user_by_phone(OTHER).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(dashed));

    // The upstream user asks for a code: it is texted to the E.164 number, no user is added.
    assert_ok(&ask(&app, NUMBER, json!({})).await, "code request");
    let code = fake.last_code(NUMBER);
    assert_eq!(user_id(&app, NUMBER).await, old, "no second account");

    // A wrong guess changes nothing; the right code signs in, verifies and normalises.
    assert_bad_code(&verify(&app, SPACED, &wrong(&code)).await, "wrong code");
    let user = app.store.get_user(old).await.unwrap().unwrap();
    assert_eq!(
        user.phone_number.as_deref(),
        Some(SPACED),
        "untouched by a wrong code"
    );
    let res = verify(&app, SPACED, &code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["id"], json!(old.to_string()));
    assert_eq!(res.body["session"]["user"]["phoneNumber"], json!(NUMBER));
    let user = app.store.get_user(old).await.unwrap().unwrap();
    assert_eq!(
        user.phone_number.as_deref(),
        Some(NUMBER),
        "stored as E.164"
    );
    assert!(user.phone_number_verified);

    // Nhost allowed one number stored both ways, as two users: the exact (E.164) one wins.
    set_phone(old, "+336 12 34 56 78").await;
    let exact = upstream_user(&app, "+33611112222", NUMBER, &set_phone).await;
    let found = app.store.find_user_by_phone(NUMBER).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(exact));
    assert_ok(&ask(&app, NUMBER, json!({})).await, "code request");
    let res = verify(&app, NUMBER, &fake.last_code(NUMBER)).await;
    assert_eq!(res.body["session"]["user"]["id"], json!(exact.to_string()));
}

both_backends_setting_phone!(numbers_stored_as_typed_are_found);
