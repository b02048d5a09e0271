//! Custom JWT claims (`AUTH_JWT_CUSTOM_CLAIMS`): values picked by path from the user as
//! Hasura's GraphQL `user(id:)` returns it when `HASURA_GRAPHQL_GRAPHQL_URL` and
//! `HASURA_GRAPHQL_ADMIN_SECRET` are set, else from the user's own fields, already read.

use std::collections::BTreeMap;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::config::{CustomClaimsConfig, HasuraEndpoint};
use crate::model::User;
use crate::outgoing::{describe, read_limited};

/// A GraphQL answer for one user's claims is small; more than this is not one.
const MAX_RESPONSE: usize = 1024 * 1024;

/// The claims to add to the namespace object: `(key, value)`, key prefixed and lower-cased,
/// value encoded as Hasura session variables are.
pub(crate) type ClaimValues = Vec<(String, String)>;

/// The parsed configuration and the GraphQL query made from it once.
pub(crate) struct CustomClaims {
    config: CustomClaimsConfig,
    query: String,
}

impl CustomClaims {
    pub(crate) fn new(config: CustomClaimsConfig) -> Self {
        let query = graphql_query(&config);
        CustomClaims { config, query }
    }

    /// The claims for `user`, from Hasura or from `user` itself. A Hasura lookup that fails
    /// or outlasts its timeout is logged, and only the configured defaults are returned.
    // Nhost: on failure issues the token without any custom claim; the defaults are what a
    // user without values gets, so they are what a lookup without an answer gives too.
    pub(crate) async fn resolve(&self, client: &Client, user: &User) -> ClaimValues {
        if self.config.claims.is_empty() {
            return vec![];
        }
        let Some(hasura) = &self.config.hasura else {
            return self.extract(&user_document(user));
        };
        let lookup = fetch(client, hasura, &self.query, user);
        let reason = match tokio::time::timeout(self.config.timeout, lookup).await {
            Ok(Ok(data)) => return self.extract(&data),
            Ok(Err(reason)) => reason,
            Err(_) => "timed out".to_owned(),
        };
        metrics::counter!("latchkey_custom_claims_failures_total").increment(1);
        tracing::error!(event = "custom_claims.unavailable", user_id = %user.id, %reason,
                        "Hasura did not answer the custom claims query: token issued with defaults only");
        self.config
            .claims
            .iter()
            .filter_map(|claim| {
                let value = self.config.defaults.get(&claim.name)?;
                Some((claim_key(&claim.name), encode(value)))
            })
            .collect()
    }

    /// Every configured claim: the path's value, else its default, else `null` (as upstream).
    fn extract(&self, data: &Value) -> ClaimValues {
        self.config
            .claims
            .iter()
            .map(|claim| {
                let value = claim
                    .path
                    .select(data)
                    .or_else(|| self.config.defaults.get(&claim.name).cloned())
                    .unwrap_or(Value::Null);
                (claim_key(&claim.name), encode(&value))
            })
            .collect()
    }
}

async fn fetch(
    client: &Client,
    hasura: &HasuraEndpoint,
    query: &str,
    user: &User,
) -> Result<Value, String> {
    let body = json!({ "query": query, "variables": { "id": user.id.to_string() } });
    let response = client
        .post(hasura.url.clone())
        .header("X-Hasura-Admin-Secret", hasura.admin_secret.expose())
        .json(&body)
        .send()
        .await
        .map_err(describe)?;
    // Not the body: an error answer may echo user data.
    if response.status() != StatusCode::OK {
        return Err(format!("status {}", response.status()));
    }
    let body = read_limited(response, MAX_RESPONSE).await?;
    let mut answer: Value = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))?;
    if answer.get("errors").is_some() {
        return Err("GraphQL errors in the answer".into());
    }
    match answer.pointer_mut("/data/user").map(Value::take) {
        Some(user @ Value::Object(_)) => Ok(user),
        _ => Err("no data.user object in the answer".into()),
    }
}

/// `org-id` -> `x-hasura-org-id`. Upstream keeps an already prefixed name's case; Hasura
/// reads session variables case-insensitively, so two spellings of one variable would let a
/// custom claim shadow a built-in one.
// Nhost: keeps `X-Hasura-Foo` as written; we lower-case every key.
fn claim_key(name: &str) -> String {
    let key = name.to_lowercase();
    if key.starts_with("x-hasura-") {
        key
    } else {
        format!("x-hasura-{key}")
    }
}

/// Hasura session variables are strings: strings as they are, arrays as PostgreSQL array
/// literals (`{"a","b"}`, which Hasura and the SDKs read back as arrays), the rest as JSON.
/// Object keys are sorted (as upstream's Go encoder does), so a claim does not change with the
/// order Hasura or the database happens to return them in.
fn encode(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(_) => {
            let json = sorted(value).to_string();
            let inner = json
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or_default();
            format!("{{{inner}}}")
        }
        other => sorted(other).to_string(),
    }
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The user's own fields under the names Hasura's GraphQL gives them, so one set of paths
/// works with and without Hasura (`roles` is Hasura's array relationship, `[{role}]`).
fn user_document(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "createdAt": user.created_at.to_rfc3339(),
        "displayName": user.display_name,
        "avatarUrl": user.avatar_url,
        "locale": user.locale,
        "email": user.email,
        "emailVerified": user.email_verified,
        "phoneNumber": user.phone_number,
        "phoneNumberVerified": user.phone_number_verified,
        "isAnonymous": user.is_anonymous,
        "disabled": user.disabled,
        "defaultRole": user.default_role,
        "roles": user.roles.iter().map(|role| json!({ "role": role })).collect::<Vec<_>>(),
        "metadata": user.metadata,
        "activeMfaType": user.active_mfa_type,
    })
}

/// A field tree of the selection: a leaf, or the fields selected under it.
#[derive(Default)]
struct Selection(BTreeMap<String, Selection>);

/// Upstream's query, byte for byte: `query GetClaims($id: uuid!) { user(id:$id) {a{b }c } }`,
/// fields sorted, a field selected both whole and with subfields keeping the subfields.
fn graphql_query(config: &CustomClaimsConfig) -> String {
    let mut root = Selection::default();
    for claim in &config.claims {
        for field in claim.path.fields() {
            let mut node = &mut root;
            for name in field {
                node = node.0.entry(name).or_default();
            }
        }
    }
    format!(
        "query GetClaims($id: uuid!) {{ user(id:$id) {} }}",
        render(&root)
    )
}

fn render(selection: &Selection) -> String {
    let mut text = String::from("{");
    for (name, below) in &selection.0 {
        text.push_str(name);
        if below.0.is_empty() {
            text.push(' ');
        } else {
            text.push_str(&render(below));
        }
    }
    text.push('}');
    text
}

#[cfg(test)]
mod tests;
