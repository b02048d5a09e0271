//! A tiny SMTP server the test controls, on a real socket in this process: it takes mails
//! (optionally slowly), answers DATA with a code of the test's choice, or hangs. For the
//! cases the shared sink cannot play: a slow, refusing or hanging mail server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with the next mails.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Takes each mail after this pause.
    Accept(Duration),
    /// Answers DATA's end with this code (e.g. 451, 550).
    Refuse(u16),
    /// Never answers DATA.
    Hang,
}

pub struct FakeSmtp {
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    received: Arc<Mutex<Vec<String>>>,
    /// DATA commands seen: attempts, whatever their outcome.
    attempts: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeSmtp {
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(mode));
        let received = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (m, r, a) = (mode.clone(), received.clone(), attempts.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, m.clone(), r.clone(), a.clone()));
            }
        });
        FakeSmtp {
            port,
            mode,
            received,
            attempts,
            task,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Attempts (DATA commands) so far.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `n` attempts (DATA commands) have reached the server.
    pub async fn wait_for_attempts(&self, n: usize) {
        let start = std::time::Instant::now();
        while self.attempts() < n {
            assert!(start.elapsed() < Duration::from_secs(10), "{n} attempts");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The raw messages taken so far.
    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    /// The `Message-ID` of every message taken, in order.
    pub fn message_ids(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("Message-ID: "))
                    .unwrap_or_else(|| panic!("no Message-ID in {m}"))
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(
    stream: TcpStream,
    mode: Arc<Mutex<Mode>>,
    received: Arc<Mutex<Vec<String>>>,
    attempts: Arc<AtomicUsize>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 fake ESMTP\r\n").await;
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" | "HELO" => "250 fake\r\n".to_owned(),
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            "DATA" => {
                attempts.fetch_add(1, Ordering::SeqCst);
                let current = *mode.lock().unwrap();
                if let Mode::Hang = current {
                    std::future::pending::<()>().await;
                }
                let _ = write.write_all(b"354 go on\r\n").await;
                let mut message = String::new();
                while let Ok(Some(l)) = lines.next_line().await {
                    if l == "." {
                        break;
                    }
                    message.push_str(l.strip_prefix('.').unwrap_or(&l));
                    message.push('\n');
                }
                match current {
                    Mode::Accept(pause) => {
                        tokio::time::sleep(pause).await;
                        received.lock().unwrap().push(message);
                        "250 taken\r\n".to_owned()
                    }
                    Mode::Refuse(code) => format!("{code} not now\r\n"),
                    Mode::Hang => unreachable!(),
                }
            }
            _ => "250 ok\r\n".to_owned(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
