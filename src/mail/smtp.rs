//! SMTP delivery over lettre: one attempt per call, its failure classified for the outbox
//! (`auth::outbox`), which bounds the time and retries.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailError, Mailer, build_message};
use crate::config::{SmtpAuthMethod, SmtpConfig};
use crate::model::OutboxMail;

/// Per SMTP command; the outbox bounds the whole attempt (`LATCHKEY_MAIL_SEND_TIMEOUT`).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// Builds the transport (no connection is made yet). Fails when TLS cannot be set up.
    pub fn new(config: &SmtpConfig) -> Result<Self, String> {
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

    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let message = build_message(mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) => {
                // The server's words stay in this debug line: they can echo the address.
                tracing::debug!(mail_id = %mail.id, error = %err, "SMTP attempt failed");
                Err(classify(&err))
            }
        }
    }
}

/// A 5xx is a refusal; anything else (no connection, TLS, a timeout, a 4xx) is worth
/// another attempt. The text is the kind and code only.
fn classify(err: &lettre::transport::smtp::Error) -> MailError {
    match err.status() {
        Some(code) if err.is_permanent() => MailError::Permanent(format!("smtp {code}")),
        Some(code) => MailError::Transient(format!("smtp {code}")),
        None if err.is_timeout() => MailError::Transient("smtp timeout".into()),
        None => MailError::Transient("smtp connection failed".into()),
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
