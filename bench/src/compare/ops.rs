//! The operations `compare` drives, each through the public Nhost API only: what any
//! Nhost-compatible server answers, nothing Latchkey-only.

use std::time::Instant;

use serde::Serialize;

use crate::client::{Api, BenchUser, Op};

/// One operation = one whole ceremony as an SDK makes it (options and verify for passkeys).
/// Run order: the read-only ones first, the ones that add users last.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum CompareOp {
    TokenVerify,
    User,
    Refresh,
    PasskeySignIn,
    Anonymous,
    PasskeySignUp,
}

impl CompareOp {
    pub const ALL: [CompareOp; 6] = [
        CompareOp::TokenVerify,
        CompareOp::User,
        CompareOp::Refresh,
        CompareOp::PasskeySignIn,
        CompareOp::Anonymous,
        CompareOp::PasskeySignUp,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CompareOp::TokenVerify => "token-verify",
            CompareOp::User => "user",
            CompareOp::Refresh => "refresh",
            CompareOp::PasskeySignIn => "passkey-sign-in",
            CompareOp::Anonymous => "anonymous",
            CompareOp::PasskeySignUp => "passkey-sign-up",
        }
    }

    /// What one operation is, on the wire.
    pub fn label(self) -> &'static str {
        match self {
            CompareOp::TokenVerify => "`POST /token/verify`",
            CompareOp::User => "`GET /user` (bearer)",
            CompareOp::Refresh => "`POST /token` (chained refresh)",
            CompareOp::PasskeySignIn => "passkey sign-in (`/signin/webauthn` + `/verify`)",
            CompareOp::Anonymous => "`POST /signin/anonymous`",
            CompareOp::PasskeySignUp => "passkey sign-up (`/signup/webauthn` + `/verify`)",
        }
    }

    /// True when the operation only presents the client's access token, which must therefore
    /// still be valid (minutes after setup, on a long run).
    pub fn presents_token(self) -> bool {
        matches!(self, CompareOp::TokenVerify | CompareOp::User)
    }

    /// One run by `client` (whose user sign-up and anonymous ignore: they make new users).
    pub async fn run(self, api: &Api, client: &mut Client) -> anyhow::Result<()> {
        let user = &mut client.user;
        match self {
            CompareOp::TokenVerify => api.run(Op::TokenVerify, user).await,
            CompareOp::User => api.run(Op::User, user).await,
            CompareOp::Refresh => {
                let outcome = api.run(Op::Refresh, user).await;
                client.renewed(outcome)
            }
            CompareOp::PasskeySignIn => {
                let outcome = api.run(Op::SignIn, user).await;
                client.renewed(outcome)
            }
            CompareOp::Anonymous => api.sign_in_anonymous().await,
            CompareOp::PasskeySignUp => api.run(Op::SignUp, user).await,
        }
    }
}

/// A client's user (signed up through the API) and when its session was last renewed.
pub struct Client {
    pub user: BenchUser,
    pub session_at: Instant,
}

impl Client {
    pub fn new(user: BenchUser) -> Self {
        Self {
            user,
            session_at: Instant::now(),
        }
    }

    /// Passes `outcome` through, noting a new session when it succeeded.
    fn renewed(&mut self, outcome: anyhow::Result<()>) -> anyhow::Result<()> {
        if outcome.is_ok() {
            self.session_at = Instant::now();
        }
        outcome
    }

    /// A valid session again: refresh, or sign in with the passkey when the refresh token
    /// is gone (a refresh that failed half-way, a server restarted mid-rotation).
    pub async fn renew(&mut self, api: &Api) -> anyhow::Result<()> {
        if api.run(Op::Refresh, &mut self.user).await.is_err() {
            api.run(Op::SignIn, &mut self.user).await?;
        }
        self.session_at = Instant::now();
        Ok(())
    }
}
