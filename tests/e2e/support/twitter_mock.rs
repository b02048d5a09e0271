//! A real OAuth 1.0a provider on loopback, shaped like Twitter: `tests/oauth/twitter.js`,
//! which checks every signature Latchkey sends with the npm package oauth-sign. One Node
//! process per test, ended when the handle drops.
//!
//! It lives beside the OAuth 2 mock (`LATCHKEY_TEST_OAUTH_MOCK`, see `node_mock`), whose
//! `npm ci` installs both.

use serde_json::Value;

use super::node_mock::{self, NodeMock};

pub const CONSUMER_KEY: &str = "latchkey-consumer";
pub const CONSUMER_SECRET: &str = "consumer-secret";

pub struct TwitterMock {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    _node: NodeMock,
}

impl TwitterMock {
    pub fn start() -> TwitterMock {
        let env = [
            ("MOCK_CONSUMER_KEY", CONSUMER_KEY),
            ("MOCK_CONSUMER_SECRET", CONSUMER_SECRET),
        ];
        let (node, ready) = NodeMock::start("twitter.js", "oauth-sign", &env);
        TwitterMock {
            base: ready["base"].as_str().expect("base").to_owned(),
            _node: node,
        }
    }

    /// Sets what the next flows see: `profile` (verify_credentials' answer), `deny`, and
    /// `consumerSecret` (the secret signatures must be made with).
    pub async fn control(&self, settings: Value) {
        node_mock::control(&self.base, &settings).await;
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
