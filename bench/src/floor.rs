//! The machine's floor: what the crypto and the database alone allow, measured in the same
//! run. Crypto: ES256 verifications with OpenSSL (what webauthn-rs-core verifies with) and
//! the server's own access-token minting and checking (`latchkey::auth::tokens`). Database:
//! the store calls (so the same SQL, with sqlx, over the same pool settings) that each
//! operation makes, run directly at the client concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::sign::{Signer, Verifier};
use serde::Serialize;

use latchkey::auth::tokens::{TokenKeys, hash_refresh_token, random_key_hex};
use latchkey::config::{Config, DatabaseUrl};
use latchkey::model::{NewChallenge, Purpose, RefreshTokenId, Secret, User, UserId};
use latchkey::store::{KeyUse, NewRefreshToken, Rotation, Store};

use crate::client::Op;

/// Operations per second of each primitive, on one thread and on every core.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rates {
    pub es256_verify: f64,
    pub jwt_mint: f64,
    pub jwt_verify: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CryptoFloor {
    pub threads: usize,
    pub single_core: Rates,
    pub all_cores: Rates,
}

/// (ES256 verifications, JWTs minted, JWTs checked) the server does for one operation.
pub fn crypto_work(op: Op) -> (f64, f64, f64) {
    match op {
        Op::SignIn => (1.0, 1.0, 0.0),
        // Bearer checked on both calls.
        Op::Elevate => (1.0, 1.0, 2.0),
        Op::Refresh => (0.0, 1.0, 0.0),
        Op::TokenVerify | Op::User => (0.0, 0.0, 1.0),
        // `none` attestation: no signature to check.
        Op::SignUp => (0.0, 1.0, 0.0),
        Op::AddKey => (0.0, 0.0, 2.0),
    }
}

impl CryptoFloor {
    /// Operations per second the crypto alone allows on every core.
    pub fn ops_per_second(&self, op: Op) -> f64 {
        let (es, mint, check) = crypto_work(op);
        let r = &self.all_cores;
        let seconds = es / r.es256_verify + mint / r.jwt_mint + check / r.jwt_verify;
        if seconds > 0.0 {
            1.0 / seconds
        } else {
            f64::INFINITY
        }
    }
}

/// Runs `f` on `threads` threads for `length`; total calls per second.
fn rate(
    threads: usize,
    length: Duration,
    f: &(dyn Fn() -> anyhow::Result<()> + Sync),
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let counts: Vec<anyhow::Result<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while started.elapsed() < length {
                        f()?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("thread panicked")))
            })
            .collect()
    });
    let mut total = 0u64;
    for c in counts {
        total += c?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Measures the crypto floor; `user` is a real user row (claims have the real size).
pub fn crypto(user: &User, length: Duration) -> anyhow::Result<CryptoFloor> {
    // An assertion signs authenticatorData (37 bytes) || SHA-256(clientDataJSON).
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let message = [7u8; 69];
    let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
    signer.update(&message)?;
    let signature = signer.sign_to_vec()?;
    let public = PKey::public_key_from_der(&key.public_key_to_der()?)?;
    let es256 = || -> anyhow::Result<()> {
        let mut verifier = Verifier::new(MessageDigest::sha256(), &public)?;
        verifier.update(&message)?;
        anyhow::ensure!(verifier.verify(&signature)?, "signature did not verify");
        Ok(())
    };

    let config = Config::from_vars(Vec::<(String, String)>::new())
        .map_err(|e| anyhow::anyhow!("default config: {:?}", e.0))?;
    let keys =
        TokenKeys::new(&config, &Secret::new(random_key_hex())).map_err(anyhow::Error::msg)?;
    let now = chrono::Utc::now();
    let sample = keys.mint(user, false, RefreshTokenId::new_random(), now)?;
    let mint = || -> anyhow::Result<()> {
        keys.mint(user, false, RefreshTokenId::new_random(), now)?;
        Ok(())
    };
    let check = || -> anyhow::Result<()> {
        keys.verify(&sample, now)?;
        Ok(())
    };

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let measure = |n: usize| -> anyhow::Result<Rates> {
        Ok(Rates {
            es256_verify: rate(n, length, &es256)?,
            jwt_mint: rate(n, length, &mint)?,
            jwt_verify: rate(n, length, &check)?,
        })
    };
    Ok(CryptoFloor {
        threads,
        single_core: measure(1)?,
        all_cores: measure(threads)?,
    })
}

/// Database floor of one operation at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct DbFloor {
    pub op: Op,
    pub concurrency: usize,
    pub ops_per_second: f64,
    pub p99_ms: f64,
}

/// Whether the database floor is measured for `op` (the others use the crypto floor only).
pub fn has_db_floor(op: Op) -> bool {
    matches!(op, Op::SignIn | Op::Elevate | Op::Refresh | Op::User)
}

/// A pre-registered user as the database floor sees it.
#[derive(Clone)]
pub struct DbUser {
    pub id: UserId,
    pub email: String,
}

/// Opens the store the server uses (same pool size), without starting a server.
pub async fn open(database_url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let url = if database_url.starts_with("postgres") {
        DatabaseUrl::Postgres(database_url.to_owned())
    } else {
        DatabaseUrl::Sqlite(database_url.to_owned())
    };
    // The server's default pool bounds (LATCHKEY_DB_MAX_CONNECTIONS and friends unset).
    latchkey::open_store(&url, &latchkey::config::LimitsConfig::default()).await
}

/// The serialised ceremony state is stored with each challenge; this is about its size.
const STATE_BYTES: usize = 1200;

/// Runs the store calls of `op` from `concurrency` tasks for `length`.
pub async fn db(
    store: Arc<dyn Store>,
    users: &[DbUser],
    op: Op,
    concurrency: usize,
    length: Duration,
) -> anyhow::Result<DbFloor> {
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::new();
    for slot in 0..concurrency {
        let user = users
            .get(slot % users.len().max(1))
            .cloned()
            .context("no users for the database floor")?;
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut refresh = hash_refresh_token(&uuid::Uuid::new_v4().to_string());
            if op == Op::Refresh {
                let now = chrono::Utc::now();
                store
                    .start_session(&NewRefreshToken {
                        id: RefreshTokenId::new_random(),
                        user_id: user.id,
                        hash: refresh.clone(),
                        expires_at: now + chrono::Duration::days(30),
                        now,
                    })
                    .await?;
            }
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match op {
                    Op::SignIn => sign_in(&*store, &user, false).await?,
                    Op::Elevate => sign_in(&*store, &user, true).await?,
                    Op::Refresh => {
                        let now = chrono::Utc::now();
                        let next = hash_refresh_token(&uuid::Uuid::new_v4().to_string());
                        let rotated = store
                            .rotate_refresh_token(
                                &refresh,
                                &next,
                                now + chrono::Duration::days(30),
                                now,
                            )
                            .await?;
                        anyhow::ensure!(matches!(rotated, Rotation::Rotated { .. }), "not rotated");
                        store.get_user(user.id).await?.context("user gone")?;
                        refresh = next;
                    }
                    Op::User => {
                        store.get_user(user.id).await?.context("user gone")?;
                    }
                    Op::TokenVerify | Op::SignUp | Op::AddKey => {
                        anyhow::bail!("no database floor for {op:?}")
                    }
                }
                latencies.push(t0.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    let p99 = all
        .get((all.len() * 99 / 100).min(all.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Ok(DbFloor {
        op,
        concurrency,
        ops_per_second: all.len() as f64 / seconds,
        p99_ms: p99,
    })
}

/// The store calls of a passkey sign-in (options, then verify and session start); for an
/// elevation the bearer's user is read instead of looked up by e-mail.
async fn sign_in(store: &dyn Store, user: &DbUser, elevate: bool) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    // Options.
    if elevate {
        store.get_user(user.id).await?.context("user gone")?;
    } else {
        store
            .find_user_by_email(&user.email)
            .await?
            .context("user gone")?;
    }
    store.keys_of(user.id).await?;
    let challenge = uuid::Uuid::new_v4().simple().to_string();
    let purpose = if elevate {
        Purpose::Elevate
    } else {
        Purpose::Signin
    };
    store
        .insert_challenge(&NewChallenge {
            challenge: challenge.clone(),
            purpose,
            user_id: Some(user.id),
            rp_id: "localhost".into(),
            state: "x".repeat(STATE_BYTES),
            expires_at: now + chrono::Duration::seconds(60),
            now,
        })
        .await?;
    // Verify.
    if elevate {
        store.get_user(user.id).await?.context("user gone")?;
    }
    store
        .take_challenge(&challenge, purpose, now)
        .await?
        .context("challenge gone")?;
    store.get_user(user.id).await?.context("user gone")?;
    let keys = store.keys_of(user.id).await?;
    let key = keys.first().context("user has no key")?;
    store
        .record_key_use(
            user.id,
            &key.credential_id,
            &KeyUse {
                // The same UPDATE; the counter stays so the HTTP clients' next assertions still pass.
                counter: key.counter,
                backup_eligible: true,
                backup_state: true,
                now,
            },
        )
        .await?;
    store
        .start_session(&NewRefreshToken {
            id: RefreshTokenId::new_random(),
            user_id: user.id,
            hash: hash_refresh_token(&uuid::Uuid::new_v4().to_string()),
            expires_at: now + chrono::Duration::days(30),
            now,
        })
        .await?;
    Ok(())
}
