//! SMS providers end to end: Twilio Verify (Twilio makes and checks the codes) and Modica
//! against the service in `support::fake_sms`, and the `dev` provider's files.

use latchkey::model::CodeKind;
use serde_json::json;

use crate::sms::{
    NUMBER, OTHER, REQUIRE_VERIFIED, SPACED, ask, assert_bad_code, assert_ok, user_id, verify,
    with, wrong,
};
use crate::support::TestApp;
use crate::support::fake_sms::{FakeSms, code_in};

async fn twilio_verify_makes_and_checks_codes(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.verify_vars(), &[REQUIRE_VERIFIED]).await;
    assert_ok(&ask(&app, SPACED, json!({})).await, "request");
    let code = fake.verify_code(NUMBER).expect("a pending verification");
    let id = user_id(&app, NUMBER).await;
    let now = app.clock_now();
    let stored = app
        .store
        .attempt_code(id, CodeKind::SmsOtp, now, 5)
        .await
        .unwrap();
    assert!(stored.is_none(), "Twilio holds the code, not the database");
    assert_bad_code(&verify(&app, NUMBER, &wrong(&code)).await, "wrong");
    let res = verify(&app, SPACED, &code).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["session"]["user"]["phoneNumberVerified"], true);
    let token = res.body["session"]["accessToken"].as_str().unwrap();
    assert_eq!(app.get("/user", Some(token)).await.status, 200);
    assert_bad_code(&verify(&app, NUMBER, &code).await, "approved already");
    assert_eq!(app.sessions_of(&id.to_string()).await, 1);

    fake.fail(true);
    let res = ask(&app, OTHER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (400, "cannot-send-sms"));
    assert!(app.store.find_user_by_phone(OTHER).await.unwrap().is_none());
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
}
both_backends!(twilio_verify_makes_and_checks_codes);

async fn modica_carries_texts(app: TestApp) {
    let fake = FakeSms::start().await;
    let app = with(&app, fake.modica_vars(), &[]).await;
    assert_ok(&ask(&app, NUMBER, json!({})).await, "request");
    let texts = fake.texts_to(NUMBER);
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].sender_field, "modica");
    let res = verify(&app, NUMBER, &code_in(&texts[0].body)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    fake.fail(true);
    let res = ask(&app, OTHER, json!({})).await;
    assert_eq!((res.status, res.error_code()), (400, "cannot-send-sms"));
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
}
both_backends!(modica_carries_texts);

/// Without provider credentials, texts go to files in `LATCHKEY_SMS_DIR`.
async fn dev_provider_writes_files(app: TestApp) {
    let dir = std::env::temp_dir().join(format!("latchkey-sms-{}", uuid::Uuid::new_v4()));
    let vars = vec![
        ("AUTH_SMS_PASSWORDLESS_ENABLED", "true".to_owned()),
        ("LATCHKEY_SMS_DIR", dir.display().to_string()),
    ];
    let app = with(&app, vars, &[]).await;
    assert_ok(&ask(&app, SPACED, json!({})).await, "request");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "txt"));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.starts_with(&format!("To: {NUMBER}\n\nYour code is ")),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read codes");
    }
    let res = verify(&app, NUMBER, &code_in(&text)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    std::fs::remove_dir_all(&dir).unwrap();
}
both_backends!(dev_provider_writes_files);
