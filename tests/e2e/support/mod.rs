//! `TestApp`: the real router on 127.0.0.1:0 over a real database (SQLite or PostgreSQL),
//! with a test clock and a recording mailer (or real SMTP to the test sink: `with_smtp`).

pub mod attestation;
pub mod authenticator;
pub mod fake_http;
pub mod fake_sms;
pub mod fake_smtp;
pub mod node_mock;
pub mod oauth_mock;
pub mod provider_flow;
pub mod smtp;
pub mod twitter_mock;

use std::sync::Arc;
use std::time::Duration;

use latchkey::auth::{OutboxWorker, TestClock};
use latchkey::config::Config;
use latchkey::mail::RecordingMailer;
use latchkey::model::UserId;
use latchkey::store::Store;
use latchkey::store::postgres::PgStore;
use latchkey::store::sqlite::SqliteStore;
use serde_json::{Value, json};

pub use authenticator::SoftAuthenticator;

/// The origin test authenticators sign for (the default client URL).
pub const ORIGIN: &str = "http://localhost:3000";

/// Runs one async test case on both backends, each on a fresh migrated database.
macro_rules! both_backends {
    ($case:ident) => {
        mod $case {
            #[sqlx::test(migrator = "latchkey::store::sqlite::MIGRATOR")]
            async fn sqlite(pool: sqlx::SqlitePool) {
                super::$case(crate::support::TestApp::sqlite(pool).await).await
            }
            #[sqlx::test(migrator = "latchkey::store::postgres::MIGRATOR")]
            async fn postgres(pool: sqlx::PgPool) {
                super::$case(crate::support::TestApp::postgres(pool).await).await
            }
        }
    };
}

/// `both_backends!` for a case that also takes `set_phone(user, number)`: it writes a user's
/// phone number with SQL, unverified and as given, the way an upstream database holds it.
macro_rules! both_backends_setting_phone {
    ($case:ident) => {
        mod $case {
            use latchkey::model::UserId;

            #[sqlx::test(migrator = "latchkey::store::sqlite::MIGRATOR")]
            async fn sqlite(pool: sqlx::SqlitePool) {
                let app = crate::support::TestApp::sqlite(pool.clone()).await;
                super::$case(app, async |id: UserId, number: &str| {
                    sqlx::query(
                        "UPDATE users SET phone_number = $1, phone_number_verified = 0 \
                         WHERE id = $2",
                    )
                    .bind(number)
                    .bind(id.as_uuid())
                    .execute(&pool)
                    .await
                    .unwrap();
                })
                .await
            }
            #[sqlx::test(migrator = "latchkey::store::postgres::MIGRATOR")]
            async fn postgres(pool: sqlx::PgPool) {
                let app = crate::support::TestApp::postgres(pool.clone()).await;
                super::$case(app, async |id: UserId, number: &str| {
                    sqlx::query(
                        "UPDATE auth.users SET phone_number = $1, phone_number_verified = false \
                         WHERE id = $2",
                    )
                    .bind(number)
                    .bind(id.as_uuid())
                    .execute(&pool)
                    .await
                    .unwrap();
                })
                .await
            }
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clock: Arc<TestClock>,
    pub mailer: Arc<RecordingMailer>,
    /// The HTTP server task and the outbox worker, until `stop` or `kill`.
    running: std::sync::Mutex<Option<(tokio::task::JoinHandle<()>, OutboxWorker)>>,
}

/// A JSON response: status and body (`Value::Null` when the body is empty or not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub body: Value,
}

impl Res {
    /// The Nhost error code, asserting the error body is well-formed.
    pub fn error_code(&self) -> &str {
        assert_eq!(
            self.body["status"],
            json!(self.status),
            "body status: {}",
            self.body
        );
        assert!(self.body["message"].is_string(), "message: {}", self.body);
        self.body["error"].as_str().unwrap_or("<none>")
    }
}

const BASE_VARS: &[(&str, &str)] = &[
    ("AUTH_WEBAUTHN_ENABLED", "true"),
    ("AUTH_ANONYMOUS_USERS_ENABLED", "true"),
    ("AUTH_ENABLE_CHANGE_ENV", "true"),
    ("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "false"),
];

impl TestApp {
    pub async fn sqlite(pool: sqlx::SqlitePool) -> Self {
        Self::start(Arc::new(SqliteStore::new(pool)), &[]).await
    }

    pub async fn postgres(pool: sqlx::PgPool) -> Self {
        Self::start(Arc::new(PgStore::new(pool).await.unwrap()), &[]).await
    }

    /// Starts the app with `extra` variables on top of the test defaults.
    pub async fn start(store: Arc<dyn Store>, extra: &[(&str, &str)]) -> Self {
        Self::launch(store, extra, false).await
    }

    /// A second server over the same database that sends real mail over SMTP to the sink
    /// `scripts/test` runs, with links pointing at itself; `extra` goes on top.
    pub async fn with_smtp(&self, extra: &[(&str, &str)]) -> TestApp {
        TestApp::launch(self.store.clone(), extra, true).await
    }

    /// A second server over the same database whose `AUTH_SERVER_URL` is its own address (so
    /// the callback URLs it gives OAuth providers reach it), with `extra` on top.
    pub async fn serving_itself(&self, extra: &[(&str, &str)]) -> TestApp {
        TestApp::launch_with(self.store.clone(), extra, false, true).await
    }

    /// Without `smtp`, mails go to the recording mailer.
    async fn launch(store: Arc<dyn Store>, extra: &[(&str, &str)], smtp: bool) -> Self {
        Self::launch_with(store, extra, smtp, false).await
    }

    async fn launch_with(
        store: Arc<dyn Store>,
        extra: &[(&str, &str)],
        smtp: bool,
        own_url: bool,
    ) -> Self {
        init_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut smtp_vars = if smtp { smtp::vars(&base) } else { vec![] };
        if own_url {
            smtp_vars.push(("AUTH_SERVER_URL".to_owned(), base.clone()));
        }
        let vars: Vec<(String, String)> = BASE_VARS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(smtp_vars)
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let config = Config::from_vars(vars.clone()).expect("test config");
        let limits = config.limits.clone();
        let clock = Arc::new(TestClock::new(chrono::Utc::now()));
        let mailer = Arc::new(RecordingMailer::default());
        let chosen: Option<Arc<dyn latchkey::mail::Mailer>> =
            (!smtp).then(|| mailer.clone() as Arc<dyn latchkey::mail::Mailer>);
        let app = latchkey::build(config, vars, store.clone(), clock.clone(), chosen)
            .await
            .expect("app builds");
        let outbox = OutboxWorker::start(app.auth.clone());
        let server = tokio::spawn(async move {
            latchkey::http::serve(listener, app.router, &limits, std::future::pending()).await
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base,
            client,
            store,
            clock,
            mailer,
            running: std::sync::Mutex::new(Some((server, outbox))),
        }
    }

    /// Stops serving, and stops the outbox worker once its mail in hand is done.
    pub async fn stop(&self) {
        let running = self.running.lock().unwrap().take();
        if let Some((server, outbox)) = running {
            server.abort();
            outbox.stop().await;
        }
    }

    /// Stops everything at once, mid-request or mid-send, as a crash would.
    pub fn kill(&self) {
        if let Some((server, outbox)) = self.running.lock().unwrap().take() {
            server.abort();
            outbox.abort();
        }
    }

    /// Mails in the outbox.
    pub async fn outbox_depth(&self) -> u64 {
        self.store.outbox_depth().await.unwrap()
    }

    /// Waits (bounded) until the outbox is empty.
    pub async fn wait_for_empty_outbox(&self) {
        let start = std::time::Instant::now();
        loop {
            let depth = self.outbox_depth().await;
            if depth == 0 {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{depth} mails still in the outbox"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A second server over the same database with `extra` variables (e.g. another JWT key).
    pub async fn restart_with(&self, extra: &[(&str, &str)]) -> TestApp {
        TestApp::start(self.store.clone(), extra).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Res {
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Res { status, body }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Res {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    pub async fn post_bearer(&self, path: &str, token: &str, body: &Value) -> Res {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body);
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Res {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        self.send(req).await
    }

    /// `POST /change-env`: flips configuration live, as upstream's test suites do.
    pub async fn change_env(&self, vars: &[(&str, &str)]) {
        let body: serde_json::Map<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let res = self.post("/change-env", &Value::Object(body)).await;
        assert_eq!(res.status, 200, "change-env: {:?}", res.body);
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn sign_in_anonymous(&self) -> Value {
        let res = self.post("/signin/anonymous", &json!({})).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        res.body["session"].clone()
    }

    pub async fn sessions_of(&self, user_id: &str) -> u64 {
        let id = UserId::from_uuid(user_id.parse().unwrap());
        self.store
            .count_sessions_of(id, self.clock_now())
            .await
            .unwrap()
    }

    pub async fn keys_of(&self, user_id: &str) -> Vec<latchkey::model::SecurityKey> {
        let id = UserId::from_uuid(user_id.parse().unwrap());
        self.store.keys_of(id).await.unwrap()
    }

    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use latchkey::auth::Clock;
        self.clock.now()
    }

    /// Signs up `email` with a new software passkey; returns the session and the authenticator.
    pub async fn sign_up_with_passkey(&self, email: &str) -> (Value, SoftAuthenticator) {
        self.sign_up_with(email, SoftAuthenticator::new(ORIGIN))
            .await
    }

    /// Signs up `email` with this authenticator.
    pub async fn sign_up_with(
        &self,
        email: &str,
        mut authenticator: SoftAuthenticator,
    ) -> (Value, SoftAuthenticator) {
        let options = self
            .post("/signup/webauthn", &json!({ "email": email }))
            .await;
        assert_eq!(options.status, 200, "{:?}", options.body);
        let credential = authenticator.register(&options.body).await;
        let res = self
            .post(
                "/signup/webauthn/verify",
                &json!({ "credential": credential }),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        (res.body["session"].clone(), authenticator)
    }
}

/// A signed-up user: session fields and the authenticator holding its first key.
pub struct KeyOwner {
    pub user_id: String,
    pub token: String,
    pub authenticator: SoftAuthenticator,
}

impl TestApp {
    /// Any method, optional bearer, optional JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Res {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        self.send(req).await
    }

    pub async fn key_owner(&self, email: &str) -> KeyOwner {
        let (session, authenticator) = self.sign_up_with_passkey(email).await;
        KeyOwner {
            user_id: session["user"]["id"].as_str().unwrap().to_owned(),
            token: session["accessToken"].as_str().unwrap().to_owned(),
            authenticator,
        }
    }

    /// Adds a key with a new authenticator to the bearer; returns the key id.
    pub async fn add_key(&self, token: &str, nickname: Option<&str>) -> String {
        self.add_key_with(token, &mut SoftAuthenticator::new(ORIGIN), nickname)
            .await
    }

    /// Adds a key made by this authenticator to the bearer; returns the key id.
    pub async fn add_key_with(
        &self,
        token: &str,
        authenticator: &mut SoftAuthenticator,
        nickname: Option<&str>,
    ) -> String {
        let options = self
            .post_bearer("/user/webauthn/add", token, &json!({}))
            .await;
        assert_eq!(options.status, 200, "{:?}", options.body);
        let credential = authenticator.register(&options.body).await;
        let mut body = json!({ "credential": credential });
        if let Some(nickname) = nickname {
            body["nickname"] = json!(nickname);
        }
        let res = self
            .post_bearer("/user/webauthn/verify", token, &body)
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        res.body["id"].as_str().unwrap().to_owned()
    }

    /// An elevated access token for the owner, via `/elevate/webauthn[/verify]`.
    pub async fn elevate(&self, owner: &mut KeyOwner) -> String {
        let options = self
            .post_bearer("/elevate/webauthn", &owner.token, &json!({}))
            .await;
        assert_eq!(options.status, 200, "{:?}", options.body);
        let assertion = owner.authenticator.assert(&options.body).await;
        let res = self
            .post_bearer(
                "/elevate/webauthn/verify",
                &owner.token,
                &json!({ "credential": assertion }),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        res.body["session"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// The payload of a JWT, decoded without verification (as the SDKs read it).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn init_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("debug")
                .with_test_writer()
                .try_init();
        }
    });
}
