//! The benchmarked operations, as an SDK would call them over HTTP.
// Only `serde_json::Value` is indexed here, which answers `Null` for a missing key.
#![allow(clippy::indexing_slicing)]

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::{Value, json};

use crate::authenticator::SoftAuthenticator;

/// Every operation the benchmark drives, in run order (adding keys last: it grows key lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    SignIn,
    Elevate,
    Refresh,
    TokenVerify,
    User,
    SignUp,
    AddKey,
}

impl Op {
    pub const ALL: [Op; 7] = [
        Op::SignIn,
        Op::Elevate,
        Op::Refresh,
        Op::TokenVerify,
        Op::User,
        Op::SignUp,
        Op::AddKey,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Op::SignIn => "passkey sign-in (options + verify + session)",
            Op::Elevate => "elevate (options + verify)",
            Op::Refresh => "`/token` refresh",
            Op::TokenVerify => "`/token/verify`",
            Op::User => "`GET /user`",
            Op::SignUp => "passkey sign-up (options + verify)",
            Op::AddKey => "add key (options + verify)",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Op::SignIn => "sign-in",
            Op::Elevate => "elevate",
            Op::Refresh => "refresh",
            Op::TokenVerify => "token-verify",
            Op::User => "user",
            Op::SignUp => "sign-up",
            Op::AddKey => "add-key",
        }
    }
}

/// A pre-registered user: its passkey and its current session.
pub struct BenchUser {
    pub email: String,
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub passkey: SoftAuthenticator,
}

/// An HTTP client for one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    origin: String,
}

impl Api {
    pub fn new(base: &str, origin: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .context("building the HTTP client")?;
        Ok(Self::with_client(http, base, origin))
    }

    /// Like [`Api::new`], but every request gives up after `timeout`: a server that hangs
    /// shows as errors instead of stalling the run (used by `compare`).
    pub fn with_timeout(base: &str, origin: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("building the HTTP client")?;
        Ok(Self::with_client(http, base, origin))
    }

    fn with_client(http: reqwest::Client, base: &str, origin: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            origin: origin.to_owned(),
        }
    }

    /// True when `GET /healthz` answers 2xx within `timeout`.
    pub async fn healthy(&self, timeout: Duration) -> bool {
        let url = format!("{}/healthz", self.base);
        let res = self.http.get(url).timeout(timeout).send().await;
        res.is_ok_and(|r| r.status().is_success())
    }

    /// `POST /signin/anonymous` with an empty profile; checks that a session came back.
    pub async fn sign_in_anonymous(&self) -> anyhow::Result<()> {
        let res = self
            .send("/signin/anonymous", None, Some(&json!({})))
            .await?;
        text(&res["session"]["accessToken"]).map(drop)
    }

    async fn send(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = match body {
            Some(body) => self.http.post(url).json(body),
            None => self.http.get(url),
        };
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{path}: request"))?;
        let status = res.status();
        let text = res.text().await.with_context(|| format!("{path}: body"))?;
        if !status.is_success() {
            bail!("{path}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{path}: not JSON: {text}"))
    }

    /// Passkey sign-up with a new authenticator; the user is returned signed in.
    pub async fn sign_up(&self, email: &str) -> anyhow::Result<BenchUser> {
        let mut passkey = SoftAuthenticator::new(&self.origin);
        let opts = self
            .send("/signup/webauthn", None, Some(&json!({ "email": email })))
            .await?;
        let credential = passkey
            .try_register(&opts)
            .await
            .map_err(anyhow::Error::msg)?;
        let res = self
            .send(
                "/signup/webauthn/verify",
                None,
                Some(&json!({ "credential": credential })),
            )
            .await?;
        let session = &res["session"];
        Ok(BenchUser {
            email: email.to_owned(),
            user_id: text(&session["user"]["id"])?,
            access_token: text(&session["accessToken"])?,
            refresh_token: text(&session["refreshToken"])?,
            passkey,
        })
    }

    /// Only the options call of a ceremony (`op`: sign-in, elevate, sign-up or add key); the
    /// challenge the server stored it under.
    pub async fn options(&self, op: Op, user: &BenchUser) -> anyhow::Result<String> {
        text(&self.ceremony_options(op, user).await?["challenge"])
    }

    /// The options call of a ceremony, as `run` makes it (sign-up with a fresh e-mail).
    async fn ceremony_options(&self, op: Op, user: &BenchUser) -> anyhow::Result<Value> {
        let token = Some(user.access_token.as_str());
        Ok(match op {
            Op::SignIn => {
                let body = json!({ "email": user.email });
                self.send("/signin/webauthn", None, Some(&body)).await?
            }
            Op::Elevate => {
                self.send("/elevate/webauthn", token, Some(&json!({})))
                    .await?
            }
            Op::SignUp => {
                let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
                let body = json!({ "email": email });
                self.send("/signup/webauthn", None, Some(&body)).await?
            }
            Op::AddKey => {
                self.send("/user/webauthn/add", token, Some(&json!({})))
                    .await?
            }
            Op::Refresh | Op::TokenVerify | Op::User => bail!("{op:?} is not a ceremony"),
        })
    }

    /// One run of `op` for `user` (ignored for sign-up, which makes a fresh user).
    pub async fn run(&self, op: Op, user: &mut BenchUser) -> anyhow::Result<()> {
        match op {
            Op::SignIn => {
                let opts = self.ceremony_options(op, user).await?;
                let credential = user
                    .passkey
                    .try_assert(&opts)
                    .await
                    .map_err(anyhow::Error::msg)?;
                let res = self
                    .send(
                        "/signin/webauthn/verify",
                        None,
                        Some(&json!({ "credential": credential })),
                    )
                    .await?;
                user.take_session(&res["session"])
            }
            Op::Elevate => {
                let token = user.access_token.clone();
                let opts = self.ceremony_options(op, user).await?;
                let credential = user
                    .passkey
                    .try_assert(&opts)
                    .await
                    .map_err(anyhow::Error::msg)?;
                let body = json!({ "credential": credential });
                let res = self
                    .send("/elevate/webauthn/verify", Some(&token), Some(&body))
                    .await?;
                text(&res["session"]["accessToken"]).map(drop)
            }
            Op::Refresh => {
                let body = json!({ "refreshToken": user.refresh_token });
                let res = self.send("/token", None, Some(&body)).await?;
                user.take_session(&res)
            }
            Op::TokenVerify => {
                let body = json!({ "token": user.access_token });
                self.send("/token/verify", None, Some(&body))
                    .await
                    .map(drop)
            }
            Op::User => {
                let res = self.send("/user", Some(&user.access_token), None).await?;
                text(&res["id"]).map(drop)
            }
            Op::SignUp => {
                let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
                self.sign_up(&email).await.map(drop)
            }
            Op::AddKey => {
                let token = user.access_token.clone();
                let mut passkey = SoftAuthenticator::new(&self.origin);
                let opts = self.ceremony_options(op, user).await?;
                let credential = passkey
                    .try_register(&opts)
                    .await
                    .map_err(anyhow::Error::msg)?;
                let body = json!({ "credential": credential });
                let res = self
                    .send("/user/webauthn/verify", Some(&token), Some(&body))
                    .await?;
                text(&res["id"]).map(drop)
            }
        }
    }
}

impl BenchUser {
    fn take_session(&mut self, session: &Value) -> anyhow::Result<()> {
        self.access_token = text(&session["accessToken"])?;
        self.refresh_token = text(&session["refreshToken"])?;
        Ok(())
    }
}

fn text(v: &Value) -> anyhow::Result<String> {
    v.as_str()
        .map(str::to_owned)
        .with_context(|| format!("expected a string, got {v}"))
}
