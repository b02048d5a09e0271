//! The commands of the book's getting-started page, and the README's `serve`, run as a reader
//! runs them: `cargo run [--release] --` becomes this build's binary, port 4000 a free port,
//! and each client block runs in `sh` in the server's working directory. (The README's other
//! command, `./scripts/test`, is what CI runs.)

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cli::{Server, free_port, latchkey};

const GETTING_STARTED: &str = include_str!("../../docs/src/getting-started.md");
const README: &str = include_str!("../../README.md");

/// The bodies of a page's ```sh blocks.
fn sh_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match (current.as_mut(), line.trim()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The variables of a `[VAR=value ...] cargo run [--release] -- serve  # comment` line, or
/// `None` when the line is another command.
fn serve_command(line: &str) -> Option<Vec<(String, String)>> {
    let command = line.split(" #").next()?.trim();
    let (vars, rest) = command.split_once("cargo run")?;
    let rest = rest.trim();
    let rest = rest.strip_prefix("--release").unwrap_or(rest).trim();
    if rest != "-- serve" {
        return None;
    }
    vars.split_whitespace()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// `serve` with `vars` in a fresh directory, once it has printed its address.
fn start(vars: &[(String, String)]) -> (Server, u16, PathBuf) {
    let dir = std::env::temp_dir().join(format!("latchkey-docs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut child = latchkey()
        .arg("serve")
        .current_dir(&dir)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env("AUTH_PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("Latchkey listening on") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("started");
    assert_eq!(
        line.trim(),
        format!("Latchkey listening on http://localhost:{port}")
    );
    (server, port, dir)
}

/// Runs a client block against the server on `port`; it must succeed. Returns its stdout.
fn run(block: &str, port: u16, dir: &Path) -> String {
    let script = block.replace("localhost:4000", &format!("localhost:{port}"));
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}\n{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn getting_started_commands_work() {
    let blocks = sh_blocks(GETTING_STARTED);
    let (servers, clients): (Vec<&String>, Vec<&String>) =
        blocks.iter().partition(|b| b.contains("cargo run"));
    let servers: Vec<Vec<(String, String)>> = servers
        .iter()
        .map(|b| serve_command(b.trim()).unwrap_or_else(|| panic!("not a serve command: {b}")))
        .collect();
    assert_eq!(
        servers.len(),
        3,
        "the plain run, the one without verification, the one with links and codes"
    );
    let readme_serve = sh_blocks(README)
        .iter()
        .flat_map(|b| b.lines().map(str::to_owned).collect::<Vec<_>>())
        .find_map(|line| serve_command(&line))
        .expect("the README's serve command");
    assert_eq!(
        readme_serve, servers[0],
        "the README and the page start alike"
    );
    let find = |needle: &str| {
        clients
            .iter()
            .find(|b| b.contains(needle))
            .unwrap_or_else(|| panic!("no block with {needle}"))
    };
    let (healthz, signup) = (find("/healthz"), find("/signup/email-password"));

    for (i, vars) in servers.iter().enumerate() {
        let (server, port, dir) = start(vars);
        assert_eq!(run(healthz, port, &dir), "\"OK\"", "as the page says");
        if i == 0 {
            // Verification on: no session, and the mail is a file in ./latchkey-mail/.
            let out = run(signup, port, &dir);
            let listing = out.strip_prefix("{}").unwrap_or_else(|| panic!("{out}"));
            let files: Vec<&str> = listing.split_whitespace().collect();
            assert_eq!(files.len(), 3, "{listing}");
            assert!(
                files.iter().all(|f| f.contains("-email-verify-"))
                    && files.iter().any(|f| f.ends_with(".eml"))
                    && files.iter().any(|f| f.ends_with(".html"))
                    && files.iter().any(|f| f.ends_with(".json")),
                "{listing}"
            );
        } else if i == 2 {
            // Links and codes on: the playground's "e-mail me a link", then its inbox.
            let out = run(
                "curl -s http://localhost:4000/v1/signin/passwordless/email \
                   -H 'Content-Type: application/json' -d '{\"email\": \"ada@example.com\"}'
                 echo
                 curl -s http://localhost:4000/playground/inbox",
                port,
                &dir,
            );
            let (ok, inbox) = out.split_once('\n').unwrap_or_else(|| panic!("{out}"));
            assert_eq!(ok, "\"OK\"", "{out}");
            let inbox: serde_json::Value = serde_json::from_str(inbox).unwrap();
            assert_eq!(inbox[0]["to"], "ada@example.com", "{inbox}");
            assert_eq!(inbox[0]["template"], "signin-passwordless", "{inbox}");
            let link = inbox[0]["link"].as_str().unwrap_or_default();
            assert!(
                link.contains("/verify?") && link.contains("type=signinPasswordless"),
                "{inbox}"
            );
        } else {
            assert!(vars.contains(&(
                "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED".into(),
                "false".into()
            )));
        }
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
