//! Development delivery when no SMS provider is configured: each message is written to
//! `LATCHKEY_SMS_DIR` as a `.txt` file, and the log says where, never what (the text holds a
//! sign-in code).

use std::path::PathBuf;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt as _;

use super::{SmsError, TextSender};
use crate::model::{PhoneNumber, Secret};

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
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
