//! The binary itself: `check-config` and graceful shutdown on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn latchkey() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

#[test]
fn check_config_reports_good_and_bad_environments() {
    let ok = latchkey()
        .arg("check-config")
        .env("AUTH_WEBAUTHN_ENABLED", "true")
        .output()
        .unwrap();
    assert!(ok.status.success());
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        out.contains("configuration ok") && out.contains("webauthn.enabled=true"),
        "{out}"
    );

    let secret = r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef"}"#;
    let ok = latchkey()
        .arg("check-config")
        .env("HASURA_GRAPHQL_JWT_SECRET", secret)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&ok.stdout).contains("0123456789abcdef"),
        "key redacted"
    );

    let bad = latchkey()
        .arg("check-config")
        .env("AUTH_PORT", "eighty")
        .env("AUTH_WEBAUTHN_USER_VERIFICATION", "sometimes")
        .env("AUTH_ENCRYPTION_KEY", "0123456789abcdef-not-32-bytes")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("AUTH_PORT")
            && err.contains("AUTH_WEBAUTHN_USER_VERIFICATION")
            && err.contains("AUTH_ENCRYPTION_KEY"),
        "{err}"
    );
    assert!(!err.contains("not-32-bytes"), "the key is echoed: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let dir = std::env::temp_dir().join(format!("latchkey-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut child = latchkey()
        .arg("serve")
        .current_dir(&dir)
        .env("AUTH_PORT", port.to_string())
        .env("AUTH_ANONYMOUS_USERS_ENABLED", "true")
        .env("LATCHKEY_DATABASE_URL", "sqlite://latchkey.db")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("server did not start: {e}"),
        }
    };
    // Half a request, then SIGTERM, then the rest: the answer must still come.
    stream
        .write_all(b"POST /signin/anonymous HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(b"{}").unwrap();
    let mut response = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response:.200}");
    assert!(response.contains("refreshToken"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    // New connections are refused once it has stopped.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GET /healthz` over a fresh connection to `addr`: the status line, or `None` when nothing
/// listens there.
fn healthz_at(addr: std::net::SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.lines().next().map(str::to_owned)
}

/// `AUTH_HOST` is the address the API listens on; other addresses of the host get nothing.
#[test]
fn auth_host_chooses_the_listening_address() {
    use std::io::BufRead as _;
    use std::net::SocketAddr;

    let ok = Some("HTTP/1.1 200 OK".to_owned());
    let cases: [(&str, &[&str], &[&str]); 3] = [
        ("127.0.0.2", &["127.0.0.2"], &["127.0.0.1"]),
        ("::1", &["[::1]"], &["127.0.0.1"]),
        ("::", &["127.0.0.1", "[::1]"], &[]),
    ];
    for (host, reachable, unreachable) in cases {
        let dir = std::env::temp_dir().join(format!("latchkey-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut child = latchkey()
            .arg("serve")
            .current_dir(&dir)
            .env("AUTH_HOST", host)
            .env("AUTH_PORT", port.to_string())
            .env("LATCHKEY_DATABASE_URL", "sqlite://latchkey.db")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let server = Server(child);
        // Printed once the socket is bound, among the JSON log lines; the rest is drained so
        // the server never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.starts_with("Latchkey listening on") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("started");
        let shown = match host {
            "::" => format!("localhost:{port}"),
            v6 if v6.contains(':') => format!("[{v6}]:{port}"),
            v4 => format!("{v4}:{port}"),
        };
        assert_eq!(line.trim(), format!("Latchkey listening on http://{shown}"));
        for ip in reachable {
            let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
            assert_eq!(healthz_at(addr), ok, "AUTH_HOST={host}: {addr}");
        }
        for ip in unreachable {
            let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
            assert_eq!(healthz_at(addr), None, "AUTH_HOST={host}: {addr}");
        }
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Stops a spawned server when the test ends, however it ends.
pub(crate) struct Server(pub(crate) std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until_ready(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(res) = client.get(format!("{base}/readyz")).send().await
            && res.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not become ready");
}

/// Two `latchkey` processes on one PostgreSQL database (migrating it at the same time):
/// ceremonies begun on one finish on the other, and a replayed assertion sent to both at
/// once is accepted by at most one.
#[sqlx::test(migrations = false)]
async fn two_processes_share_ceremonies_and_refuse_replays(pool: sqlx::PgPool) {
    use crate::support::{ORIGIN, SoftAuthenticator};
    use serde_json::json;

    let database = pool.connect_options().get_database().unwrap().to_owned();
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    url.set_path(&database);
    let start = || {
        let port = free_port();
        let child = latchkey()
            .arg("serve")
            .env("AUTH_PORT", port.to_string())
            .env("LATCHKEY_DATABASE_URL", url.as_str())
            .env("AUTH_WEBAUTHN_ENABLED", "true")
            .env("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        (Server(child), format!("http://127.0.0.1:{port}"))
    };
    let (_a, a) = start();
    let (_b, b) = start();
    wait_until_ready(&a).await;
    wait_until_ready(&b).await;
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, body: serde_json::Value| {
        client.post(format!("{base}{path}")).json(&body).send()
    };

    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let options: serde_json::Value = post(
        &a,
        "/signup/webauthn",
        json!({ "email": "two@example.test" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let credential = authenticator.register(&options).await;
    let signup = post(
        &b,
        "/signup/webauthn/verify",
        json!({ "credential": credential }),
    )
    .await
    .unwrap();
    assert_eq!(signup.status(), 200);

    let options: serde_json::Value = post(
        &b,
        "/signin/webauthn",
        json!({ "email": "two@example.test" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let assertion = authenticator.assert(&options).await;
    let body = json!({ "credential": assertion });
    let (on_a, on_b) = tokio::join!(
        post(&a, "/signin/webauthn/verify", body.clone()),
        post(&b, "/signin/webauthn/verify", body.clone())
    );
    let statuses = [
        on_a.unwrap().status().as_u16(),
        on_b.unwrap().status().as_u16(),
    ];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
}
