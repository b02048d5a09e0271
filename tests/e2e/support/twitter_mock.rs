//! A real OAuth 1.0a provider on loopback, shaped like Twitter: `tests/oauth/twitter.js`,
//! which checks every signature Latchkey sends with the npm package oauth-sign. One Node
//! process per test, ended when the handle drops.
//!
//! It lives beside the OAuth 2 mock (`LATCHKEY_TEST_OAUTH_MOCK`, default tests/oauth), whose
//! `npm ci` installs both. Missing, the test fails, saying how to install it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const CONSUMER_KEY: &str = "latchkey-consumer";
pub const CONSUMER_SECRET: &str = "consumer-secret";

pub struct TwitterMock {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: Child,
}

impl TwitterMock {
    pub fn start() -> TwitterMock {
        let dir = std::env::var_os("LATCHKEY_TEST_OAUTH_MOCK")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oauth"));
        let installed = dir.join("node_modules/oauth-sign/package.json");
        assert!(
            installed.is_file(),
            "the Twitter mock provider is not installed in {}: run `npm ci` there \
             (./scripts/test does), with Node 20 or newer",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("twitter.js"))
            .env("MOCK_CONSUMER_KEY", CONSUMER_KEY)
            .env("MOCK_CONSUMER_SECRET", CONSUMER_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (Node 20 or newer must be installed)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the mock's ready line");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the Twitter mock did not start ({e}): {line:?}"));
        TwitterMock {
            base: ready["base"].as_str().expect("base").to_owned(),
            child,
        }
    }

    /// Sets what the next flows see: `profile` (verify_credentials' answer), `deny`, and
    /// `consumerSecret` (the secret signatures must be made with).
    pub async fn control(&self, settings: Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/_control", self.base))
            .json(&settings)
            .send()
            .await
            .expect("mock control");
        assert_eq!(res.status(), 200);
    }

    /// Why the mock last refused a signed request (`bad signature`, ...), if it did.
    pub async fn last_refusal(&self) -> Option<String> {
        let res: Value = reqwest::get(format!("{}/_refusal", self.base))
            .await
            .expect("mock refusal")
            .json()
            .await
            .expect("refusal JSON");
        res["lastRefusal"].as_str().map(str::to_owned)
    }

    /// Variables pointing Latchkey's Twitter provider at this mock.
    pub fn vars(&self) -> Vec<(String, String)> {
        let url = |path: &str| format!("{}{path}", self.base);
        vec![
            ("AUTH_PROVIDER_TWITTER_ENABLED".into(), "true".into()),
            (
                "AUTH_PROVIDER_TWITTER_CONSUMER_KEY".into(),
                CONSUMER_KEY.into(),
            ),
            (
                "AUTH_PROVIDER_TWITTER_CONSUMER_SECRET".into(),
                CONSUMER_SECRET.into(),
            ),
            (
                "LATCHKEY_PROVIDER_TWITTER_REQUEST_TOKEN_URL".into(),
                url("/oauth/request_token"),
            ),
            (
                "LATCHKEY_PROVIDER_TWITTER_AUTHORIZATION_URL".into(),
                url("/oauth/authorize"),
            ),
            (
                "LATCHKEY_PROVIDER_TWITTER_TOKEN_URL".into(),
                url("/oauth/access_token"),
            ),
            (
                "LATCHKEY_PROVIDER_TWITTER_USERINFO_URL".into(),
                url("/1.1/account/verify_credentials.json"),
            ),
        ]
    }
}

impl Drop for TwitterMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
