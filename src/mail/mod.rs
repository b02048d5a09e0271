//! The mail interface the domain sends through, and its implementations: SMTP over lettre
//! (`AUTH_SMTP_HOST` set), files in a local folder for development (no SMTP configured), and
//! a recorder for tests.

mod files;
mod message;
mod smtp;
pub mod templates;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::config::Config;
use crate::model::{Secret, UserId};

pub use files::FileMailer;
pub use message::Composer;
pub use smtp::SmtpMailer;
pub use templates::Templates;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail delivery failed: {0}")]
    Delivery(String),
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

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Accepts one mail for delivery. Network mailers return once the mail is built and
    /// deliver in the background with retries, so `Ok` means accepted, not delivered.
    async fn send(&self, email: &Email) -> Result<(), MailError>;

    /// Whether the mail server answers, for `/readyz`; `None` when there is no server.
    async fn reachable(&self) -> Option<bool> {
        None
    }
}

/// The mailer the configuration asks for: SMTP when `AUTH_SMTP_HOST` is set, else files in
/// `LATCHKEY_MAIL_DIR`. Fails on unreadable templates or unusable TLS settings.
pub fn from_config(config: &Config) -> Result<Arc<dyn Mailer>, String> {
    let templates = match &config.mail.templates_path {
        Some(dir) => Templates::load(dir, &config.locale_default)?,
        None => Templates::builtin(&config.locale_default),
    };
    let composer = Composer::new(config, templates);
    Ok(match &config.mail.smtp {
        Some(smtp) => Arc::new(SmtpMailer::new(smtp, composer)?),
        None => Arc::new(FileMailer::new(config.mail.mail_dir.clone(), composer)),
    })
}

/// Keeps every mail in memory, for tests that assert a mail was sent.
#[derive(Default)]
pub struct RecordingMailer(Mutex<Vec<Email>>);

impl RecordingMailer {
    pub fn sent(&self) -> Vec<Email> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        self.0
            .lock()
            .map_err(|_| MailError::Delivery("recorder poisoned".into()))?
            .push(email.clone());
        Ok(())
    }
}
