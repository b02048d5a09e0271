//! Database faults: PostgreSQL stops in the middle of sign-ups, sign-ins and refreshes, then
//! comes back. The server must answer 503 (never 500, never crash) while it is gone, recover
//! by itself, and lose nothing it had confirmed with a 200.
//!
//! Runs its own cluster from `LATCHKEY_TEST_PG_BIN` (exported by `scripts/test`), so that
//! stopping it cannot disturb the other tests; skipped, saying why, without that variable.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use latchkey::store::postgres::PgStore;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::{SoftAuthenticator, TestApp};

/// A throwaway PostgreSQL cluster that the test can stop and start on the same port.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Root must run PostgreSQL as an unprivileged user (as `scripts/test` does).
    run_as: Option<&'static str>,
}

impl Cluster {
    fn create(bin: PathBuf) -> Cluster {
        let dir = PathBuf::from(format!("/tmp/latchkey-faults-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.trim_ascii() == b"0")
            .unwrap_or(false);
        let run_as = is_root.then_some("latchkey-test");
        if let Some(user) = run_as {
            let chown = Command::new("chown").arg(user).arg(&dir).status().unwrap();
            assert!(chown.success(), "chown {user} {}", dir.display());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            run_as,
        };
        let data = cluster.dir.join("data");
        cluster.pg(
            "initdb",
            &[
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
                "-D",
            ],
            &data,
        );
        cluster.start();
        cluster
    }

    fn pg(&self, tool: &str, args: &[&str], last: &Path) {
        let program = self.bin.join(tool);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        let out = cmd
            .args(args)
            .arg(last)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log");
        let log = format!("{}", log.display());
        self.pg(
            "pg_ctl",
            &["-w", "-s", "-l", &log, "-o", &opts, "start", "-D"],
            &self.dir.join("data"),
        );
    }

    /// `mode`: `fast` (a planned restart: sessions are told to go) or `immediate` (a crash).
    fn stop(&self, mode: &str) {
        self.pg(
            "pg_ctl",
            &["-w", "-s", "-m", mode, "stop", "-D"],
            &self.dir.join("data"),
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort: the cluster may already be stopped, and a panic here would hide the
        // test's own failure.
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(self.bin.join("pg_ctl"));
                cmd
            }
            None => Command::new(self.bin.join("pg_ctl")),
        };
        let _ = cmd
            .args(["-s", "-m", "immediate", "stop", "-D"])
            .arg(self.dir.join("data"))
            .current_dir(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the workers saw: every response status, and what a 200 promised to keep.
#[derive(Default)]
struct Log {
    statuses: Vec<(String, u16, Value)>,
    users_with_key: Vec<String>,
    refresh_tokens: Vec<String>,
}

impl Log {
    /// Records a response; true when it was a 200.
    fn saw(&mut self, what: &str, status: u16, body: &Value) -> bool {
        self.statuses.push((what.to_owned(), status, body.clone()));
        status == 200
    }
}

/// One worker: passkey sign-up then sign-in, anonymous sign-in then refresh, in a loop,
/// starting every flow afresh so that a failure never poisons the next attempt.
async fn worker(app: Arc<TestApp>, n: usize, stop: Arc<AtomicBool>, log: Arc<Mutex<Log>>) {
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let email = format!("w{n}-{round}@example.test");
        let options = app
            .post("/signup/webauthn", &json!({ "email": email }))
            .await;
        if log
            .lock()
            .await
            .saw("signup options", options.status, &options.body)
        {
            let mut authenticator = SoftAuthenticator::new(crate::support::ORIGIN);
            let credential = authenticator.register(&options.body).await;
            let res = app
                .post(
                    "/signup/webauthn/verify",
                    &json!({ "credential": credential }),
                )
                .await;
            let mut guard = log.lock().await;
            if guard.saw("signup verify", res.status, &res.body) {
                let session = &res.body["session"];
                guard
                    .users_with_key
                    .push(session["user"]["id"].as_str().unwrap().to_owned());
                guard
                    .refresh_tokens
                    .push(session["refreshToken"].as_str().unwrap().to_owned());
                drop(guard);
                sign_in(&app, &email, &mut authenticator, &log).await;
            }
        }
        let res = app.post("/signin/anonymous", &json!({})).await;
        if log
            .lock()
            .await
            .saw("signin anonymous", res.status, &res.body)
        {
            let token = res.body["session"]["refreshToken"].clone();
            let res = app.post("/token", &json!({ "refreshToken": token })).await;
            let mut guard = log.lock().await;
            if guard.saw("refresh", res.status, &res.body) {
                guard
                    .refresh_tokens
                    .push(res.body["refreshToken"].as_str().unwrap().to_owned());
            }
        }
    }
}

async fn sign_in(app: &TestApp, email: &str, key: &mut SoftAuthenticator, log: &Mutex<Log>) {
    let options = app
        .post("/signin/webauthn", &json!({ "email": email }))
        .await;
    if !log
        .lock()
        .await
        .saw("signin options", options.status, &options.body)
    {
        return;
    }
    let assertion = key.assert(&options.body).await;
    let body = json!({ "credential": assertion, "email": email });
    let res = app.post("/signin/webauthn/verify", &body).await;
    let mut guard = log.lock().await;
    if guard.saw("signin verify", res.status, &res.body) {
        guard.refresh_tokens.push(
            res.body["session"]["refreshToken"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
}

/// Polls `/readyz` until it answers `want` (PostgreSQL start-up and pool reconnects take a
/// moment); fails after 60 s.
async fn wait_ready(app: &TestApp, want: u16) {
    for _ in 0..600 {
        if app.get("/readyz", None).await.status == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never answered {want}");
}

/// Lets the workers run until `more` new 200s arrived (bounded by 60 s).
async fn until_successes(log: &Mutex<Log>, more: usize) {
    let ok = |log: &Log| log.statuses.iter().filter(|s| s.1 == 200).count();
    let target = ok(&*log.lock().await) + more;
    for _ in 0..600 {
        if ok(&*log.lock().await) >= target {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the workers made no progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outage_gives_503_then_recovers_without_losing_data() {
    let Some(bin) = std::env::var_os("LATCHKEY_TEST_PG_BIN") else {
        eprintln!("skipped: LATCHKEY_TEST_PG_BIN is not set (./scripts/test sets it)");
        return;
    };
    let cluster = Arc::new(Cluster::create(PathBuf::from(bin)));
    let store = PgStore::connect(&cluster.url(), 8, Duration::from_secs(2))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let app = Arc::new(TestApp::start(Arc::new(store), &[]).await);
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Log::default()));
    let workers: Vec<_> = (0..4)
        .map(|n| tokio::spawn(worker(app.clone(), n, stop.clone(), log.clone())))
        .collect();

    // A planned restart (sessions are told to terminate), then a crash.
    for mode in ["fast", "immediate"] {
        until_successes(&log, 20).await;
        let stopper = cluster.clone();
        tokio::task::spawn_blocking(move || stopper.stop(mode))
            .await
            .unwrap();
        wait_ready(&app, 503).await;
        // Keep hammering the stopped database for a while.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let outage = log.lock().await.statuses.len();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let during: Vec<_> = log.lock().await.statuses[outage..]
            .iter()
            .map(|s| s.1)
            .collect();
        assert!(
            !during.is_empty() && during.iter().all(|s| *s == 503),
            "{mode}: {during:?}"
        );
        let starter = cluster.clone();
        tokio::task::spawn_blocking(move || starter.start())
            .await
            .unwrap();
        // No restart of Latchkey: the pool reconnects by itself.
        wait_ready(&app, 200).await;
        until_successes(&log, 20).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }

    let log = log.lock().await;
    let unexpected: Vec<_> = log
        .statuses
        .iter()
        .filter(|(_, status, _)| !matches!(status, 200 | 503))
        .collect();
    assert!(
        unexpected.is_empty(),
        "neither 200 nor 503: {unexpected:#?}"
    );
    for (what, status, body) in &log.statuses {
        if *status == 503 {
            assert_eq!(body["error"], "service-unavailable", "{what}: {body}");
        }
    }
    // Everything confirmed with a 200 survived both outages.
    for user in &log.users_with_key {
        assert_eq!(app.keys_of(user).await.len(), 1, "user {user} lost its key");
    }
    for token in &log.refresh_tokens {
        let res = app.post("/token", &json!({ "refreshToken": token })).await;
        assert_eq!(
            res.status, 200,
            "a confirmed session was lost: {:?}",
            res.body
        );
    }
    // No half-written sign-up: every non-anonymous user has its key.
    let check = sqlx::PgPool::connect(&cluster.url()).await.unwrap();
    let keyless: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM auth.users u WHERE NOT u.is_anonymous \
         AND NOT EXISTS (SELECT 1 FROM auth.user_security_keys k WHERE k.user_id = u.id)",
    )
    .fetch_one(&check)
    .await
    .unwrap();
    assert_eq!(keyless, 0, "sign-ups without their key");
    check.close().await;
}
