//! Custom JWT claims (`AUTH_JWT_CUSTOM_CLAIMS`, `AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS`) and where
//! their values come from (Hasura, `HASURA_GRAPHQL_GRAPHQL_URL`, or the user's own row).

use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

use super::Vars;
use crate::model::{ClaimPath, Secret};

/// One custom claim: its name as configured (prefixed and lower-cased when minted) and path.
#[derive(Debug, Clone)]
pub struct CustomClaim {
    pub name: String,
    pub path: ClaimPath,
}

/// Hasura's GraphQL endpoint and admin secret, used only when both are set.
#[derive(Debug, Clone)]
pub struct HasuraEndpoint {
    pub url: Url,
    pub admin_secret: Secret,
}

#[derive(Debug, Clone)]
pub struct CustomClaimsConfig {
    /// Sorted by name, so tokens and the GraphQL query do not change from run to run.
    pub claims: Vec<CustomClaim>,
    /// Per claim name: the value when its path yields nothing.
    pub defaults: Map<String, Value>,
    /// `None`: paths are resolved over the user's own fields, with no extra request.
    pub hasura: Option<HasuraEndpoint>,
    /// How long the GraphQL lookup may take before the token is issued without it.
    pub timeout: Duration,
}

pub(super) fn custom_claims_settings(v: &mut Vars) -> CustomClaimsConfig {
    const CLAIMS: &str = "AUTH_JWT_CUSTOM_CLAIMS";
    const DEFAULTS: &str = "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS";
    let mut claims = Vec::new();
    if let Some(text) = v.get(CLAIMS).map(str::to_owned) {
        match serde_json::from_str::<std::collections::BTreeMap<String, String>>(&text) {
            Err(_) => v.errors.push(format!(
                "{CLAIMS}: expected a JSON object of claim names to paths, e.g. {{\"org-id\":\"profile.orgId\"}}"
            )),
            Ok(map) => {
                for (name, path) in map {
                    match ClaimPath::parse(&path) {
                        Ok(path) => claims.push(CustomClaim { name, path }),
                        Err(why) => v
                            .errors
                            .push(format!("{CLAIMS}: claim {name:?}: bad path {path:?}: {why}")),
                    }
                }
            }
        }
    }
    let defaults = match v
        .get(DEFAULTS)
        .map(serde_json::from_str::<Map<String, Value>>)
    {
        None => Map::new(),
        Some(Ok(map)) => map,
        Some(Err(_)) => {
            v.errors.push(format!(
                "{DEFAULTS}: expected a JSON object of claim names to values"
            ));
            Map::new()
        }
    };
    let hasura = match (
        v.get("HASURA_GRAPHQL_GRAPHQL_URL").is_some(),
        v.get("HASURA_GRAPHQL_ADMIN_SECRET"),
    ) {
        (true, Some(secret)) => {
            let admin_secret = Secret::new(secret.to_owned());
            v.url("HASURA_GRAPHQL_GRAPHQL_URL", "")
                .map(|url| HasuraEndpoint { url, admin_secret })
        }
        _ => None,
    };
    CustomClaimsConfig {
        claims,
        defaults,
        hasura,
        timeout: Duration::from_secs(3),
    }
}
