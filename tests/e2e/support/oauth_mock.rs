//! A real OAuth 2 / OpenID Connect provider on loopback: `tests/oauth/mock.js` over the npm
//! package oauth2-mock-server (signed JWTs, JWKS, discovery), with a GitHub-shaped profile API
//! and a control endpoint. One Node process per test, ended when the handle drops.
//!
//! `LATCHKEY_TEST_OAUTH_MOCK` names the folder holding mock.js and its node_modules
//! (default: tests/oauth). Missing, the test fails, saying how to install it: an untested
//! provider flow must not pass silently.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct OAuthMock {
    /// `http://127.0.0.1:<port>`: the issuer, and the base of every endpoint.
    pub issuer: String,
    child: Child,
}

impl OAuthMock {
    pub fn start() -> OAuthMock {
        let dir = std::env::var_os("LATCHKEY_TEST_OAUTH_MOCK")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oauth"));
        let installed = dir.join("node_modules/oauth2-mock-server/package.json");
        assert!(
            installed.is_file(),
            "the OAuth mock provider is not installed in {}: run `npm ci` there \
             (./scripts/test does), with Node 20 or newer",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("mock.js"))
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
            .unwrap_or_else(|e| panic!("the mock did not start ({e}): {line:?}"));
        OAuthMock {
            issuer: ready["issuer"].as_str().expect("issuer").to_owned(),
            child,
        }
    }

    /// Sets what the next flows see (`githubUser`, `githubEmails`, `profiles` (path ->
    /// answer), `profileHeaders`, `tokenFields`, `tokenAuth`, `authorizeError`, `tokenClaims`).
    pub async fn control(&self, settings: Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/_control", self.issuer))
            .json(&settings)
            .send()
            .await
            .expect("mock control");
        assert_eq!(res.status(), 200);
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

impl Drop for OAuthMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
