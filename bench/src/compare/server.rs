//! One server under test: its API client, its process, the optional PostgreSQL observer, the
//! users its clients sign in as, and what to do when it stops answering.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use tokio::sync::Mutex as AsyncMutex;

use super::ops::Client;
use super::pg::Observer;
use crate::client::Api;
use crate::procstat::{self, Memory, Proc};

pub type Clients = Arc<Vec<AsyncMutex<Client>>>;

/// How to reach and watch one server (from the command line).
pub struct Spec {
    pub name: String,
    pub build: String,
    pub url: String,
    pub pid: Option<u32>,
    pub pg: Option<(String, String)>,
    pub restart_cmd: Option<String>,
}

/// A restart after a crash, for the report.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Restart {
    pub op: String,
    pub clients: usize,
    /// 1-based; 0: before the operation's windows (renewing sessions, warm-up).
    pub round: usize,
    pub outcome: String,
}

pub struct Server {
    pub name: String,
    pub build: String,
    pub url: String,
    pub api: Api,
    pub pid: Option<u32>,
    pub observer: Option<Observer>,
    pub clients: Clients,
    /// Why the server is out of the run for good (it crashed and could not be restarted).
    pub down: Option<String>,
    pub restarts: Vec<Restart>,
    pub idle: Option<Memory>,
    restart_cmd: Option<String>,
    hz: f64,
}

/// How long a restarted server gets to answer `GET /healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Server {
    pub async fn connect(spec: Spec, origin: &str, timeout: Duration) -> anyhow::Result<Self> {
        let api = Api::with_timeout(&spec.url, origin, timeout)?;
        anyhow::ensure!(
            api.healthy(Duration::from_secs(5)).await,
            "{}: GET {}/healthz does not answer 2xx",
            spec.name,
            spec.url
        );
        let observer = match &spec.pg {
            Some((url, db)) => Some(
                Observer::connect(url, db)
                    .await
                    .with_context(|| format!("{}: PostgreSQL observer", spec.name))?,
            ),
            None => None,
        };
        let hz = procstat::ticks_per_second();
        let mut server = Self {
            name: spec.name,
            build: spec.build,
            url: spec.url,
            api,
            pid: spec.pid,
            observer,
            clients: Arc::new(Vec::new()),
            down: None,
            restarts: Vec::new(),
            idle: None,
            restart_cmd: spec.restart_cmd,
            hz,
        };
        server.idle = server.memory();
        Ok(server)
    }

    fn process(&self) -> Option<Proc> {
        self.pid.map(|pid| Proc::with_ticks(Some(pid), self.hz))
    }

    pub fn cpu_seconds(&self) -> Option<f64> {
        self.process()?.cpu_seconds().ok()
    }

    pub fn memory(&self) -> Option<Memory> {
        self.process()?.memory().ok()
    }

    /// Signs up `n` users with passkeys through the API, one at a time (untimed setup; one at
    /// a time because a server may not survive concurrent ceremonies).
    pub async fn sign_up_clients(&mut self, n: usize) -> anyhow::Result<()> {
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let email = format!("compare-{run}-{i}@example.com");
            let user = self
                .api
                .sign_up(&email)
                .await
                .with_context(|| format!("{}: signing up {email}", self.name))?;
            clients.push(AsyncMutex::new(Client::new(user)));
        }
        self.clients = Arc::new(clients);
        Ok(())
    }

    /// Renews the session of every client whose session is older than `age`, one at a time;
    /// tries them all, then reports how many failed and the first failure.
    pub async fn renew_sessions(&self, age: Duration) -> anyhow::Result<()> {
        let (mut failed, mut first) = (0, None);
        for client in self.clients.iter() {
            let mut client = client.lock().await;
            if client.session_at.elapsed() >= age
                && let Err(err) = client.renew(&self.api).await
            {
                failed += 1;
                first.get_or_insert(err);
            }
        }
        match first {
            None => Ok(()),
            Some(err) => Err(err.context(format!(
                "{}: {failed} of {} sessions could not be renewed",
                self.name,
                self.clients.len()
            ))),
        }
    }

    /// False when the process is gone or `GET /healthz` fails three times in a row.
    pub async fn is_up(&self) -> bool {
        if let Some(pid) = self.pid
            && !procstat::is_alive(pid)
        {
            return false;
        }
        for _ in 0..3 {
            if self.api.healthy(Duration::from_secs(2)).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        false
    }

    /// Runs the restart command, takes the pid it prints, waits for `GET /healthz`, then signs
    /// every client in again (sessions in flight during the crash may be lost).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let cmd = self
            .restart_cmd
            .clone()
            .context("no restart command given (--a-restart-cmd / --b-restart-cmd)")?;
        eprintln!("{}: restarting with `{cmd}`", self.name);
        let pid = run_restart_cmd(&cmd).await?;
        if pid.is_some() {
            self.pid = pid;
        } else if self.pid.is_some() {
            eprintln!(
                "{}: the restart command printed no pid: CPU and memory are no longer measured",
                self.name
            );
            self.pid = None;
        }
        let started = Instant::now();
        while !self.api.healthy(Duration::from_secs(1)).await {
            anyhow::ensure!(
                started.elapsed() < START_TIMEOUT,
                "{}: no answer on /healthz {}s after the restart",
                self.name,
                START_TIMEOUT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.renew_sessions(Duration::ZERO).await
    }
}

/// Runs `cmd` with `sh -c` and returns the pid on the last line of its output, if any. Its
/// output goes to a file, not a pipe: a server it leaves running may keep the pipe open.
async fn run_restart_cmd(cmd: &str) -> anyhow::Result<Option<u32>> {
    let cmd = cmd.to_owned();
    let run = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let path = std::env::temp_dir().join(format!(
            "latchkey-bench-restart-{}.out",
            uuid::Uuid::new_v4().simple()
        ));
        let file = std::fs::File::create(&path).context("creating the restart output file")?;
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .status()
            .context("running the restart command");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        let status = status?;
        anyhow::ensure!(status.success(), "the restart command failed ({status})");
        Ok(text)
    });
    let text = tokio::time::timeout(START_TIMEOUT * 3, run)
        .await
        .context("the restart command did not finish in 180 s")???;
    Ok(text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.trim().parse().ok()))
}
