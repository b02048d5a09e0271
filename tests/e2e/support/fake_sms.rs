//! A Twilio- and Modica-shaped SMS service on 127.0.0.1:0: the Messages API, Twilio Verify
//! (it makes and checks codes, five guesses each) and Modica's messages API. It checks basic
//! auth and the request fields as the real APIs need them, records what it texts, and fails
//! on demand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Value, json};

pub const SID: &str = "AC0123456789abcdef";
pub const VERIFY_SID: &str = "VA0123456789abcdef";
pub const TOKEN: &str = "twilio-token";
pub const SERVICE: &str = "MG0123456789abcdef";
pub const MODICA_USER: &str = "modica-user";
pub const MODICA_PASSWORD: &str = "modica-password";

/// One text as the service received it.
#[derive(Debug, Clone)]
pub struct Text {
    pub to: String,
    pub body: String,
    /// `MessagingServiceSid`, `From` (Twilio) or `modica`.
    pub sender_field: String,
}

#[derive(Default)]
struct Shared {
    texts: Mutex<Vec<Text>>,
    /// Twilio Verify: pending code and wrong guesses, by number.
    pending: Mutex<HashMap<String, (String, u32)>>,
    failing: AtomicBool,
    /// Requests refused for bad credentials or fields (each is a bug in the client).
    malformed: Mutex<Vec<String>>,
}

pub struct FakeSms {
    pub base: String,
    shared: Arc<Shared>,
}

impl FakeSms {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(twilio_message),
            )
            .route("/v2/Services/{service}/{action}", post(twilio_verify))
            .route("/rest/sms/v2/messages", post(modica_message))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeSms { base, shared }
    }

    /// Twilio Messages API variables, on top of switching SMS on.
    pub fn twilio_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AUTH_SMS_PASSWORDLESS_ENABLED", "true".into()),
            ("AUTH_SMS_PROVIDER", "twilio".into()),
            ("AUTH_SMS_TWILIO_ACCOUNT_SID", SID.into()),
            ("AUTH_SMS_TWILIO_AUTH_TOKEN", TOKEN.into()),
            ("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID", SERVICE.into()),
            ("LATCHKEY_SMS_TWILIO_BASE_URL", self.base.clone()),
            ("LATCHKEY_SMS_TWILIO_VERIFY_BASE_URL", self.base.clone()),
        ]
    }

    /// Twilio Verify, chosen as upstream does: an account SID starting `VA`.
    pub fn verify_vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = self.twilio_vars();
        vars.retain(|(k, _)| *k != "AUTH_SMS_TWILIO_ACCOUNT_SID");
        vars.push(("AUTH_SMS_TWILIO_ACCOUNT_SID", VERIFY_SID.into()));
        vars
    }

    /// Modica, chosen by its credentials alone.
    pub fn modica_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AUTH_SMS_PASSWORDLESS_ENABLED", "true".into()),
            ("AUTH_SMS_MODICA_USERNAME", MODICA_USER.into()),
            ("AUTH_SMS_MODICA_PASSWORD", MODICA_PASSWORD.into()),
            ("LATCHKEY_SMS_MODICA_BASE_URL", self.base.clone()),
        ]
    }

    pub fn texts(&self) -> Vec<Text> {
        self.shared.texts.lock().unwrap().clone()
    }

    pub fn texts_to(&self, number: &str) -> Vec<Text> {
        self.texts()
            .into_iter()
            .filter(|t| t.to == number)
            .collect()
    }

    /// The 6-digit code in the latest text to `number`.
    pub fn last_code(&self, number: &str) -> String {
        let texts = self.texts_to(number);
        let text = texts.last().expect("a text to the number");
        code_in(&text.body)
    }

    /// The code Twilio Verify holds for `number`.
    pub fn verify_code(&self, number: &str) -> Option<String> {
        let pending = self.shared.pending.lock().unwrap();
        pending.get(number).map(|(code, _)| code.clone())
    }

    pub fn fail(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }

    pub fn malformed(&self) -> Vec<String> {
        self.shared.malformed.lock().unwrap().clone()
    }
}

/// The six digits in a text.
pub fn code_in(body: &str) -> String {
    let digits: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 6)
        .collect();
    assert_eq!(digits.len(), 1, "one 6-digit code in {body:?}");
    digits[0].to_owned()
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn form(headers: &HeaderMap, body: &Bytes) -> Option<HashMap<String, String>> {
    let content_type = headers.get("content-type")?.to_str().ok()?;
    if content_type != "application/x-www-form-urlencoded" {
        return None;
    }
    Some(url::form_urlencoded::parse(body).into_owned().collect())
}

type Answer = (StatusCode, axum::Json<Value>);

fn refuse(shared: &Shared, why: String, status: StatusCode) -> Answer {
    shared.malformed.lock().unwrap().push(why.clone());
    (status, axum::Json(json!({ "code": 20003, "message": why })))
}

async fn twilio_message(
    State(shared): State<Arc<Shared>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if basic_auth(&headers) != Some((sid.clone(), TOKEN.into())) || sid != SID {
        return refuse(
            &shared,
            format!("messages: bad auth for {sid}"),
            StatusCode::UNAUTHORIZED,
        );
    }
    let Some(fields) = form(&headers, &body) else {
        return refuse(
            &shared,
            "messages: not a form".into(),
            StatusCode::BAD_REQUEST,
        );
    };
    let sender_field = match (fields.get("MessagingServiceSid"), fields.get("From")) {
        (Some(s), None) if s == SERVICE => "MessagingServiceSid",
        (None, Some(_)) => "From",
        _ => {
            return refuse(
                &shared,
                format!("messages: sender {fields:?}"),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let (Some(to), Some(text)) = (fields.get("To"), fields.get("Body")) else {
        return refuse(
            &shared,
            format!("messages: fields {fields:?}"),
            StatusCode::BAD_REQUEST,
        );
    };
    shared.texts.lock().unwrap().push(Text {
        to: to.clone(),
        body: text.clone(),
        sender_field: sender_field.into(),
    });
    if shared.failing.load(Ordering::SeqCst) {
        // Twilio's answer for a number it cannot text (21211: invalid 'To').
        let error = json!({ "code": 21211, "message": format!("The 'To' number {to} is not valid."), "status": 400 });
        return (StatusCode::BAD_REQUEST, axum::Json(error));
    }
    let answer = json!({ "sid": "SM1", "status": "queued", "to": to });
    (StatusCode::CREATED, axum::Json(answer))
}

async fn twilio_verify(
    State(shared): State<Arc<Shared>>,
    Path((service, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    // Upstream logs in with the (VA…) account SID and names the messaging service id as the
    // Verify service.
    if basic_auth(&headers) != Some((VERIFY_SID.into(), TOKEN.into())) || service != SERVICE {
        return refuse(
            &shared,
            format!("verify: bad auth or service {service}"),
            StatusCode::UNAUTHORIZED,
        );
    }
    let Some(fields) = form(&headers, &body) else {
        return refuse(
            &shared,
            "verify: not a form".into(),
            StatusCode::BAD_REQUEST,
        );
    };
    let Some(to) = fields.get("To").cloned() else {
        return refuse(&shared, "verify: no To".into(), StatusCode::BAD_REQUEST);
    };
    match action.as_str() {
        "Verifications" => {
            if fields.get("Channel").map(String::as_str) != Some("sms") {
                return refuse(
                    &shared,
                    format!("verify: channel {fields:?}"),
                    StatusCode::BAD_REQUEST,
                );
            }
            if shared.failing.load(Ordering::SeqCst) {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "code": 60200 })),
                );
            }
            let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
            shared.texts.lock().unwrap().push(Text {
                to: to.clone(),
                body: format!("Your verification code is: {code}"),
                sender_field: "verify".into(),
            });
            shared.pending.lock().unwrap().insert(to, (code, 0));
            (
                StatusCode::CREATED,
                axum::Json(json!({ "status": "pending" })),
            )
        }
        "VerificationCheck" => {
            let Some(code) = fields.get("Code") else {
                return refuse(&shared, "verify: no Code".into(), StatusCode::BAD_REQUEST);
            };
            let mut pending = shared.pending.lock().unwrap();
            let Some((expected, guesses)) = pending.get_mut(&to) else {
                return (StatusCode::NOT_FOUND, axum::Json(json!({ "code": 20404 })));
            };
            if expected == code {
                pending.remove(&to);
                return (StatusCode::OK, axum::Json(json!({ "status": "approved" })));
            }
            *guesses += 1;
            if *guesses >= 5 {
                pending.remove(&to);
            }
            (StatusCode::OK, axum::Json(json!({ "status": "pending" })))
        }
        _ => refuse(
            &shared,
            format!("verify: action {action}"),
            StatusCode::NOT_FOUND,
        ),
    }
}

async fn modica_message(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if basic_auth(&headers) != Some((MODICA_USER.into(), MODICA_PASSWORD.into())) {
        return refuse(&shared, "modica: bad auth".into(), StatusCode::UNAUTHORIZED);
    }
    let json_type = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(to), Some(text)) = (message["destination"].as_str(), message["content"].as_str())
    else {
        return refuse(
            &shared,
            format!("modica: body {message}"),
            StatusCode::BAD_REQUEST,
        );
    };
    if !json_type {
        return refuse(&shared, "modica: not JSON".into(), StatusCode::BAD_REQUEST);
    }
    shared.texts.lock().unwrap().push(Text {
        to: to.into(),
        body: text.into(),
        sender_field: "modica".into(),
    });
    if shared.failing.load(Ordering::SeqCst) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": "invalid destination" })),
        );
    }
    (StatusCode::ACCEPTED, axum::Json(json!({ "id": 1 })))
}
