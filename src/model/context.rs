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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_is_cut_by_characters_not_bytes() {
        let long = "é".repeat(USER_AGENT_MAX + 10);
        let ctx = RequestContext::new("192.0.2.1".into(), Some(&long));
        let kept = ctx.user_agent.unwrap();
        assert_eq!(kept.chars().count(), USER_AGENT_MAX);
        assert!(long.starts_with(&kept));
        let ctx = RequestContext::new("192.0.2.1".into(), None);
        assert_eq!(ctx.user_agent, None);
    }
}
