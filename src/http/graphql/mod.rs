//! `POST /graphql`: a second transport over the same domain calls as REST, shaped like the
//! Hasura GraphQL Engine that Nhost clients expect (root fields, argument and type names,
//! `{"errors":[{"message","extensions":{"code","path"}}]}` with HTTP 200). Only the security
//! key table is served; nothing here reaches the store.

mod keys;

use std::sync::Arc;

use async_graphql::{
    EmptySubscription, ErrorExtensions, InputValueError, InputValueResult, Scalar, ScalarType,
};
use axum::Json as AxumJson;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Body, Client, bearer_token, refuse_nul};
use crate::auth::{AccessClaims, Error};
use crate::model::Timestamp;

pub type Schema = async_graphql::Schema<keys::KeyQueries, keys::KeyMutations, EmptySubscription>;

/// Built once per router; it holds no state, requests carry the bearer and the domain.
pub fn schema() -> Schema {
    async_graphql::Schema::build(keys::KeyQueries, keys::KeyMutations, EmptySubscription)
        .limit_depth(8)
        .limit_complexity(256)
        .finish()
}

/// Hasura's `uuid` scalar: the hyphenated text form.
pub struct Uuid(pub uuid::Uuid);

#[Scalar(name = "uuid")]
impl ScalarType for Uuid {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => uuid::Uuid::parse_str(s)
                .map(Uuid)
                .map_err(|_| InputValueError::custom("invalid uuid")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_string())
    }
}

/// Hasura's `timestamptz` scalar (output only here).
pub struct Timestamptz(pub Timestamp);

#[Scalar(name = "timestamptz")]
impl ScalarType for Timestamptz {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Timestamptz(t.to_utc()))
                .map_err(|_| InputValueError::custom("invalid timestamptz")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, false))
    }
}

/// A domain error as Hasura would word it; internal text never reaches the client.
pub struct GqlError(Error);

impl From<Error> for GqlError {
    fn from(err: Error) -> Self {
        GqlError(err)
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(GqlError(err): GqlError) -> Self {
        use Error as E;
        let (code, message) = match &err {
            E::Unauthenticated => ("invalid-jwt", "Could not verify JWT"),
            E::ElevationRequired => ("access-denied", "elevated claim required"),
            E::LastSignInMethod => (
                "constraint-violation",
                "cannot delete the last sign-in method of the user",
            ),
            E::UnknownKey | E::InvalidRequest(_) => ("validation-failed", "invalid input"),
            E::Store(_) | E::Mail(_) | E::Internal(_) => {
                tracing::error!(error = %err, "graphql resolver failed");
                ("unexpected", "database query error")
            }
            _ => ("access-denied", "access denied"),
        };
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
    }
}

/// The bearer as Hasura checks it, before any query runs.
pub struct GraphqlBearer(Result<AccessClaims, (&'static str, &'static str)>);

impl FromRequestParts<AppState> for GraphqlBearer {
    type Rejection = std::convert::Infallible;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let claims = match bearer_token(parts) {
            Ok(Some(token)) => app
                .auth
                .verify_access_token(token)
                .map_err(|_| ("invalid-jwt", "Could not verify JWT")),
            Ok(None) => Err((
                "access-denied",
                "Missing 'Authorization' or 'Cookie' header in JWT authentication mode",
            )),
            Err(_) => Err(("invalid-jwt", "Malformed Authorization header")),
        };
        Ok(GraphqlBearer(claims))
    }
}

fn hasura_error(code: &str, message: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code, "path": "$" } }] })
}

/// POST /graphql. Hasura answers errors with HTTP 200 and an `errors` array.
pub async fn handle(
    State(app): State<AppState>,
    axum::Extension(schema): axum::Extension<Schema>,
    GraphqlBearer(claims): GraphqlBearer,
    Client(client): Client,
    Body(body): Body,
) -> AxumJson<Value> {
    let claims = match claims {
        Ok(claims) => claims,
        Err((code, message)) => return AxumJson(hasura_error(code, message)),
    };
    let parsed =
        refuse_nul(&body).map(|()| serde_json::from_slice::<async_graphql::Request>(&body));
    let Ok(Ok(request)) = parsed else {
        return AxumJson(hasura_error("invalid-json", "invalid request body"));
    };
    let response = schema
        .execute(
            request
                .data(Arc::clone(&app.auth))
                .data(claims)
                .data(client),
        )
        .await;
    AxumJson(hasura_shape(response))
}

/// Errors take Hasura's shape (`extensions.code`, `extensions.path`), and no `data` is sent
/// alongside them.
fn hasura_shape(response: async_graphql::Response) -> Value {
    if response.errors.is_empty() {
        return json!({ "data": response.data });
    }
    let errors: Vec<Value> = response
        .errors
        .into_iter()
        .map(|e| {
            let code = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|c| match c {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "validation-failed".to_owned());
            let path = if e.path.is_empty() {
                "$".to_owned()
            } else {
                let segments: Vec<String> = e
                    .path
                    .iter()
                    .map(|s| match s {
                        async_graphql::PathSegment::Field(f) => format!(".{f}"),
                        async_graphql::PathSegment::Index(i) => format!("[{i}]"),
                    })
                    .collect();
                format!("$.selectionSet{}", segments.concat())
            };
            json!({ "message": e.message, "extensions": { "code": code, "path": path } })
        })
        .collect();
    json!({ "errors": errors })
}
