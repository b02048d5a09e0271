//! SMTP delivery over lettre. Sending returns once the message is built; delivery runs in a
//! background task with bounded retries, so a slow or failing mail server never holds up or
//! fails the request that caused the mail (its ticket is already stored, and the user can ask
//! for the mail again).

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::Instrument as _;

use super::{Composer, Email, MailError, Mailer};
use crate::config::{SmtpAuthMethod, SmtpConfig};
use crate::model::UserId;

/// Attempts per mail: 1 s, 2 s, 4 s, 8 s apart, so about a quarter of a minute of outage is
/// bridged before the mail is given up (and logged as an error).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Per SMTP command; lettre's default of a minute would keep dead connections around.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    composer: Composer,
}

impl SmtpMailer {
    /// Builds the transport (no connection is made yet). Fails when TLS cannot be set up.
    pub fn new(config: &SmtpConfig, composer: Composer) -> Result<Self, String> {
        let tls_parameters = || {
            TlsParameters::new(config.host.clone())
                .map_err(|e| format!("AUTH_SMTP_HOST: TLS setup for {}: {e}", config.host))
        };
        // Credentials never cross an unencrypted link to another machine: STARTTLS is
        // required then (as Go's PLAIN auth insists, which Nhost uses). A relay on this host
        // and an unauthenticated relay may stay plain when they offer no STARTTLS.
        let tls = if config.secure {
            Tls::Wrapper(tls_parameters()?)
        } else if config.user.is_some() && !is_loopback(&config.host) {
            Tls::Required(tls_parameters()?)
        } else {
            Tls::Opportunistic(tls_parameters()?)
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT));
        if let Some(user) = &config.user {
            let pass = config
                .pass
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            let mechanism = match config.auth_method {
                SmtpAuthMethod::Plain => Mechanism::Plain,
                SmtpAuthMethod::Login => Mechanism::Login,
            };
            builder = builder
                .credentials(Credentials::new(user.clone(), pass))
                .authentication(vec![mechanism]);
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            composer,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn reachable(&self) -> Option<bool> {
        // Bounded: a readiness probe must answer quickly even when the relay hangs.
        let probe = self.transport.test_connection();
        match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
            Ok(Ok(true)) => Some(true),
            _ => Some(false),
        }
    }

    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let (message, _) = self.composer.compose(email)?;
        let delivery = deliver(
            self.transport.clone(),
            message,
            email.template.name(),
            email.user_id,
        );
        tokio::spawn(delivery.instrument(tracing::Span::current()));
        Ok(())
    }
}

/// Sends with exponential backoff; a permanent refusal (5xx) is not retried.
async fn deliver(
    transport: AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
    template: &'static str,
    user_id: UserId,
) {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let err = match transport.send(message.clone()).await {
            Ok(_) => {
                metrics::counter!("latchkey_mails_total", "outcome" => "sent").increment(1);
                tracing::info!(event = "mail.sent", template, %user_id, attempt, "mail sent");
                return;
            }
            Err(err) => err,
        };
        if err.is_permanent() || attempt == ATTEMPTS {
            metrics::counter!("latchkey_mails_total", "outcome" => "failed").increment(1);
            // Operators: check AUTH_SMTP_* and the relay's logs; the user can ask for the
            // mail again (e.g. /user/email/send-verification-email).
            tracing::error!(event = "mail.failed", template, %user_id, attempt,
                            permanent = err.is_permanent(), error = %err, "mail given up");
            return;
        }
        metrics::counter!("latchkey_mails_total", "outcome" => "retried").increment(1);
        tracing::warn!(event = "mail.retry", template, %user_id, attempt, error = %err,
                       retry_in_ms = backoff.as_millis() as u64, "mail not sent yet");
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "127.0.0.1", "::1", "[::1]", "127.0.0.2"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["smtp.example.com", "10.0.0.1", "localhost.evil.test"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
