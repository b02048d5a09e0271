//! A real OAuth 2 / OpenID Connect provider on loopback: `tests/oauth/mock.js` over the npm
//! package oauth2-mock-server (signed JWTs, JWKS, discovery), with a GitHub-shaped profile API
//! and a control endpoint. One Node process per test, ended when the handle drops.
//!
//! It runs from the mock folder (`LATCHKEY_TEST_OAUTH_MOCK`, see `node_mock`).

use serde_json::Value;

use super::node_mock::{self, NodeMock};

pub struct OAuthMock {
    /// `http://127.0.0.1:<port>`: the issuer, and the base of every endpoint.
    pub issuer: String,
    _node: NodeMock,
}

impl OAuthMock {
    pub fn start() -> OAuthMock {
        let (node, ready) = NodeMock::start("mock.js", "oauth2-mock-server", &[]);
        OAuthMock {
            issuer: ready["issuer"].as_str().expect("issuer").to_owned(),
            _node: node,
        }
    }

    /// Sets what the next flows see (`githubUser`, `githubEmails`, `profiles` (path ->
    /// answer), `profileHeaders`, `tokenFields`, `tokenAuth`, `authorizeError`, `tokenClaims`).
    pub async fn control(&self, settings: Value) {
        node_mock::control(&self.issuer, &settings).await;
    }

    /// A JWT with `claims` signed by the mock's published key, or with `stray` by a key
    /// that is not in its JWKS.
    pub async fn sign(&self, claims: Value, stray: bool) -> String {
        let res: Value = reqwest::Client::new()
            .post(format!("{}/_sign", self.issuer))
            .json(&serde_json::json!({ "claims": claims, "stray": stray }))
            .send()
            .await
            .expect("mock sign")
            .json()
            .await
            .expect("signed token");
        res["token"].as_str().expect("token").to_owned()
    }

    /// Variables pointing Latchkey's GitHub provider at this mock.
    pub fn github_vars(&self) -> Vec<(String, String)> {
        vec![
            ("AUTH_PROVIDER_GITHUB_ENABLED".into(), "true".into()),
            (
                "AUTH_PROVIDER_GITHUB_CLIENT_ID".into(),
                "latchkey-test".into(),
            ),
            (
                "AUTH_PROVIDER_GITHUB_CLIENT_SECRET".into(),
                "test-secret".into(),
            ),
            (
                "AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL".into(),
                format!("{}/authorize", self.issuer),
            ),
            (
                "AUTH_PROVIDER_GITHUB_TOKEN_URL".into(),
                format!("{}/token", self.issuer),
            ),
            (
                "AUTH_PROVIDER_GITHUB_USER_PROFILE_URL".into(),
                format!("{}/user", self.issuer),
            ),
        ]
    }
}

impl OAuthMock {
    /// Variables pointing Latchkey's Google provider (OpenID Connect) at this mock.
    pub fn google_vars(&self) -> Vec<(String, String)> {
        vec![
            ("AUTH_PROVIDER_GOOGLE_ENABLED".into(), "true".into()),
            (
                "AUTH_PROVIDER_GOOGLE_CLIENT_ID".into(),
                "latchkey-test".into(),
            ),
            (
                "AUTH_PROVIDER_GOOGLE_CLIENT_SECRET".into(),
                "test-secret".into(),
            ),
            (
                "LATCHKEY_PROVIDER_GOOGLE_ISSUER".into(),
                self.issuer.clone(),
            ),
        ]
    }
}

impl OAuthMock {
    /// Variables pointing a plain OAuth 2 provider (`env` is its infix, `WINDOWS_LIVE`) at
    /// this mock, its profile API at `profile_path` (none for WorkOS, whose profile comes
    /// with the token).
    pub fn oauth2_vars(&self, env: &str, profile_path: Option<&str>) -> Vec<(String, String)> {
        let mut vars = vec![
            (format!("AUTH_PROVIDER_{env}_ENABLED"), "true".into()),
            (
                format!("AUTH_PROVIDER_{env}_CLIENT_ID"),
                "latchkey-test".into(),
            ),
            (
                format!("AUTH_PROVIDER_{env}_CLIENT_SECRET"),
                "test-secret".into(),
            ),
            (
                format!("LATCHKEY_PROVIDER_{env}_AUTHORIZATION_URL"),
                format!("{}/authorize", self.issuer),
            ),
            (
                format!("LATCHKEY_PROVIDER_{env}_TOKEN_URL"),
                format!("{}/token", self.issuer),
            ),
        ];
        if let Some(path) = profile_path {
            vars.push((
                format!("LATCHKEY_PROVIDER_{env}_USERINFO_URL"),
                format!("{}{path}", self.issuer),
            ));
        }
        vars
    }
}

impl OAuthMock {
    /// How many requests the mock has served for `path` (`/jwks`, a discovery document).
    pub async fn requests(&self, path: &str) -> u64 {
        let res: Value = reqwest::Client::new()
            .post(format!("{}/_control", self.issuer))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("mock control")
            .json()
            .await
            .expect("mock control answer");
        res["requests"][path].as_u64().unwrap_or(0)
    }

    /// Publishes a new signing key named `kid` beside the current ones (a key rotation).
    pub async fn rotate_key(&self, kid: &str) {
        let res = reqwest::Client::new()
            .post(format!("{}/_rotate", self.issuer))
            .json(&serde_json::json!({ "kid": kid }))
            .send()
            .await
            .expect("mock rotate");
        assert_eq!(res.status(), 200);
    }

    /// A JWT with `claims` signed by the mock's published key `kid`.
    pub async fn sign_with_key(&self, claims: Value, kid: &str) -> String {
        let res: Value = reqwest::Client::new()
            .post(format!("{}/_sign", self.issuer))
            .json(&serde_json::json!({ "claims": claims, "kid": kid }))
            .send()
            .await
            .expect("mock sign")
            .json()
            .await
            .expect("signed token");
        res["token"].as_str().expect("token").to_owned()
    }

    /// Variables enabling the OpenID provider with infix `env` against this mock, its issuer
    /// at `path` under the mock (`""` for the mock's own, `/common/v2.0`, `/oauth`).
    pub fn oidc_vars(&self, env: &str, path: &str) -> Vec<(String, String)> {
        vec![
            (format!("AUTH_PROVIDER_{env}_ENABLED"), "true".into()),
            (
                format!("AUTH_PROVIDER_{env}_CLIENT_ID"),
                "latchkey-test".into(),
            ),
            (
                format!("AUTH_PROVIDER_{env}_CLIENT_SECRET"),
                "test-secret".into(),
            ),
            (
                format!("LATCHKEY_PROVIDER_{env}_ISSUER"),
                format!("{}{path}", self.issuer),
            ),
        ]
    }
}
