//! A rendered mail as the outbox stores it.

use std::fmt;

use super::{MailId, Secret, Timestamp, UserId};

/// A mail rendered at the request that caused it, stored in the outbox before any attempt,
/// so any replica later sends exactly that. The headers and the body carry a sign-in link:
/// the row lives only until the mail server takes it (or it is given up).
#[derive(Clone)]
pub struct OutboxMail {
    pub id: MailId,
    pub user_id: UserId,
    /// The Nhost template name (`email-verify`), for logs, metrics and events.
    pub template: String,
    /// The `From` mailbox, as configured when the mail was made.
    pub from: String,
    pub to: String,
    pub subject: String,
    /// Headers after the standard ones, in order (`X-Ticket`, `X-Link`, ...).
    pub headers: Vec<(String, String)>,
    /// The HTML body.
    pub body: Secret,
    pub created_at: Timestamp,
    /// Past this the mail is dropped unsent: its link has expired, or it is too old to help.
    pub expires_at: Timestamp,
    /// When a worker may take it; until then whoever is attempting it holds it (a lease).
    pub next_attempt_at: Timestamp,
    /// Attempts started, the one in progress included; also the lease's fencing token.
    pub attempts: u32,
}

impl OutboxMail {
    /// The value of header `name` (case-insensitive) among `headers`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Never prints the headers, body or address: they hold the link, and a user's address.
impl fmt::Debug for OutboxMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMail")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("template", &self.template)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}
