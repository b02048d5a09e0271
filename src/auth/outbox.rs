//! The mail outbox (issue #16). Every mail is stored before anything is sent, in the
//! transaction that stores the ticket it carries; the request then makes one attempt within
//! `LATCHKEY_MAIL_SEND_TIMEOUT` and answers success whatever the mail server does. What is
//! left is retried with backoff by the `OutboxWorker` of every replica. A mail leaves the
//! outbox as soon as the server takes it, or when it is given up (`mail.failed`).
//!
//! Nothing sends a mail without holding it: a new mail is stored with `next_attempt_at` past
//! the request's attempt (its lease), and a worker's claim pushes `next_attempt_at` past its
//! own attempts. Leases are read on the domain clock: replicas' clocks must agree to within
//! `LEASE_MARGIN`. A mail the server took just before a crash (before its row was deleted) is
//! sent again: delivery is at least once, with the same `Message-ID`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Auth, Runtime};
use crate::mail::{Email, MailError};
use crate::model::{MailId, OutboxMail, Timestamp};
use crate::store::StoreError;

/// Added to every lease beyond the send timeout: time to record the outcome, and the clock
/// difference tolerated between replicas.
const LEASE_MARGIN: chrono::Duration = chrono::Duration::seconds(30);
/// First retry after 10 s, doubling up to 10 min: an outage of minutes costs a few attempts.
const FIRST_RETRY: chrono::Duration = chrono::Duration::seconds(10);
const MAX_RETRY: chrono::Duration = chrono::Duration::minutes(10);
/// A mail older than this is given up even if its link is still valid: the user has long
/// asked again, and the outbox keeps links no longer than it must.
const MAX_AGE: chrono::Duration = chrono::Duration::days(1);
/// A refusal (5xx) is tried this many times in all: relays answer 5xx to some passing
/// faults (a full queue, a misapplied policy), but a mailbox that does not exist stays so.
const REFUSED_ATTEMPTS: u32 = 3;
/// Mails one claim takes; they are attempted one after the other within one lease.
const BATCH: u32 = 5;
/// How often each replica looks for due mails.
const POLL: Duration = Duration::from_secs(1);

/// The wait before the attempt after attempt number `attempts` (1-based) failed.
fn retry_delay(attempts: u32) -> chrono::Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_RETRY
        .checked_mul(1 << doublings)
        .map_or(MAX_RETRY, |d| d.min(MAX_RETRY))
}

fn send_timeout(rt: &Runtime) -> chrono::Duration {
    chrono::Duration::from_std(rt.config.mail.send_timeout).unwrap_or(MAX_RETRY)
}

impl Auth {
    /// Renders `email` into an outbox row held for the request's own attempt (attempt 1,
    /// due for workers only once that attempt's time is up), dropped with its ticket at
    /// `ticket_expires_at` or after a day. `None`, logged as `mail.failed`, when the mail
    /// cannot be built (an address lettre refuses): the request goes on without it, as the
    /// user can ask for the mail again.
    pub(crate) fn outbox_mail(
        &self,
        rt: &Runtime,
        email: &Email,
        ticket_expires_at: Timestamp,
    ) -> Option<OutboxMail> {
        let now = self.now();
        match rt.composer.compose(email, MailId::new_random(), now) {
            Ok(mail) => Some(OutboxMail {
                expires_at: ticket_expires_at.min(now + MAX_AGE),
                next_attempt_at: now + send_timeout(rt) + LEASE_MARGIN,
                attempts: 1,
                ..mail
            }),
            Err(err) => {
                metrics::counter!("latchkey_mails_total", "outcome" => "failed").increment(1);
                tracing::error!(event = "mail.failed", template = email.template.name(),
                                user_id = %email.user_id, error = %err,
                                "mail not built; the user can ask for it again");
                None
            }
        }
    }

    /// The request's attempt at a mail it has just stored: the answer waits for it (at most
    /// `LATCHKEY_MAIL_SEND_TIMEOUT`), so the mail is in the mailbox when the answer arrives
    /// unless the server is down or slow, and then a worker sends it later.
    pub(crate) async fn deliver_now(&self, rt: &Runtime, mail: Option<OutboxMail>) {
        if let Some(mail) = mail {
            self.attempt(rt, &mail).await;
        }
    }

    /// Sends the mails due now, a batch per claim, until none is due or `stopping` is set;
    /// returns how many were attempted or given up.
    pub async fn deliver_due_mail(
        &self,
        stopping: &watch::Receiver<bool>,
    ) -> Result<usize, StoreError> {
        let mut handled = 0;
        while !*stopping.borrow() {
            let rt = self.runtime();
            let now = self.now();
            // One lease covers the whole batch, attempted one mail after the other.
            let per_mail = send_timeout(&rt);
            let lease_until = now + per_mail * i32::try_from(BATCH).unwrap_or(1) + LEASE_MARGIN;
            let batch = self.store.claim_due_mail(now, lease_until, BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for mail in batch {
                handled += 1;
                if mail.expires_at <= self.now() {
                    self.give_up(&mail, "expired").await?;
                } else if *stopping.borrow() || self.now() + per_mail > lease_until {
                    // Not attempted: it becomes due again when the lease ends.
                    continue;
                } else {
                    self.attempt(&rt, &mail).await;
                }
            }
        }
        Ok(handled)
    }

    /// One attempt within the send timeout, and its outcome recorded: the row is deleted
    /// once sent or given up, else due again after the backoff. A store failure here leaves
    /// the row held until its lease ends, and it is attempted again then.
    async fn attempt(&self, rt: &Runtime, mail: &OutboxMail) {
        let sent = tokio::time::timeout(rt.config.mail.send_timeout, rt.mailer.deliver(mail))
            .await
            .unwrap_or_else(|_| Err(MailError::Transient("timeout".into())));
        let recorded = match sent {
            Ok(()) => {
                metrics::counter!("latchkey_mails_total", "outcome" => "sent").increment(1);
                tracing::info!(event = "mail.sent", template = %mail.template,
                               user_id = %mail.user_id, attempt = mail.attempts, "mail sent");
                self.store.delete_mail(mail.id).await.map(drop)
            }
            Err(err) => self.after_failure(mail, &err).await,
        };
        if let Err(err) = recorded {
            tracing::error!(mail_id = %mail.id, error = %err,
                            "recording a mail attempt failed; retried when its lease ends");
        }
    }

    async fn after_failure(&self, mail: &OutboxMail, err: &MailError) -> Result<(), StoreError> {
        let (reason, refused) = match err {
            MailError::Transient(reason) => (reason.as_str(), false),
            MailError::Permanent(reason) | MailError::Build(reason) => (reason.as_str(), true),
        };
        let next = self.now() + retry_delay(mail.attempts);
        if (refused && mail.attempts >= REFUSED_ATTEMPTS) || next >= mail.expires_at {
            return self.give_up(mail, reason).await;
        }
        metrics::counter!("latchkey_mails_total", "outcome" => "retried").increment(1);
        // Operators: a run of these means the mail server is down or slow (AUTH_SMTP_*);
        // the mails wait in the outbox (latchkey_mail_outbox_depth).
        tracing::warn!(event = "mail.retry", template = %mail.template, user_id = %mail.user_id,
                       attempt = mail.attempts, error = reason,
                       retry_at = %next, "mail not sent yet; kept in the outbox");
        self.store
            .retry_mail_at(mail.id, mail.attempts, next, reason)
            .await
            .map(drop)
    }

    /// Drops a mail for good, with a `mail.failed` log line and audit event.
    async fn give_up(&self, mail: &OutboxMail, reason: &str) -> Result<(), StoreError> {
        metrics::counter!("latchkey_mails_total", "outcome" => "failed").increment(1);
        // Operators: check AUTH_SMTP_* and the relay's logs; the user can ask for the mail
        // again (e.g. /user/email/send-verification-email).
        tracing::error!(event = "mail.failed", template = %mail.template,
                        user_id = %mail.user_id, attempts = mail.attempts, error = reason,
                        "mail given up");
        let detail =
            json!({ "template": mail.template, "attempts": mail.attempts, "reason": reason });
        self.audit(None, "mail.failed", Some(mail.user_id), detail)
            .await;
        self.store.delete_mail(mail.id).await.map(drop)
    }

    /// One pass of the worker, then the outbox depth gauge.
    async fn outbox_pass(&self, stopping: &watch::Receiver<bool>) {
        if let Err(err) = self.deliver_due_mail(stopping).await {
            tracing::error!(error = %err, "outbox: claiming due mails failed");
        }
        match self.store.outbox_depth().await {
            Ok(depth) => metrics::gauge!("latchkey_mail_outbox_depth").set(depth as f64),
            Err(err) => tracing::error!(error = %err, "outbox: reading its depth failed"),
        }
    }
}

/// The outbox worker of one replica: delivers due mails every second until stopped.
pub struct OutboxWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl OutboxWorker {
    pub fn start(auth: Arc<Auth>) -> Self {
        let (stop, mut stopping) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                auth.outbox_pass(&stopping).await;
                tokio::select! {
                    _ = stopping.changed() => break,
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        });
        OutboxWorker { stop, task }
    }

    /// Finishes the attempt in progress, then stops; the rest waits for another replica or
    /// the next start.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Stops at once, mid-attempt, as a crash would (for tests).
    pub fn abort(self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let secs = |n| retry_delay(n).num_seconds();
        assert_eq!((secs(1), secs(2), secs(3), secs(4)), (10, 20, 40, 80));
        assert_eq!(secs(7), 600);
        assert_eq!(secs(u32::MAX), 600);
    }
}
