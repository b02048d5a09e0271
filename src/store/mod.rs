//! The storage interface and its two backends. Expected outcomes (not found, conflicts) are
//! in return types; `StoreError` only means the database failed.

mod codes;
mod mfa;
mod outbox;
mod pats;
pub mod postgres;
mod provider_tokens;
mod providers;
pub mod sqlite;

pub use codes::CodeStore;
pub use mfa::{MfaProof, MfaSignIn, MfaStore};
pub use outbox::OutboxStore;
pub use pats::PatStore;
pub use provider_tokens::ProviderTokenStore;
pub use providers::ProviderStore;

use async_trait::async_trait;

use crate::model::{
    AuditEntry, Challenge, CredentialId, NewChallenge, NewSecurityKey, NewUser, OutboxMail,
    Purpose, RefreshTokenId, RequestContext, SecurityKey, SecurityKeyId, Timestamp, User, UserId,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    /// The database cannot be reached or no connection came free in time: a transient
    /// outage, not a fault in the request.
    #[error("database unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// SQLSTATEs that mean the server is going away or not there yet, not that the statement was
/// wrong: a restart (`57P01` admin shutdown, sent to every session by `pg_ctl stop -m fast`),
/// a crash (`57P02`), start-up or recovery (`57P03`), a full server (`53300`) and every
/// connection exception (class `08`). Found by the outage test (`tests/e2e/faults.rs`): these
/// were answered 500.
fn is_outage(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "53300")
}

impl StoreError {
    pub(crate) fn db(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Database(Box::new(err))
    }
    /// Classifies a driver error: lost connections and pool timeouts are `Unavailable`.
    pub(crate) fn from_sqlx(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(err)),
            sqlx::Error::Database(ref db) if db.code().is_some_and(|c| is_outage(&c)) => {
                StoreError::Unavailable(Box::new(err))
            }
            other => StoreError::db(other),
        }
    }
    pub(crate) fn corrupt(table: &'static str, reason: impl ToString) -> Self {
        StoreError::Corrupt {
            table,
            reason: reason.to_string(),
        }
    }
}

/// Rows one sweep statement deletes at most, so a backlog is cleared in short statements that
/// hold few locks, never in one long scan.
pub const SWEEP_BATCH: u32 = 1000;

/// A unique constraint the caller must handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The new user's e-mail address, or phone number (a user created by SMS has no e-mail),
    /// is already another user's.
    Email,
    CredentialId,
    /// The provider account (`auth.user_providers`) is already linked to a user.
    ProviderAccount,
}

/// Result of an insert that can hit a unique constraint; on `Conflict` nothing was written.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted<T> {
    New(T),
    Conflict(Conflict),
}

/// A refresh token to store; only its hash ever reaches the database.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: RefreshTokenId,
    pub user_id: UserId,
    /// `\x` + hex(SHA-256(token)), Nhost's format.
    pub hash: String,
    pub expires_at: Timestamp,
    pub now: Timestamp,
}

/// What presenting a refresh token to `rotate_refresh_token` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The token was current: it now has the new hash and expiry. Its user, read in the
    /// same statement.
    Rotated { id: RefreshTokenId, user: Box<User> },
    /// The token had already been rotated away: its family was deleted.
    Reused { id: RefreshTokenId, user_id: UserId },
    /// Unknown, expired or revoked.
    Unknown,
}

/// What `delete_key` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDeletion {
    Deleted,
    /// No key with this id belongs to this user (it may belong to someone else).
    NoSuchKey,
    /// Refused without `force`: the key is the user's only way to sign in.
    LastSignInMethod,
}

/// Counter and flags seen in a successful assertion.
#[derive(Debug, Clone)]
pub struct KeyUse {
    pub counter: u32,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub now: Timestamp,
}

/// Connection pool occupancy at one instant.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// A security event worth keeping (sign-ins, key changes, clone suspicion, token reuse).
/// `detail` never holds a secret: ids, reasons and names only.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub event: &'static str,
    pub user_id: Option<UserId>,
    pub detail: serde_json::Value,
    pub now: Timestamp,
    /// Client address and user agent; `None` for events no request caused.
    pub context: Option<RequestContext>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user with `id` and its roles; `None` if there is none.
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// The user with this e-mail, compared case-insensitively.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// The user with this phone number: callers pass E.164 (`model::PhoneNumber`), the form
    /// Latchkey stores. A number Nhost stored as typed (`+33 6 12 34 56 78`) is found too,
    /// compared without its spaces, dashes, dots and parentheses; an exact match wins. The
    /// stored value becomes E.164 when an SMS code is redeemed (`redeem_code`).
    async fn find_user_by_phone(&self, phone_number: &str) -> Result<Option<User>, StoreError>;
    /// Inserts the user, its roles and, when given, its first key, a refresh token and the
    /// audit event recording it, and `user.mail` into the outbox, together or not at all (also
    /// setting `last_seen` when a session is created): one statement on PostgreSQL. On
    /// `Conflict` nothing is written.
    async fn create_user(
        &self,
        user: &NewUser,
        key: Option<&NewSecurityKey>,
        session: Option<&NewRefreshToken>,
        event: Option<&AuditEvent>,
    ) -> Result<Inserted<UserId>, StoreError>;
    /// Makes sure these roles exist in `auth.roles` (the role foreign keys need them).
    async fn ensure_roles(&self, roles: &[String]) -> Result<(), StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// All keys of the user, oldest first.
    async fn keys_of(&self, user_id: UserId) -> Result<Vec<SecurityKey>, StoreError>;
    async fn count_keys(&self, user_id: UserId) -> Result<u64, StoreError>;
    /// Whether any user has a key with this credential id.
    async fn credential_registered(&self, credential_id: &CredentialId)
    -> Result<bool, StoreError>;
    /// Adds a key to an existing user and records `event` with it, in one statement on
    /// PostgreSQL; a credential id already stored (for anyone) conflicts.
    async fn add_key(
        &self,
        user_id: UserId,
        key: &NewSecurityKey,
        event: Option<&AuditEvent>,
    ) -> Result<Inserted<SecurityKeyId>, StoreError>;
    /// Sets the nickname of the user's key; `None` if the user has no key with this id.
    async fn rename_key(
        &self,
        user_id: UserId,
        key_id: SecurityKeyId,
        nickname: &str,
    ) -> Result<Option<SecurityKey>, StoreError>;
    /// Deletes the user's key. Unless `force`, refuses when it is the user's last key and the
    /// user has no password and no linked provider; the check and the delete are one
    /// transaction that serialises with other deletes of the same user's keys.
    async fn delete_key(
        &self,
        user_id: UserId,
        key_id: SecurityKeyId,
        force: bool,
    ) -> Result<KeyDeletion, StoreError>;
    /// Records a successful assertion: counter, backup flags, last use.
    async fn record_key_use(
        &self,
        user_id: UserId,
        credential_id: &CredentialId,
        key_use: &KeyUse,
    ) -> Result<(), StoreError>;
}

/// A user and its keys (oldest first), read together.
#[derive(Debug, Clone)]
pub struct UserKeys {
    pub user: User,
    pub keys: Vec<SecurityKey>,
}

/// Which user a ceremony is for.
#[derive(Debug, Clone, Copy)]
pub enum UserRef<'a> {
    Id(UserId),
    /// Compared as `find_user_by_email` does.
    Email(&'a str),
}

#[async_trait]
pub trait ChallengeStore: Send + Sync {
    /// Stores a pending ceremony, and deletes expired ones while at it.
    async fn insert_challenge(&self, challenge: &NewChallenge) -> Result<(), StoreError>;
    /// `insert_challenge` for a ceremony of an existing user: binds the challenge to the user
    /// `user` names (whatever `challenge.user_id` says) and returns that user with its keys,
    /// in one statement on PostgreSQL. No such user: nothing is stored, `None`.
    async fn insert_challenge_for(
        &self,
        challenge: &NewChallenge,
        user: UserRef<'_>,
    ) -> Result<Option<UserKeys>, StoreError>;
    /// `insert_challenge` for a sign-up: stores nothing and returns false when a user already
    /// has this e-mail (compared as `find_user_by_email` does); one statement on PostgreSQL.
    async fn insert_signup_challenge(
        &self,
        challenge: &NewChallenge,
        email: &str,
    ) -> Result<bool, StoreError>;
    /// `take_challenge`, and in the same statement the user the challenge is bound to (or,
    /// for one bound to nobody, `user_id`) with that user's keys: `None` for the user when
    /// there is none.
    async fn take_challenge_with_user(
        &self,
        challenge: &str,
        purpose: Purpose,
        now: Timestamp,
        user_id: Option<UserId>,
    ) -> Result<Option<(Challenge, Option<UserKeys>)>, StoreError>;
    /// Deletes and returns the challenge if it exists, is for `purpose` and has not expired at
    /// `now`. For a given challenge at most one caller ever receives `Some`, across replicas.
    async fn take_challenge(
        &self,
        challenge: &str,
        purpose: Purpose,
        now: Timestamp,
    ) -> Result<Option<Challenge>, StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new refresh token (a new family), updates the user's `last_seen` and records
    /// `event`, together: one statement on PostgreSQL.
    async fn start_session(
        &self,
        token: &NewRefreshToken,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError>;
    /// `start_session` for a successful assertion: records the key's use (as
    /// `record_key_use`) and starts the session it earned, together or not at all.
    async fn start_session_after_assertion(
        &self,
        token: &NewRefreshToken,
        credential_id: &CredentialId,
        key_use: &KeyUse,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError>;
    /// Atomically replaces the hash of the current regular token `old_hash` (unexpired at
    /// `now`) with `new_hash` and a new expiry, remembering the old hash. If `old_hash` is a
    /// hash the family had before, the family is deleted and `Reused` returned.
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation, StoreError>;
    /// Deletes the refresh token with this hash, of any type; true if one existed.
    async fn delete_refresh_token(&self, hash: &str) -> Result<bool, StoreError>;
    /// Deletes every regular refresh token of the user (personal access tokens stay).
    async fn delete_sessions_of(&self, user_id: UserId) -> Result<u64, StoreError>;
    /// Deletes expired regular refresh tokens and remembered rotated hashes past their expiry,
    /// at most `SWEEP_BATCH` of each.
    async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
    /// Number of live regular refresh tokens of the user (for tests and admin views).
    async fn count_sessions_of(&self, user_id: UserId, now: Timestamp) -> Result<u64, StoreError>;
}

/// A refresh token for whoever holds a ticket: the user is known only once the ticket is
/// taken, in the same transaction.
#[derive(Debug, Clone)]
pub struct TicketSession {
    pub id: RefreshTokenId,
    /// `\x` + hex(SHA-256(token)), as in `NewRefreshToken`.
    pub hash: String,
    pub expires_at: Timestamp,
    pub now: Timestamp,
}

/// What presenting a ticket to `redeem_ticket` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketRedemption {
    /// The ticket was taken, the e-mail marked verified and the session stored.
    Redeemed(UserId),
    /// The ticket is valid but its user is disabled: nothing was changed.
    UserDisabled,
    /// An e-mail change whose new address was taken meanwhile: nothing was changed.
    EmailTaken,
    /// Unknown, used, expired or of another kind.
    Invalid,
}

/// What redeeming a ticket does besides clearing it, marking the e-mail verified (the mail
/// reached the address) and storing the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketEffects {
    /// Move `new_email` into `email` (an `emailConfirmChange:` ticket).
    pub swap_email: bool,
    /// Delete the user's other regular refresh tokens first.
    pub revoke_sessions: bool,
}

/// Which of the user's sessions a credential change ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    None,
    /// Every regular refresh token except this one (the caller's own session).
    AllBut(Option<RefreshTokenId>),
}

/// An anonymous user becoming a regular one (`POST /user/deanonymize`).
#[derive(Debug, Clone)]
pub struct Deanonymize {
    pub email: String,
    /// `None` for a passwordless account (magic links).
    pub password_hash: Option<String>,
    pub display_name: String,
    pub avatar_url: String,
    pub locale: String,
    pub default_role: String,
    pub roles: Vec<String>,
    pub metadata: Option<serde_json::Value>,
    /// A stored `verifyEmail:` ticket and its expiry, when the address must be verified.
    pub ticket: Option<(String, Timestamp)>,
    /// Delete the user's refresh tokens (the anonymous sessions).
    pub revoke_sessions: bool,
    /// The mail carrying `ticket`, into the outbox in the same transaction.
    pub mail: Option<OutboxMail>,
    pub now: Timestamp,
}

/// Password hashes and e-mail changes, always scoped by the owner's id.
#[async_trait]
pub trait PasswordStore: Send + Sync {
    /// The user's bcrypt hash; `None` for no such user or no password.
    async fn password_hash_of(&self, user_id: UserId) -> Result<Option<String>, StoreError>;
    /// Replaces the user's password hash and deletes the sessions `revoke` names, in one
    /// transaction. False when there is no such user.
    async fn set_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        revoke: Revoke,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// In one transaction: takes the unexpired `passwordReset:` ticket `ticket_hash` of an
    /// enabled user, sets the password hash and deletes all the user's regular refresh
    /// tokens. `None`: no such ticket. Single use across replicas.
    async fn reset_password_with_ticket(
        &self,
        ticket_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError>;
    /// Stores `new_email` and its `emailConfirmChange:` ticket on the user (replacing any
    /// other ticket), and `mail` into the outbox, together: one statement on PostgreSQL.
    /// False when there is no such user, and nothing is written.
    async fn set_new_email(
        &self,
        user_id: UserId,
        new_email: &str,
        ticket_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError>;
    /// Turns the anonymous user `user_id` into a regular one with an e-mail and password,
    /// replacing its roles, in one transaction. `Conflict(Email)`: the address is taken and
    /// nothing changed; `New(false)`: no such anonymous user.
    async fn deanonymize(
        &self,
        user_id: UserId,
        d: &Deanonymize,
    ) -> Result<Inserted<bool>, StoreError>;
}

/// E-mail tickets, one slot per user in `users.ticket` (shared by every kind, as Nhost).
/// Tickets are stored as `<kind>:<sha256 hex>`, never in clear.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Replaces the user's ticket, whatever its kind, so earlier links stop working, and
    /// stores `mail` (the mail carrying it) into the outbox, together: one statement on
    /// PostgreSQL. False when there is no such user, and nothing is written.
    async fn set_ticket(
        &self,
        user_id: UserId,
        ticket_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
        mail: Option<&OutboxMail>,
    ) -> Result<bool, StoreError>;
    /// In one transaction: clears the ticket `ticket_hash` if it is unexpired at
    /// `session.now` and its user is enabled, marks that user's e-mail verified, applies
    /// `effects` and stores `session` for them. For a given ticket at most one caller ever
    /// gets `Redeemed`, across replicas.
    async fn redeem_ticket(
        &self,
        ticket_hash: &str,
        effects: TicketEffects,
        session: &TicketSession,
    ) -> Result<TicketRedemption, StoreError>;
}

#[async_trait]
pub trait ServerStore: Send + Sync {
    /// Stores `candidate` under `name` unless a value exists, and returns the stored value,
    /// so every replica ends up with the same one.
    async fn setting_or_init(&self, name: &str, candidate: &str) -> Result<String, StoreError>;
    async fn record_event(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Number of recorded events with this name for the user.
    async fn count_events(&self, event: &str, user_id: UserId) -> Result<u64, StoreError>;
    /// Cheap query proving the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Counts one request of `client` in `bucket` for the window starting at `window_start`
    /// and returns the window's count so far, atomically across replicas. Windows past
    /// `expires_at` may be deleted.
    async fn count_hit(
        &self,
        bucket: &str,
        client: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError>;
    /// Deletes rate-limit windows that ended before `now`, at most `SWEEP_BATCH`.
    async fn sweep_rate_limits(&self, now: Timestamp) -> Result<u64, StoreError>;
    /// Connection pool occupancy, for metrics.
    fn pool_stats(&self) -> PoolStats;
    /// Closes the pool, waiting for checked-out connections to come back (at shutdown).
    async fn close(&self);
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// The user's own events, newest first (ties by id), at most `limit`, none older than
    /// `since`. With `before`, only events after that one in this order; an id that is not
    /// one of the user's events gives an empty page.
    async fn audit_events_of(
        &self,
        user_id: UserId,
        before: Option<uuid::Uuid>,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Deletes at most `batch` events created before `cutoff` and says how many went, so a
    /// large backlog is cleared in short statements instead of one long lock.
    async fn sweep_audit_log(&self, cutoff: Timestamp, batch: u32) -> Result<u64, StoreError>;
}

pub trait Store:
    UserStore
    + KeyStore
    + ChallengeStore
    + SessionStore
    + TicketStore
    + PasswordStore
    + ServerStore
    + AuditStore
    + OutboxStore
    + CodeStore
    + PatStore
    + MfaStore
    + ProviderStore
    + ProviderTokenStore
{
}
impl<
    T: UserStore
        + KeyStore
        + ChallengeStore
        + SessionStore
        + TicketStore
        + PasswordStore
        + ServerStore
        + AuditStore
        + OutboxStore
        + CodeStore
        + PatStore
        + MfaStore
        + ProviderStore
        + ProviderTokenStore,
> Store for T
{
}

/// Transports are stored comma-separated in Nhost's `varchar(255)` column.
pub(crate) fn join_transports(transports: &[String]) -> String {
    transports.join(",")
}

pub(crate) fn split_transports(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}
