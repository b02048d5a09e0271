//! A provider mock that is a Node script of the mock folder (`LATCHKEY_TEST_OAUTH_MOCK`,
//! default tests/oauth, installed by `npm ci` there): one process per test, started and
//! read until its ready line, ended when the handle drops.
//!
//! A missing install fails the test, saying how to install it: an untested provider flow
//! must not pass silently.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct NodeMock {
    child: Child,
}

impl NodeMock {
    /// Runs `script` with `env`, once `package` is installed beside it; the mock and the
    /// JSON of its ready line.
    pub fn start(script: &str, package: &str, env: &[(&str, &str)]) -> (NodeMock, Value) {
        let dir = std::env::var_os("LATCHKEY_TEST_OAUTH_MOCK")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oauth"));
        let installed = dir.join(format!("node_modules/{package}/package.json"));
        assert!(
            installed.is_file(),
            "the mock provider {script} is not installed in {}: run `npm ci` there \
             (./scripts/test does), with Node 20 or newer",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join(script))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (Node 20 or newer must be installed)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the mock's ready line");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the mock {script} did not start ({e}): {line:?}"));
        (NodeMock { child }, ready)
    }
}

impl Drop for NodeMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts `settings` to a mock's `/_control`, which must accept them.
pub async fn control(base: &str, settings: &Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/_control"))
        .json(settings)
        .send()
        .await
        .expect("mock control");
    assert_eq!(res.status(), 200);
}
