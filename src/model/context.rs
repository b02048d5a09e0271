//! Who made a request, as far as the audit log is concerned.

/// The client behind one request: its address (after trusted proxies) and user agent.
/// Never holds a secret, so it can be stored with every security event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The client's IP address as text, `"unknown"` when the transport gave none.
    pub ip: String,
    /// The `User-Agent` header, cut to `USER_AGENT_MAX` characters; `None` when absent.
    pub user_agent: Option<String>,
}

/// Longer user agents are cut: the column is for people reading the log, not for storage
/// an attacker can fill.
pub const USER_AGENT_MAX: usize = 256;

impl RequestContext {
    pub fn new(ip: String, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX).collect());
        RequestContext { ip, user_agent }
    }

    /// For events no client caused directly (a background sweep, a test).
    pub fn internal() -> Self {
        RequestContext::new("internal".into(), None)
    }
}

/// One stored security event, as its user reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    pub created_at: super::Timestamp,
    pub event: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: serde_json::Value,
}
