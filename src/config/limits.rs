//! Resource limits: how much a client may send, how long it may take, and how many database
//! connections the server holds. Each one stops a cheap way to tie the server up.

use std::time::Duration;

use super::Vars;

/// hyper refuses a smaller read buffer; below it the setting would not start the server.
pub const MIN_HEADER_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// `LATCHKEY_MAX_HEADER_BYTES`: request line plus headers; more is answered 431.
    pub max_header_bytes: usize,
    /// `LATCHKEY_HEADER_READ_TIMEOUT`: a connection that has not sent complete headers in this
    /// time (slowloris), or sat idle between requests this long, is closed.
    pub header_read_timeout: Duration,
    /// `LATCHKEY_REQUEST_TIMEOUT`: a request (body upload included) that has not been answered
    /// in this time gets 408 `request-timeout`, and its work is cancelled.
    pub request_timeout: Duration,
    /// `LATCHKEY_DB_MAX_CONNECTIONS`: the PostgreSQL pool size, per process.
    pub db_max_connections: u32,
    /// `LATCHKEY_DB_ACQUIRE_TIMEOUT`: how long a request waits for a free connection before
    /// it is answered 503 `service-unavailable`.
    pub db_acquire_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_header_bytes: 32 * 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            db_max_connections: 20,
            db_acquire_timeout: Duration::from_secs(5),
        }
    }
}

pub(super) fn limits_settings(v: &mut Vars) -> LimitsConfig {
    let d = LimitsConfig::default();
    let mut max_header_bytes = v.number("LATCHKEY_MAX_HEADER_BYTES", d.max_header_bytes);
    if max_header_bytes < MIN_HEADER_BYTES {
        max_header_bytes = v.bad(
            "LATCHKEY_MAX_HEADER_BYTES",
            "must be at least 8192",
            d.max_header_bytes,
        );
    }
    let mut positive = |name: &str, default: Duration| {
        let value = v.seconds(name, default.as_secs());
        if value.is_zero() {
            v.bad(name, "must be at least 1 second", default)
        } else {
            value
        }
    };
    let header_read_timeout = positive("LATCHKEY_HEADER_READ_TIMEOUT", d.header_read_timeout);
    let request_timeout = positive("LATCHKEY_REQUEST_TIMEOUT", d.request_timeout);
    let db_acquire_timeout = positive("LATCHKEY_DB_ACQUIRE_TIMEOUT", d.db_acquire_timeout);
    let mut db_max_connections = v.number("LATCHKEY_DB_MAX_CONNECTIONS", d.db_max_connections);
    if db_max_connections == 0 {
        db_max_connections = v.bad(
            "LATCHKEY_DB_MAX_CONNECTIONS",
            "must be at least 1",
            d.db_max_connections,
        );
    }
    LimitsConfig {
        max_header_bytes,
        header_read_timeout,
        request_timeout,
        db_max_connections,
        db_acquire_timeout,
    }
}
