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
