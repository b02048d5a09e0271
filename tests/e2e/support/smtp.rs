//! The SMTP sink `scripts/test` runs (`tests/smtp_sink.py`): variables pointing a server at
//! it, and reading what it received. Each test uses its own addresses, so tests never see
//! each other's mail.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;

/// How long a mail may take to arrive: it is there when the request answers, unless the
/// outbox worker had to retry it.
const MAIL_TIMEOUT: Duration = Duration::from_secs(10);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with ./scripts/test, which starts the SMTP sink")
    })
}

/// The variables that make a server deliver to the sink, with links to `base`.
pub fn vars(base: &str) -> Vec<(String, String)> {
    [
        ("AUTH_SMTP_HOST", "127.0.0.1".to_owned()),
        ("AUTH_SMTP_PORT", env("LATCHKEY_TEST_SMTP_PORT")),
        (
            "AUTH_SMTP_SENDER",
            "Latchkey Tests <auth@latchkey.test>".to_owned(),
        ),
        ("AUTH_SERVER_URL", base.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The sink's port, e.g. to point a server back at it with `/change-env`.
pub fn port() -> String {
    env("LATCHKEY_TEST_SMTP_PORT")
}

/// A port nothing listens on (bound, then released), to make SMTP fail.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A fresh address nobody else uses.
pub fn address(name: &str) -> String {
    format!("{name}-{}@example.test", uuid::Uuid::new_v4().simple())
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub raw_body: String,
}

impl Mail {
    fn parse(text: &str) -> Mail {
        let text = text.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                headers.last_mut().unwrap().1.push_str(line.trim_start());
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
        Mail {
            headers,
            raw_body: body.to_owned(),
        }
    }

    /// The value of the header `name` (case-insensitive); panics if absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    /// The body with its transfer encoding undone.
    pub fn body(&self) -> String {
        let encoding = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Content-Transfer-Encoding"))
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        match encoding.as_str() {
            "base64" => {
                let compact: String = self.raw_body.split_whitespace().collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .unwrap(),
                )
                .unwrap()
            }
            "quoted-printable" => quoted_printable(&self.raw_body),
            _ => self.raw_body.clone(),
        }
    }
}

fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\n", "");
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' && tail.len() >= 2 {
            let hex = std::str::from_utf8(&tail[..2]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn folder(to: &str) -> PathBuf {
    // The same rule as the sink's `folder_name`.
    let name: String = to
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(env("LATCHKEY_TEST_SMTP_DIR")).join(name)
}

/// Every mail the sink holds for `to`, oldest first.
pub fn mails_to(to: &str) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(folder(to)) else {
        return vec![];
    };
    let mut names: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| Mail::parse(&std::fs::read_to_string(p).unwrap()))
        .collect()
}

/// Waits (bounded) until `to` has received `count` mails, and returns them, oldest first.
pub async fn wait_for_mails(to: &str, count: usize) -> Vec<Mail> {
    let start = Instant::now();
    loop {
        let mails = mails_to(to);
        if mails.len() >= count {
            return mails;
        }
        assert!(
            start.elapsed() < MAIL_TIMEOUT,
            "{to} received {} mails, expected {count}, within {MAIL_TIMEOUT:?}",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) for the first mail to `to`.
pub async fn wait_for_mail(to: &str) -> Mail {
    wait_for_mails(to, 1).await.remove(0)
}
