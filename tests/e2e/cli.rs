//! The binary itself: `check-config` and graceful shutdown on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn latchkey() -> Command {
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
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("AUTH_PORT") && err.contains("AUTH_WEBAUTHN_USER_VERIFICATION"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

fn free_port() -> u16 {
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
