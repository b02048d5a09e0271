//! GET /user/audit: the bearer's own security events.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{Bearer, Query};
use crate::model::AuditEntry;

/// Page size when `limit` is not given.
const DEFAULT_LIMIT: u32 = 50;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<u32>,
    before: Option<Uuid>,
}

#[derive(Serialize)]
pub struct AuditLogResponse {
    events: Vec<AuditLogEvent>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogEvent {
    id: Uuid,
    event: String,
    created_at: String,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: serde_json::Value,
}

impl From<AuditEntry> for AuditLogEvent {
    fn from(e: AuditEntry) -> Self {
        AuditLogEvent {
            id: e.id,
            event: e.event,
            created_at: e
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ip: e.ip,
            user_agent: e.user_agent,
            detail: e.detail,
        }
    }
}

/// GET /user/audit: newest first; `before` (an event id from the previous page) pages on.
// Nhost: no such endpoint; upstream keeps no security-event log.
pub async fn list(
    State(app): State<AppState>,
    Bearer(claims): Bearer,
    Query(query): Query<AuditQuery>,
) -> Result<AxumJson<AuditLogResponse>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let events = app.auth.audit_events(&claims, query.before, limit).await?;
    Ok(AxumJson(AuditLogResponse {
        events: events.into_iter().map(AuditLogEvent::from).collect(),
    }))
}
