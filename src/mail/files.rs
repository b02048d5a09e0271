//! Development delivery when no SMTP server is configured: each mail is written to
//! `LATCHKEY_MAIL_DIR` as `.eml` (the whole message, headers included) and `.html` (the
//! body, to open in a browser and click), and the log says where.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt as _;

use super::{MailError, Mailer, build_message};
use crate::model::OutboxMail;

pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: PathBuf) -> Self {
        FileMailer { dir }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let message = build_message(mail)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| delivery(&self.dir, &e))?;
        let stem = format!(
            "{}-{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            mail.template,
            mail.id.as_uuid().simple()
        );
        let eml = self.dir.join(format!("{stem}.eml"));
        let html = self.dir.join(format!("{stem}.html"));
        write_private(&eml, &message.formatted()).await?;
        write_private(&html, mail.body.expose().as_bytes()).await?;
        // The link signs its holder in: the log names the file, never the link or address.
        tracing::info!(
            event = "mail.written",
            template = %mail.template,
            user_id = %mail.user_id,
            path = %html.display(),
            "no SMTP configured (AUTH_SMTP_HOST): mail written to a file"
        );
        Ok(())
    }
}

/// Owner-only on Unix: the files hold sign-in links.
async fn write_private(path: &Path, bytes: &[u8]) -> Result<(), MailError> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await.map_err(|e| delivery(path, &e))?;
    file.write_all(bytes)
        .await
        .map_err(|e| delivery(path, &e))?;
    file.flush().await.map_err(|e| delivery(path, &e))
}

fn delivery(path: &Path, err: &std::io::Error) -> MailError {
    MailError::Transient(format!("writing {}: {}", path.display(), err.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::mail::{Composer, Email, Template, Templates};
    use crate::model::{Secret, UserId};

    #[tokio::test]
    async fn writes_eml_and_html() {
        let dir = std::env::temp_dir().join(format!("latchkey-mail-{}", uuid::Uuid::new_v4()));
        let config = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        let mailer = FileMailer::new(dir.clone());
        let composer = Composer::new(&config, Templates::builtin("en"));
        let link =
            "http://localhost:4000/verify?redirectTo=x&ticket=verifyEmail%3Aabc&type=emailVerify";
        let email = Email {
            template: Template::EmailVerify,
            user_id: UserId::new_random(),
            to: "ada@example.test".into(),
            display_name: "Ada".into(),
            locale: "en".into(),
            link: Secret::new(link.to_owned()),
            ticket: Secret::new("verifyEmail:abc".to_owned()),
            redirect_to: "x".into(),
            new_email: None,
        };
        let mail = composer
            .compose(
                &email,
                crate::model::MailId::new_random(),
                chrono::Utc::now(),
            )
            .unwrap();
        mailer.deliver(&mail).await.unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].contains("-email-verify-"), "{names:?}");
        assert!(names[0].ends_with(".eml") && names[1].ends_with(".html"));
        let html = std::fs::read_to_string(dir.join(&names[1])).unwrap();
        assert!(html.contains(&link.replace('&', "&amp;")), "{html}");
        let eml = std::fs::read_to_string(dir.join(&names[0])).unwrap();
        assert!(eml.contains(&format!("X-Link: {link}\r\n")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(&names[1]))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read sign-in links");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
