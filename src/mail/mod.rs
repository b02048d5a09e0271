//! The mail interface the domain sends through, and its implementations: SMTP over lettre
//! (`AUTH_SMTP_HOST` set), files in a local folder for development (no SMTP configured), and
//! a recorder for tests. The `Composer` renders a mail once, at the request; mailers deliver
//! the rendered mail, from the outbox.

mod files;
mod message;
mod smtp;
pub mod templates;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::config::Config;
use crate::model::{OutboxMail, Secret, UserId};

pub use files::{DEV_FILE_TIME, FileMailer, InboxEntry, InboxKind, read_inbox};
pub use message::{Composer, build_message};
pub use smtp::SmtpMailer;
pub use templates::Templates;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth another attempt later: no connection, a timeout, a 4xx answer. The text is a
    /// kind and an SMTP code, never the server's words (they can echo the address).
    #[error("mail not delivered: {0}")]
    Transient(String),
    /// The mail server refused the mail (5xx).
    #[error("mail refused: {0}")]
    Permanent(String),
    /// The message could not be built (e.g. an address lettre does not accept).
    #[error("mail could not be built: {0}")]
    Build(String),
}

/// The Nhost template names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    EmailVerify,
    EmailConfirmChange,
    PasswordReset,
    SigninPasswordless,
    SigninOtp,
}

impl Template {
    pub const ALL: [Template; 5] = [
        Template::EmailVerify,
        Template::EmailConfirmChange,
        Template::PasswordReset,
        Template::SigninPasswordless,
        Template::SigninOtp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Template::EmailVerify => "email-verify",
            Template::EmailConfirmChange => "email-confirm-change",
            Template::PasswordReset => "password-reset",
            Template::SigninPasswordless => "signin-passwordless",
            Template::SigninOtp => "signin-otp",
        }
    }
}

/// One mail to deliver. `link` and `ticket` sign their holder in, so they are `Secret`s.
#[derive(Debug, Clone)]
pub struct Email {
    pub template: Template,
    pub user_id: UserId,
    pub to: String,
    pub display_name: String,
    pub locale: String,
    pub link: Secret,
    pub ticket: Secret,
    pub redirect_to: String,
    /// The address being confirmed (`email-confirm-change`).
    pub new_email: Option<String>,
}

/// Delivers rendered mails (`OutboxMail`): over SMTP, into a folder, or into memory (tests).
/// Retrying is the outbox's business (`auth::outbox`), not the mailer's.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// One attempt to hand the mail over. `Ok` means the mail server (or folder) took it.
    /// The caller bounds the time (`LATCHKEY_MAIL_SEND_TIMEOUT`).
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError>;

    /// Whether the mail server answers, for `/readyz`; `None` when there is no server.
    async fn reachable(&self) -> Option<bool> {
        None
    }
}

/// The mailer the configuration asks for: SMTP when `AUTH_SMTP_HOST` is set, else files in
/// `LATCHKEY_MAIL_DIR`. Fails on unusable TLS settings.
pub fn from_config(config: &Config) -> Result<Arc<dyn Mailer>, String> {
    Ok(match &config.mail.smtp {
        Some(smtp) => Arc::new(SmtpMailer::new(smtp)?),
        None => Arc::new(FileMailer::new(config.mail.mail_dir.clone())),
    })
}

/// The composer the configuration asks for. Fails on unreadable templates.
pub fn composer_from_config(config: &Config) -> Result<Composer, String> {
    let templates = match &config.mail.templates_path {
        Some(dir) => Templates::load(dir, &config.locale_default)?,
        None => Templates::builtin(&config.locale_default),
    };
    Ok(Composer::new(config, templates))
}

/// Keeps every mail in memory, for tests that assert a mail was sent.
#[derive(Default)]
pub struct RecordingMailer(Mutex<Vec<OutboxMail>>);

impl RecordingMailer {
    pub fn sent(&self) -> Vec<OutboxMail> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError> {
        self.0
            .lock()
            .map_err(|_| MailError::Transient("recorder poisoned".into()))?
            .push(mail.clone());
        Ok(())
    }
}
