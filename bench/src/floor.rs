//! The machine's floor: what the crypto and the database alone allow, measured in the same
//! run. Crypto: ES256 verifications with the verifier the server runs (webauthn-rs-core's
//! `COSEKey::verify_signature`, RustCrypto's `p256` through crypto-glue; OpenSSL's rate is
//! kept beside it for reference) and the server's own access-token minting and checking
//! (`latchkey::auth::tokens`). Database:
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
use webauthn_rs_core::proto::{COSEAlgorithm, COSEEC2Key, COSEKey, COSEKeyType, ECDSACurve};

use latchkey::auth::tokens::{TokenKeys, hash_refresh_token, random_key_hex};
use latchkey::config::{Config, DatabaseUrl};
use latchkey::model::{
    CredentialId, NewChallenge, NewSecurityKey, NewUser, Purpose, RefreshTokenId, RequestContext,
    Secret, SecurityKey, SecurityKeyId, User, UserId,
};
use latchkey::store::{
    AuditEvent, Inserted, KeyUse, NewRefreshToken, Rotation, Store, UserKeys, UserRef,
};
use serde_json::json;

use crate::client::{Api, BenchUser, Op};

/// Operations per second of each primitive, on one thread and on every core.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Rates {
    /// webauthn-rs-core's ES256 check, as the server does it per assertion.
    pub es256_verify: f64,
    /// OpenSSL's ES256 check: not in the floor, shown for what a faster verifier would allow.
    pub es256_verify_openssl: f64,
    pub jwt_mint: f64,
    pub jwt_verify: f64,
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
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
    let cose = cose_key(&key)?;
    // What webauthn-rs-core does per assertion: rebuild the point from the stored x/y, parse
    // the DER signature, verify over the same bytes.
    let es256 = || -> anyhow::Result<()> {
        let ok = cose
            .verify_signature(&signature, &message)
            .map_err(|e| anyhow::anyhow!("webauthn-rs-core: {e:?}"))?;
        anyhow::ensure!(ok, "signature did not verify");
        Ok(())
    };
    let es256_openssl = || -> anyhow::Result<()> {
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
    let sample = keys.mint(user, false, RefreshTokenId::new_random(), now, &[])?;
    let mint = || -> anyhow::Result<()> {
        keys.mint(user, false, RefreshTokenId::new_random(), now, &[])?;
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
            es256_verify_openssl: rate(n, length, &es256_openssl)?,
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

/// The public key as a stored credential holds it: COSE EC2, P-256, raw x and y.
fn cose_key(key: &PKey<openssl::pkey::Private>) -> anyhow::Result<COSEKey> {
    let ec = key.ec_key()?;
    let mut ctx = openssl::bn::BigNumContext::new()?;
    let (mut x, mut y) = (openssl::bn::BigNum::new()?, openssl::bn::BigNum::new()?);
    ec.public_key()
        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)?;
    Ok(COSEKey {
        type_: COSEAlgorithm::ES256,
        key: COSEKeyType::EC_EC2(COSEEC2Key {
            curve: ECDSACurve::SECP256R1,
            x: x.to_vec_padded(32)?,
            y: y.to_vec_padded(32)?,
        }),
    })
}

/// Database floor of one operation at one concurrency.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DbFloor {
    pub op: Op,
    pub concurrency: usize,
    pub ops_per_second: f64,
    pub p99_ms: f64,
}

/// Whether the database floor is measured for `op` (`/token/verify` touches no database).
pub fn has_db_floor(op: Op) -> bool {
    op != Op::TokenVerify
}

/// A pre-registered user as the database floor sees it.
#[derive(Clone)]
pub struct DbUser {
    pub id: UserId,
    pub email: String,
}

/// What the floor writes, taken from the running server so the rows have the real size: the
/// ceremony state the server stored for each flow, and one of its real users and keys.
pub struct Sample {
    pub signin_state: String,
    pub elevate_state: String,
    pub signup_state: String,
    pub add_key_state: String,
    pub user: User,
    pub key: SecurityKey,
}

impl Sample {
    /// Asks the server for options of each flow and takes the stored ceremony back out of the
    /// database (which also retires the challenge).
    pub async fn capture(
        api: &Api,
        store: &dyn Store,
        user: &BenchUser,
        id: UserId,
    ) -> anyhow::Result<Self> {
        let state = async |op: Op, purpose: Purpose| -> anyhow::Result<String> {
            let challenge = api.options(op, user).await?;
            let taken = store
                .take_challenge(&challenge, purpose, chrono::Utc::now())
                .await?
                .with_context(|| format!("no stored ceremony for {op:?}"))?;
            Ok(taken.state)
        };
        Ok(Self {
            signin_state: state(Op::SignIn, Purpose::Signin).await?,
            elevate_state: state(Op::Elevate, Purpose::Elevate).await?,
            signup_state: state(Op::SignUp, Purpose::Signup).await?,
            add_key_state: state(Op::AddKey, Purpose::AddKey).await?,
            user: store.get_user(id).await?.context("user not found")?,
            key: store
                .keys_of(id)
                .await?
                .into_iter()
                .next()
                .context("user has no key")?,
        })
    }
}

/// Removes the keys the add-key runs gave the benchmark's users (all but each user's first,
/// its sign-up key), between windows and untimed: otherwise every window would add to users
/// who already hold hundreds of keys, and measure ever longer exclude lists instead.
pub async fn prune_added_keys(store: &dyn Store, users: &[DbUser]) -> anyhow::Result<()> {
    for user in users {
        for key in store.keys_of(user.id).await?.iter().skip(1) {
            store.delete_key(user.id, key.id, false).await?;
        }
    }
    Ok(())
}

/// Vacuums and analyses what the database floor wrote (thousands of sign-ups, keys, sessions
/// and audit rows): otherwise the autovacuum those writes set off lands in the HTTP windows
/// about a minute later (seen in the elevate open loop). The HTTP phase's own writes still
/// set off autovacuum as they would in production.
pub async fn settle(database_url: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    if database_url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        sqlx::query("VACUUM ANALYZE").execute(&mut conn).await?;
        conn.close().await?;
    }
    Ok(())
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

/// Runs the store calls of `op` from `concurrency` tasks for `length`.
pub async fn db(
    store: Arc<dyn Store>,
    users: &[DbUser],
    sample: Arc<Sample>,
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
        let sample = sample.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            // The refresh floor rotates a session of its own, started here.
            let mut refresh = if op == Op::Refresh {
                new_session_hash(&*store, user.id).await?
            } else {
                String::new()
            };
            // Keys are added to users of the floor's own, so the benchmark's users keep one key.
            let own = if op == Op::AddKey {
                Some(sign_up(&*store, &sample).await?)
            } else {
                None
            };
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match op {
                    Op::SignIn => sign_in(&*store, &sample, &user, false).await?,
                    Op::Elevate => sign_in(&*store, &sample, &user, true).await?,
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
                        // The user comes back with the rotation, in the same statement.
                        anyhow::ensure!(matches!(rotated, Rotation::Rotated { .. }), "not rotated");
                        refresh = next;
                    }
                    Op::User => {
                        store.get_user(user.id).await?.context("user gone")?;
                    }
                    Op::SignUp => {
                        sign_up(&*store, &sample).await?;
                    }
                    Op::AddKey => {
                        let own = own.context("no user for add key")?;
                        add_key(&*store, &sample, own).await?;
                    }
                    Op::TokenVerify => anyhow::bail!("no database floor for {op:?}"),
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

/// A session row as the server writes it, with a random token hash.
fn new_session(user_id: UserId) -> NewRefreshToken {
    let now = chrono::Utc::now();
    NewRefreshToken {
        id: RefreshTokenId::new_random(),
        user_id,
        hash: hash_refresh_token(&uuid::Uuid::new_v4().to_string()),
        expires_at: now + chrono::Duration::days(30),
        now,
    }
}

/// Starts a session and returns its token hash (for the refresh floor's first rotation).
async fn new_session_hash(store: &dyn Store, user_id: UserId) -> anyhow::Result<String> {
    let session = new_session(user_id);
    store.start_session(&session, None).await?;
    Ok(session.hash)
}

/// The audit row the server writes for a loopback client of the benchmark.
fn audit(event: &'static str, user_id: UserId, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        event,
        user_id: Some(user_id),
        detail,
        now: chrono::Utc::now(),
        context: Some(RequestContext::new("127.0.0.1".into(), None)),
    }
}

/// The row that stores a ceremony, under a fresh challenge.
fn new_challenge(purpose: Purpose, user_id: Option<UserId>, state: &str) -> NewChallenge {
    let now = chrono::Utc::now();
    NewChallenge {
        challenge: uuid::Uuid::new_v4().simple().to_string(),
        purpose,
        user_id,
        rp_id: "localhost".into(),
        state: state.to_owned(),
        expires_at: now + chrono::Duration::seconds(60),
        now,
    }
}

/// The store calls of a ceremony for an existing user, as the server makes them: options
/// store the challenge in the statement that reads the user and its keys; verify takes it
/// back with the user and keys in one statement. Returns the user and keys verify read.
async fn user_ceremony(
    store: &dyn Store,
    purpose: Purpose,
    user: UserRef<'_>,
    state: &str,
) -> anyhow::Result<UserKeys> {
    let challenge = new_challenge(purpose, None, state);
    store
        .insert_challenge_for(&challenge, user)
        .await?
        .context("user gone")?;
    let (_, found) = store
        .take_challenge_with_user(&challenge.challenge, purpose, challenge.now, None)
        .await?
        .context("challenge gone")?;
    found.context("user gone")
}

/// The store calls of a passkey sign-in (options, then verify: the key use, the session and
/// the audit row in one statement); for an elevation the bearer is named by id.
async fn sign_in(
    store: &dyn Store,
    sample: &Sample,
    user: &DbUser,
    elevate: bool,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let (purpose, state, who) = if elevate {
        (
            Purpose::Elevate,
            &sample.elevate_state,
            UserRef::Id(user.id),
        )
    } else {
        (
            Purpose::Signin,
            &sample.signin_state,
            UserRef::Email(&user.email),
        )
    };
    let found = user_ceremony(store, purpose, who, state).await?;
    let key = found.keys.first().context("user has no key")?;
    let key_use = KeyUse {
        // The same UPDATE; the counter stays so the HTTP clients' next assertions still pass.
        counter: key.counter,
        backup_eligible: true,
        backup_state: true,
        now,
    };
    let event = if elevate {
        audit("session.elevated", user.id, json!({}))
    } else {
        audit("signin.succeeded", user.id, json!({ "method": "webauthn" }))
    };
    store
        .start_session_after_assertion(
            &new_session(user.id),
            &key.credential_id,
            &key_use,
            Some(&event),
        )
        .await?;
    Ok(())
}

/// A key row like the sample's, under a fresh id and credential id.
fn new_key(sample: &Sample) -> NewSecurityKey {
    let k = &sample.key;
    NewSecurityKey {
        id: SecurityKeyId::new_random(),
        credential_id: CredentialId::from_bytes(uuid::Uuid::new_v4().as_bytes().to_vec()),
        public_key: k.public_key.clone(),
        counter: 0,
        transports: k.transports.clone(),
        nickname: k.nickname.clone(),
        aaguid: k.aaguid,
        backup_eligible: k.backup_eligible.unwrap_or_default(),
        backup_state: k.backup_state.unwrap_or_default(),
        user_verified: k.user_verified,
        attestation_format: k.attestation_format.clone().unwrap_or_default(),
        now: chrono::Utc::now(),
    }
}

/// The store calls of a passkey sign-up: the ceremony stored unless the e-mail is taken,
/// taken back, then the user, its key, its session and the audit row in one statement.
async fn sign_up(store: &dyn Store, sample: &Sample) -> anyhow::Result<UserId> {
    let id = UserId::new_random();
    let email = format!("floor-{}@example.com", id.as_uuid().simple());
    let challenge = new_challenge(Purpose::Signup, None, &sample.signup_state);
    anyhow::ensure!(
        store.insert_signup_challenge(&challenge, &email).await?,
        "e-mail taken"
    );
    store
        .take_challenge(&challenge.challenge, Purpose::Signup, challenge.now)
        .await?
        .context("challenge gone")?;
    let u = &sample.user;
    let user = NewUser {
        id,
        display_name: email.clone(),
        avatar_url: u.avatar_url.clone(),
        locale: u.locale.clone(),
        email: Some(email),
        email_verified: false,
        phone_number: None,
        is_anonymous: false,
        disabled: false,
        default_role: u.default_role.clone(),
        roles: u.roles.clone(),
        metadata: u.metadata.clone(),
        ticket: None,
        mail: None,
        password_hash: None,
        provider: None,
        now: chrono::Utc::now(),
    };
    let key = new_key(sample);
    let detail = json!({ "method": "webauthn", "keyId": key.id.to_string() });
    let event = audit("user.signed_up", id, detail);
    // The user, its key, its session and the audit row in one statement; nothing read back.
    let inserted = store
        .create_user(&user, Some(&key), Some(&new_session(id)), Some(&event))
        .await?;
    anyhow::ensure!(matches!(inserted, Inserted::New(_)), "sign-up conflict");
    Ok(id)
}

/// The store calls of adding a key: the ceremony with the bearer and its keys, then the key
/// and its audit row in one statement.
async fn add_key(store: &dyn Store, sample: &Sample, user_id: UserId) -> anyhow::Result<()> {
    user_ceremony(
        store,
        Purpose::AddKey,
        UserRef::Id(user_id),
        &sample.add_key_state,
    )
    .await?;
    let key = new_key(sample);
    let detail = json!({ "keyId": key.id.to_string() });
    let event = audit("security_key.added", user_id, detail);
    let inserted = store.add_key(user_id, &key, Some(&event)).await?;
    anyhow::ensure!(matches!(inserted, Inserted::New(_)), "key conflict");
    Ok(())
}
