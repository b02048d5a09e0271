//! Development delivery when no SMS provider is configured: each message is written to
//! `LATCHKEY_SMS_DIR` as a `.txt` file, and the log says where, never what (the text holds a
//! sign-in code).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt as _;

use super::{SmsError, TextSender};
use crate::mail::DEV_FILE_TIME;
use crate::model::{PhoneNumber, Secret, Timestamp};

/// Reads back the time in a file's name (written with `DEV_FILE_TIME`), and the millisecond
/// names earlier versions wrote.
const NAME_TIME_READ: &str = "%Y%m%dT%H%M%S%.fZ";

pub struct DevSender {
    dir: PathBuf,
}

impl DevSender {
    pub fn new(dir: PathBuf) -> Self {
        DevSender { dir }
    }
}

#[async_trait]
impl TextSender for DevSender {
    // Nhost: its `dev` provider logs the message, code included; a log line outlives the
    // code and travels further than a file on the developer's machine.
    async fn send(&self, to: &PhoneNumber, body: &Secret) -> Result<(), SmsError> {
        let failed = |e: std::io::Error| {
            SmsError(format!("writing to {}: {}", self.dir.display(), e.kind()))
        };
        tokio::fs::create_dir_all(&self.dir).await.map_err(failed)?;
        let name = format!(
            "{}-{}.txt",
            chrono::Utc::now().format(DEV_FILE_TIME),
            uuid::Uuid::new_v4().simple()
        );
        let path = self.dir.join(name);
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // Owner-only: the file holds a sign-in code.
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&path).await.map_err(failed)?;
        let text = format!("To: {to}\n\n{}\n", body.expose());
        file.write_all(text.as_bytes()).await.map_err(failed)?;
        file.flush().await.map_err(failed)?;
        tracing::info!(
            event = "sms.written",
            path = %path.display(),
            "no SMS provider configured (AUTH_SMS_PROVIDER): message written to a file"
        );
        Ok(())
    }
}

/// A text the `dev` provider wrote, read back for the playground's development inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenText {
    /// The file's name, which starts with the time it was written.
    pub name: String,
    pub written_at: Timestamp,
    /// The E.164 number it was for.
    pub to: String,
    pub text: String,
}

/// The newest `limit` texts written to `dir`, newest first. A missing folder holds none;
/// files not in the form `send` writes are skipped.
pub async fn read_texts(dir: &Path, limit: usize) -> Vec<WrittenText> {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return Vec::new();
    };
    let mut names = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(written_at) = written_at(&name) {
            names.push((name, written_at));
        }
    }
    names.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    let mut texts = Vec::new();
    for (name, written_at) in names.into_iter().take(limit) {
        let Ok(content) = tokio::fs::read_to_string(dir.join(&name)).await else {
            continue;
        };
        let Some((to, text)) = content
            .strip_prefix("To: ")
            .and_then(|c| c.split_once("\n\n"))
        else {
            continue;
        };
        texts.push(WrittenText {
            written_at,
            to: to.to_owned(),
            text: text.trim_end().to_owned(),
            name,
        });
    }
    texts
}

/// The time in the name of a file `send` wrote (`<time>-<id>.txt`); `None` for other files.
fn written_at(name: &str) -> Option<Timestamp> {
    let (time, _) = name.strip_suffix(".txt")?.split_once('-')?;
    let time = chrono::NaiveDateTime::parse_from_str(time, NAME_TIME_READ).ok()?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Log output, captured.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
        type Writer = Logs;
        fn make_writer(&'a self) -> Logs {
            self.clone()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn writes_the_text_and_logs_only_where() {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::TRACE)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let dir = std::env::temp_dir().join(format!("latchkey-sms-{}", uuid::Uuid::new_v4()));
        let to = PhoneNumber::parse("+33 6 12 34 56 78").unwrap();
        let body = Secret::new("Your code is 097531.");
        DevSender::new(dir.clone()).send(&to, &body).await.unwrap();

        let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("sms.written"), "{logged}");
        assert!(logged.contains(&dir.display().to_string()), "{logged}");
        assert!(
            !logged.contains("097531"),
            "the code is not logged: {logged}"
        );
        assert!(!logged.contains("612345678"), "the number is not logged");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1);
        let path = files.into_iter().next().unwrap().unwrap().path();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text, "To: +33612345678\n\nYour code is 097531.\n");

        // Read back for the inbox, newest first; anything else in the folder is skipped.
        std::fs::write(dir.join("notes.txt"), "To: +33612345678\n\nnot ours\n").unwrap();
        let other = PhoneNumber::parse("+33698765432").unwrap();
        let second = Secret::new("Your code is 000111.");
        DevSender::new(dir.clone())
            .send(&other, &second)
            .await
            .unwrap();
        let texts = read_texts(&dir, 10).await;
        let read: Vec<_> = texts
            .iter()
            .map(|t| (t.to.as_str(), t.text.as_str()))
            .collect();
        assert_eq!(
            read,
            [
                ("+33698765432", "Your code is 000111."),
                ("+33612345678", "Your code is 097531."),
            ]
        );
        assert!(texts[0].written_at >= texts[1].written_at);
        assert_eq!(read_texts(&dir, 1).await.len(), 1);
        assert!(read_texts(&dir.join("missing"), 10).await.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_carry_the_time_to_the_nanosecond_and_old_ones_still_read() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-06T02:50:01.123456789Z")
            .unwrap()
            .to_utc();
        let name = format!("{}-abc.txt", at.format(DEV_FILE_TIME));
        assert_eq!(name, "20261206T025001.123456789Z-abc.txt");
        assert_eq!(written_at(&name), Some(at));
        let old = written_at("20261206T025001.123Z-abc.txt").unwrap();
        assert_eq!(old.timestamp_subsec_millis(), 123);
        assert_eq!(written_at("notes.txt"), None);
    }
}
