//! Development delivery when no SMTP server is configured: each mail is written to
//! `LATCHKEY_MAIL_DIR` as `.eml` (the whole message, headers included) and `.html` (the
//! body, to open in a browser and click), and the log says where. A `.json` beside them
//! holds what the playground's development inbox lists (`read_inbox`).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt as _;

use super::{MailError, Mailer, build_message};
use crate::model::OutboxMail;

/// The UTC time a development file was written, first in its name, to the nanosecond: the
/// development inbox (`Auth::dev_inbox`) lists mails and `dev` SMS texts together by file
/// name, so both folders name their files with this, and two written within one
/// millisecond still come in the order they were written.
pub const DEV_FILE_TIME: &str = "%Y%m%dT%H%M%S%.9fZ";

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
            chrono::Utc::now().format(DEV_FILE_TIME),
            mail.template,
            mail.id.as_uuid().simple()
        );
        let eml = self.dir.join(format!("{stem}.eml"));
        let html = self.dir.join(format!("{stem}.html"));
        write_private(&eml, &message.formatted()).await?;
        write_private(&html, mail.body.expose().as_bytes()).await?;
        let link = mail
            .headers
            .iter()
            .find(|(name, value)| name == "X-Link" && !value.is_empty())
            .map(|(_, value)| value.clone());
        let meta = InboxEntry {
            kind: InboxKind::Mail,
            template: mail.template.clone(),
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            created_at: mail.created_at,
            link,
            text: text_of(mail.body.expose()),
            file: String::new(),
        };
        let json = serde_json::to_vec(&meta).map_err(|e| MailError::Permanent(e.to_string()))?;
        write_private(&self.dir.join(format!("{stem}.json")), &json).await?;
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

/// What kind of message an inbox entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboxKind {
    Mail,
    /// Written by the development SMS provider.
    Sms,
}

/// One message in the development inbox: what the playground shows of a mail written here,
/// or of a text the `dev` SMS provider wrote (`kind`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxEntry {
    pub kind: InboxKind,
    pub template: String,
    pub to: String,
    pub subject: String,
    pub created_at: crate::model::Timestamp,
    /// The sign-in or verification link, when the mail has one.
    pub link: Option<String>,
    /// The body as plain text (for the codes).
    pub text: String,
    /// The name of the file it was read from, which starts with the UTC time it was written
    /// (mails and texts alike): the inbox's order, whatever clock `created_at` came from.
    #[serde(skip)]
    pub file: String,
}

/// The newest `limit` messages written to `dir`, newest first. A missing folder is an empty
/// inbox; unreadable entries are skipped.
pub async fn read_inbox(dir: &Path, limit: usize) -> Vec<InboxEntry> {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return Vec::new();
    };
    let mut names = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            names.push(name);
        }
    }
    // The names start with the UTC time the mail was written.
    names.sort_unstable_by(|a, b| b.cmp(a));
    let mut inbox = Vec::new();
    for name in names.into_iter().take(limit) {
        let Ok(bytes) = tokio::fs::read(dir.join(&name)).await else {
            continue;
        };
        if let Ok(entry) = serde_json::from_slice::<InboxEntry>(&bytes) {
            inbox.push(InboxEntry {
                file: name,
                ..entry
            });
        }
    }
    inbox
}

/// The visible text of one of our HTML mails: tags dropped, the entities our templates
/// produce decoded, whitespace collapsed. For display in the inbox only.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names[0].contains("-email-verify-"), "{names:?}");
        assert!(names[0].ends_with(".eml") && names[1].ends_with(".html"));
        assert!(names[2].ends_with(".json"));
        let inbox = read_inbox(&dir, 10).await;
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].to, "ada@example.test");
        assert_eq!(inbox[0].template, "email-verify");
        assert_eq!(inbox[0].link.as_deref(), Some(link));
        assert!(inbox[0].text.contains("Ada") && !inbox[0].text.contains('<'));
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
