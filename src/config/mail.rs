//! Mail settings: SMTP delivery (Nhost's `AUTH_SMTP_*`), templates, and the development
//! folder used when no SMTP server is configured.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;

use super::Vars;
use crate::model::Secret;

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `None`: no `AUTH_SMTP_HOST`, so mails are written to `mail_dir` and logged.
    pub smtp: Option<SmtpConfig>,
    /// `AUTH_SMTP_SENDER`: the `From` of every mail.
    pub sender: Mailbox,
    /// `AUTH_EMAIL_TEMPLATES_PATH`: `<locale>/<template>/{subject.txt,body.html}` overriding
    /// the built-in English templates.
    pub templates_path: Option<PathBuf>,
    /// `LATCHKEY_MAIL_DIR`: where mails go without SMTP, for a developer to open.
    pub mail_dir: PathBuf,
    /// `LATCHKEY_MAIL_SEND_TIMEOUT`: how long one attempt to hand a mail over may take, the
    /// request's inline attempt included; past it the mail waits in the outbox.
    pub send_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `AUTH_SMTP_SECURE`: implicit TLS from the first byte (port 465 style).
    pub secure: bool,
    pub user: Option<String>,
    pub pass: Option<Secret>,
    pub auth_method: SmtpAuthMethod,
    /// `AUTH_SMTP_X_SMTPAPI_HEADER`: sent verbatim as `X-SMTPAPI` (SendGrid and similar).
    pub x_smtpapi_header: Option<String>,
}

/// `AUTH_SMTP_AUTH_METHOD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpAuthMethod {
    Plain,
    Login,
}

impl MailConfig {
    /// For the startup summary: where mails go, no credentials.
    pub fn summary(&self) -> String {
        match &self.smtp {
            Some(s) => format!(
                "mail=smtp://{}:{} secure={} auth={}",
                s.host,
                s.port,
                s.secure,
                if s.user.is_some() { "***" } else { "none" }
            ),
            None => format!("mail=files:{}", self.mail_dir.display()),
        }
    }
}

pub(super) fn mail_settings(v: &mut Vars) -> MailConfig {
    let smtp = smtp_settings(v);
    let sender = match v.get("AUTH_SMTP_SENDER").map(str::parse::<Mailbox>) {
        Some(Ok(mailbox)) => Some(mailbox),
        Some(Err(_)) => v.bad(
            "AUTH_SMTP_SENDER",
            "expected an address, e.g. \"App <no-reply@example.com>\"",
            None,
        ),
        None => {
            if smtp.is_some() {
                v.errors
                    .push("AUTH_SMTP_SENDER: required when AUTH_SMTP_HOST is set".into());
            }
            None
        }
    };
    // Without SMTP, mails only go to files: a placeholder sender is enough.
    let sender = sender.unwrap_or_else(|| {
        Mailbox::new(
            Some("Latchkey".into()),
            lettre::Address::new_dangerous("latchkey", "localhost"),
        )
    });
    let templates_path = v.get("AUTH_EMAIL_TEMPLATES_PATH").map(PathBuf::from);
    if let Some(path) = &templates_path
        && !path.is_dir()
    {
        v.errors.push(format!(
            "AUTH_EMAIL_TEMPLATES_PATH: {} is not a directory",
            path.display()
        ));
    }
    let mut send_timeout = v.seconds("LATCHKEY_MAIL_SEND_TIMEOUT", 10);
    if send_timeout.is_zero() {
        send_timeout = v.bad(
            "LATCHKEY_MAIL_SEND_TIMEOUT",
            "must be at least 1 second",
            Duration::from_secs(10),
        );
    }
    MailConfig {
        smtp,
        sender,
        templates_path,
        mail_dir: PathBuf::from(v.string("LATCHKEY_MAIL_DIR", "./latchkey-mail")),
        send_timeout,
    }
}

fn smtp_settings(v: &mut Vars) -> Option<SmtpConfig> {
    let host = v.get("AUTH_SMTP_HOST")?.to_owned();
    if host.eq_ignore_ascii_case("postmark") {
        // Nhost: `postmark` switches to Postmark's HTTP API; Postmark also speaks SMTP.
        v.errors.push(
            "AUTH_SMTP_HOST: the Postmark API mode is not supported; use Postmark's SMTP \
             server (smtp.postmarkapp.com) with the server token as user and password"
                .into(),
        );
    }
    let auth_method = match v
        .get("AUTH_SMTP_AUTH_METHOD")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("PLAIN") => SmtpAuthMethod::Plain,
        Some("LOGIN") => SmtpAuthMethod::Login,
        // lettre implements PLAIN, LOGIN and XOAUTH2 only; failing at start beats every mail
        // failing later.
        Some("CRAM-MD5") => v.bad(
            "AUTH_SMTP_AUTH_METHOD",
            "CRAM-MD5 is not supported by Latchkey; use PLAIN or LOGIN (over TLS)",
            SmtpAuthMethod::Plain,
        ),
        Some(_) => v.bad(
            "AUTH_SMTP_AUTH_METHOD",
            "expected PLAIN or LOGIN",
            SmtpAuthMethod::Plain,
        ),
    };
    let x_smtpapi_header = v.get("AUTH_SMTP_X_SMTPAPI_HEADER").map(str::to_owned);
    if x_smtpapi_header
        .as_deref()
        .is_some_and(|h| h.chars().any(|c| c.is_control()))
    {
        // A line break would let the value add headers of its own.
        v.errors
            .push("AUTH_SMTP_X_SMTPAPI_HEADER: must be one line without control characters".into());
    }
    Some(SmtpConfig {
        host,
        port: v.number("AUTH_SMTP_PORT", 587u16),
        secure: v.bool("AUTH_SMTP_SECURE", false),
        user: v.get("AUTH_SMTP_USER").map(str::to_owned),
        pass: v.get("AUTH_SMTP_PASS").map(|p| Secret::new(p.to_owned())),
        auth_method,
        x_smtpapi_header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn errors(vars: &[(&str, &str)]) -> Vec<String> {
        match Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))) {
            Ok(_) => vec![],
            Err(e) => e.0,
        }
    }

    #[test]
    fn zero_config_writes_files() {
        let config = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert!(config.mail.smtp.is_none());
        assert_eq!(config.mail.mail_dir, PathBuf::from("./latchkey-mail"));
        assert_eq!(config.mail.send_timeout, Duration::from_secs(10));
        assert!(
            errors(&[("LATCHKEY_MAIL_SEND_TIMEOUT", "0")])
                .iter()
                .any(|e| e.starts_with("LATCHKEY_MAIL_SEND_TIMEOUT:"))
        );
        assert_eq!(config.mail.sender.email.to_string(), "latchkey@localhost");
        assert!(config.mail.summary().starts_with("mail=files:"));
    }

    #[test]
    fn smtp_settings_are_parsed_and_checked() {
        let config = Config::from_vars([
            ("AUTH_SMTP_HOST", "smtp.example.com"),
            ("AUTH_SMTP_SENDER", "App <no-reply@example.com>"),
            ("AUTH_SMTP_USER", "apikey"),
            ("AUTH_SMTP_PASS", "hunter2"),
            ("AUTH_SMTP_AUTH_METHOD", "login"),
        ])
        .unwrap();
        let smtp = config.mail.smtp.as_ref().unwrap();
        assert_eq!((smtp.port, smtp.secure), (587, false));
        assert_eq!(smtp.auth_method, SmtpAuthMethod::Login);
        assert!(!config.summary().contains("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));

        let cram = errors(&[
            ("AUTH_SMTP_HOST", "smtp.example.com"),
            ("AUTH_SMTP_SENDER", "a@example.com"),
            ("AUTH_SMTP_AUTH_METHOD", "CRAM-MD5"),
        ]);
        assert!(
            cram.iter()
                .any(|e| e.starts_with("AUTH_SMTP_AUTH_METHOD:") && e.contains("CRAM-MD5")),
            "{cram:?}"
        );
        let no_sender = errors(&[("AUTH_SMTP_HOST", "smtp.example.com")]);
        assert!(no_sender.iter().any(|e| e.starts_with("AUTH_SMTP_SENDER:")));
        let bad = errors(&[
            ("AUTH_SMTP_HOST", "postmark"),
            ("AUTH_SMTP_SENDER", "not an address"),
            ("AUTH_SMTP_PORT", "70000"),
            ("AUTH_SMTP_X_SMTPAPI_HEADER", "{}\r\nBcc: x@evil.test"),
            ("AUTH_EMAIL_TEMPLATES_PATH", "/nonexistent/templates"),
        ]);
        for var in [
            "AUTH_SMTP_HOST",
            "AUTH_SMTP_SENDER",
            "AUTH_SMTP_PORT",
            "AUTH_SMTP_X_SMTPAPI_HEADER",
            "AUTH_EMAIL_TEMPLATES_PATH",
        ] {
            assert!(
                bad.iter().any(|e| e.starts_with(&format!("{var}:"))),
                "{var}: {bad:?}"
            );
        }
    }
}
