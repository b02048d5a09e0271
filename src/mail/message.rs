//! Turns an `Email` into a MIME message: the rendered template plus Nhost's headers.

use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::{HeaderName, HeaderValue};

use super::templates::{Rendered, TemplateVars, Templates};
use super::{Email, MailError};
use crate::config::Config;
use crate::model::{MailId, OutboxMail, Secret, Timestamp};

/// Everything a mailer needs to build messages; built from the configuration.
pub struct Composer {
    sender: Mailbox,
    x_smtpapi: Option<String>,
    templates: Templates,
    server_url: String,
    client_url: String,
}

impl Composer {
    pub fn new(config: &Config, templates: Templates) -> Self {
        Composer {
            sender: config.mail.sender.clone(),
            x_smtpapi: config
                .mail
                .smtp
                .as_ref()
                .and_then(|s| s.x_smtpapi_header.clone()),
            templates,
            server_url: config.server_url.as_str().trim_end_matches('/').to_owned(),
            client_url: config.client_url.as_str().trim_end_matches('/').to_owned(),
        }
    }

    /// The SMS text carrying a sign-in `code` (`signin-passwordless-sms`), in `locale`.
    pub fn sms_text(&self, locale: &str, code: &Secret) -> Secret {
        Secret::new(self.templates.render_sms(locale, code.expose()))
    }

    /// Renders the mail's template into the outbox form: `From`, `To`, subject, body and
    /// the `X-Ticket`, `X-Redirect-To`, `X-Email-Template` and `X-Link` headers Nhost sends
    /// (its test suites and mail hooks read them), plus `X-SMTPAPI` when configured. The
    /// message is built once here, so a mail that cannot be built is never stored. The
    /// outbox fields (`expires_at`, `next_attempt_at`, `attempts`) are the caller's: here
    /// `now`, `now` and 0.
    pub fn compose(
        &self,
        email: &Email,
        id: MailId,
        now: Timestamp,
    ) -> Result<OutboxMail, MailError> {
        let vars = TemplateVars {
            link: email.link.expose(),
            display_name: &email.display_name,
            email: &email.to,
            new_email: email.new_email.as_deref().unwrap_or_default(),
            ticket: email.ticket.expose(),
            redirect_to: &email.redirect_to,
            locale: &email.locale,
            server_url: &self.server_url,
            client_url: &self.client_url,
            code: email.ticket.expose(),
        };
        let rendered: Rendered = self.templates.render(email.template, &email.locale, &vars);
        let mut headers = vec![
            ("X-Ticket".to_owned(), email.ticket.expose().to_owned()),
            ("X-Redirect-To".to_owned(), email.redirect_to.clone()),
            (
                "X-Email-Template".to_owned(),
                email.template.name().to_owned(),
            ),
            ("X-Link".to_owned(), email.link.expose().to_owned()),
        ];
        if let Some(smtpapi) = &self.x_smtpapi {
            headers.push(("X-SMTPAPI".to_owned(), smtpapi.clone()));
        }
        let mail = OutboxMail {
            id,
            user_id: email.user_id,
            template: email.template.name().to_owned(),
            from: self.sender.to_string(),
            to: email.to.clone(),
            subject: rendered.subject,
            headers,
            body: Secret::new(rendered.body),
            created_at: now,
            expires_at: now,
            next_attempt_at: now,
            attempts: 0,
        };
        build_message(&mail)?;
        Ok(mail)
    }
}

/// The MIME message of a rendered mail. The same every time for the same mail: `Message-ID`
/// comes from the outbox id and `Date` from its creation, so a mail sent twice (a crash after
/// the server took it) can be recognised as one.
pub fn build_message(mail: &OutboxMail) -> Result<Message, MailError> {
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|e| MailError::Build(format!("sender: {e}")))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError::Build(format!("recipient: {e}")))?;
    let message_id = format!("<{}@{}>", mail.id, from.email.domain());
    let mut builder = Message::builder()
        .message_id(Some(message_id))
        .date(std::time::SystemTime::from(mail.created_at))
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        // Spelled as Nhost sends it (lettre's typed header would lower-case the charset).
        .raw_header(header("Content-Type", "text/html; charset=UTF-8")?);
    for (name, value) in &mail.headers {
        builder = builder.raw_header(header(name, value)?);
    }
    builder
        .body(mail.body.expose().to_owned())
        .map_err(|e| MailError::Build(e.to_string()))
}

/// A custom header. Printable ASCII goes out as written, as Nhost sends it, so readers of
/// `X-Link` get the URL itself; anything else (a line break could add headers) is
/// RFC 2047-encoded by lettre.
fn header(name: &str, value: &str) -> Result<HeaderValue, MailError> {
    let name = HeaderName::new_from_ascii(name.to_owned())
        .map_err(|e| MailError::Build(format!("header name: {e}")))?;
    let plain = value.len() <= 900 && value.bytes().all(|b| (0x20..0x7f).contains(&b));
    Ok(if plain {
        HeaderValue::dangerous_new_pre_encoded(name, value.to_owned(), value.to_owned())
    } else {
        HeaderValue::new(name, value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::Template;
    use crate::model::{Secret, UserId};

    fn email(redirect_to: &str) -> Email {
        Email {
            template: Template::EmailVerify,
            user_id: UserId::new_random(),
            to: "ada@example.test".into(),
            display_name: "Ada".into(),
            locale: "en".into(),
            link: Secret::new(
                "http://localhost:4000/verify?redirectTo=http%3A%2F%2Flocalhost%3A3000%2F&ticket=verifyEmail%3A4a5b1c2d-0000-4000-8000-000000000000&type=emailVerify".to_owned(),
            ),
            ticket: Secret::new("verifyEmail:4a5b1c2d-0000-4000-8000-000000000000".to_owned()),
            redirect_to: redirect_to.into(),
            new_email: None,
        }
    }

    fn composer(vars: &[(&str, &str)]) -> Composer {
        let config =
            Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
        Composer::new(&config, Templates::builtin("en"))
    }

    #[test]
    fn headers_are_nhosts_and_unfolded() {
        let c = composer(&[
            ("AUTH_SMTP_HOST", "127.0.0.1"),
            ("AUTH_SMTP_SENDER", "App <no-reply@example.test>"),
            ("AUTH_SMTP_X_SMTPAPI_HEADER", r#"{"filters":{}}"#),
        ]);
        let mail = email("http://localhost:3000/");
        let rendered = c
            .compose(&mail, MailId::new_random(), chrono::Utc::now())
            .unwrap();
        let message = build_message(&rendered).unwrap();
        let again = build_message(&rendered).unwrap();
        assert_eq!(
            message.formatted(),
            again.formatted(),
            "stable across attempts"
        );
        let text = String::from_utf8(message.formatted()).unwrap();
        for line in [
            format!("X-Link: {}\r\n", mail.link.expose()),
            "X-Ticket: verifyEmail:4a5b1c2d-0000-4000-8000-000000000000\r\n".into(),
            "X-Redirect-To: http://localhost:3000/\r\n".into(),
            "X-Email-Template: email-verify\r\n".into(),
            "X-SMTPAPI: {\"filters\":{}}\r\n".into(),
            "Content-Type: text/html; charset=UTF-8\r\n".into(),
            "Subject: Verify your email\r\n".into(),
            "From: App <no-reply@example.test>\r\n".into(),
            "To: ada@example.test\r\n".into(),
        ] {
            assert!(text.contains(&line), "{line:?} in\n{text}");
        }
        assert!(rendered.body.expose().contains("&amp;ticket=verifyEmail"));
        let id = format!("Message-ID: <{}@example.test>\r\n", rendered.id);
        assert!(text.contains(&id), "{text}");
    }

    #[test]
    fn header_injection_is_encoded_away() {
        let c = composer(&[]);
        let now = chrono::Utc::now();
        let mail = email("http://localhost:3000/\r\nBcc: victim@example.test");
        let rendered = c.compose(&mail, MailId::new_random(), now).unwrap();
        let text = String::from_utf8(build_message(&rendered).unwrap().formatted()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
        assert!(
            c.compose(
                &Email {
                    to: "not an address".into(),
                    ..email("http://localhost:3000/")
                },
                MailId::new_random(),
                now
            )
            .is_err()
        );
    }
}
