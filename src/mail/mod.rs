//! The mail interface the domain sends through. SMTP delivery arrives with the e-mail issue
//! (TODO #5); until then `LogMailer` records that a mail was due, without its secret link.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::{Secret, UserId};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail delivery failed: {0}")]
    Delivery(String),
}

/// The Nhost template names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    EmailVerify,
}

impl Template {
    pub fn name(self) -> &'static str {
        match self {
            Template::EmailVerify => "email-verify",
        }
    }
}

/// One mail to deliver. `link` carries a ticket, so it is a `Secret`.
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
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

/// Logs that a mail would be sent (no recipient address, no link: both are sensitive).
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        tracing::warn!(
            event = "mail.not_configured",
            template = email.template.name(),
            user_id = %email.user_id,
            "no SMTP configured: mail not delivered"
        );
        Ok(())
    }
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
