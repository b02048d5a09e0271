//! The `authUserSecurityKeys` root fields, named as Hasura tracks `auth.user_security_keys`.
//! Every resolver goes through the domain's key functions, which only ever see the bearer's
//! rows: a `where` naming another user simply matches nothing.

use std::cmp::Ordering;
use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};

use super::{GqlError, Timestamptz, Uuid as GqlUuid};
use crate::auth::{AccessClaims, Auth, Error, ManagedKey};
use crate::model::{RequestContext, SecurityKeyId};

/// A row of `authUserSecurityKeys` (the credential public key is not exposed).
#[derive(SimpleObject)]
#[graphql(name = "authUserSecurityKeys", rename_fields = "camelCase")]
pub struct KeyRow {
    id: GqlUuid,
    user_id: GqlUuid,
    nickname: Option<String>,
    credential_id: String,
    /// Comma-separated, as the `varchar` column stores them.
    transports: String,
    counter: i64,
    created_at: Option<Timestamptz>,
    last_used_at: Option<Timestamptz>,
    aaguid: Option<GqlUuid>,
    authenticator_name: Option<String>,
    backup_eligible: Option<bool>,
    backed_up: Option<bool>,
}

impl From<ManagedKey> for KeyRow {
    fn from(m: ManagedKey) -> Self {
        let k = m.key;
        KeyRow {
            id: GqlUuid(k.id.as_uuid()),
            user_id: GqlUuid(k.user_id.as_uuid()),
            nickname: k.nickname,
            credential_id: k.credential_id.to_base64url(),
            transports: k.transports.join(","),
            counter: i64::from(k.counter),
            created_at: k.created_at.map(Timestamptz),
            last_used_at: k.last_used_at.map(Timestamptz),
            aaguid: k.aaguid.map(GqlUuid),
            authenticator_name: m.authenticator_name,
            backup_eligible: k.backup_eligible,
            backed_up: k.backup_state,
        }
    }
}

#[derive(InputObject, Default)]
#[graphql(name = "uuid_comparison_exp")]
pub struct UuidComparison {
    #[graphql(name = "_eq")]
    eq: Option<GqlUuid>,
    #[graphql(name = "_neq")]
    neq: Option<GqlUuid>,
    #[graphql(name = "_in")]
    r#in: Option<Vec<GqlUuid>>,
    #[graphql(name = "_nin")]
    nin: Option<Vec<GqlUuid>>,
}

impl UuidComparison {
    fn matches(&self, value: uuid::Uuid) -> bool {
        self.eq.as_ref().is_none_or(|v| v.0 == value)
            && self.neq.as_ref().is_none_or(|v| v.0 != value)
            && self
                .r#in
                .as_ref()
                .is_none_or(|vs| vs.iter().any(|v| v.0 == value))
            && self
                .nin
                .as_ref()
                .is_none_or(|vs| vs.iter().all(|v| v.0 != value))
    }
}

#[derive(InputObject, Default)]
#[graphql(name = "String_comparison_exp")]
pub struct StringComparison {
    #[graphql(name = "_eq")]
    eq: Option<String>,
    #[graphql(name = "_neq")]
    neq: Option<String>,
    #[graphql(name = "_in")]
    r#in: Option<Vec<String>>,
    #[graphql(name = "_nin")]
    nin: Option<Vec<String>>,
    #[graphql(name = "_is_null")]
    is_null: Option<bool>,
}

impl StringComparison {
    /// SQL semantics: a NULL column matches no comparison except `_is_null: true`.
    fn matches(&self, value: Option<&str>) -> bool {
        if let Some(is_null) = self.is_null
            && is_null != value.is_none()
        {
            return false;
        }
        let compared =
            self.eq.is_some() || self.neq.is_some() || self.r#in.is_some() || self.nin.is_some();
        let Some(value) = value else {
            return !compared;
        };
        self.eq.as_ref().is_none_or(|v| v == value)
            && self.neq.as_ref().is_none_or(|v| v != value)
            && self
                .r#in
                .as_ref()
                .is_none_or(|vs| vs.iter().any(|v| v == value))
            && self
                .nin
                .as_ref()
                .is_none_or(|vs| vs.iter().all(|v| v != value))
    }
}

/// The filter; `_and`, `_or` and `_not` combine as in Hasura.
#[derive(InputObject, Default)]
#[graphql(name = "authUserSecurityKeys_bool_exp", rename_fields = "camelCase")]
pub struct KeyFilter {
    #[graphql(name = "_and")]
    and: Option<Vec<KeyFilter>>,
    #[graphql(name = "_or")]
    or: Option<Vec<KeyFilter>>,
    #[graphql(name = "_not")]
    not: Option<Box<KeyFilter>>,
    id: Option<UuidComparison>,
    user_id: Option<UuidComparison>,
    nickname: Option<StringComparison>,
}

impl KeyFilter {
    fn matches(&self, row: &KeyRow) -> bool {
        self.and
            .as_ref()
            .is_none_or(|fs| fs.iter().all(|f| f.matches(row)))
            && self
                .or
                .as_ref()
                .is_none_or(|fs| fs.iter().any(|f| f.matches(row)))
            && self.not.as_ref().is_none_or(|f| !f.matches(row))
            && self.id.as_ref().is_none_or(|c| c.matches(row.id.0))
            && self
                .user_id
                .as_ref()
                .is_none_or(|c| c.matches(row.user_id.0))
            && self
                .nickname
                .as_ref()
                .is_none_or(|c| c.matches(row.nickname.as_deref()))
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "order_by")]
pub enum OrderBy {
    #[graphql(name = "asc")]
    Asc,
    #[graphql(name = "asc_nulls_first")]
    AscNullsFirst,
    #[graphql(name = "asc_nulls_last")]
    AscNullsLast,
    #[graphql(name = "desc")]
    Desc,
    #[graphql(name = "desc_nulls_first")]
    DescNullsFirst,
    #[graphql(name = "desc_nulls_last")]
    DescNullsLast,
}

impl OrderBy {
    /// Postgres defaults: ascending puts NULLs last, descending first.
    fn compare<T: Ord>(self, a: Option<&T>, b: Option<&T>) -> Ordering {
        use OrderBy::*;
        let (descending, nulls_first) = match self {
            Asc | AscNullsLast => (false, false),
            AscNullsFirst => (false, true),
            Desc | DescNullsFirst => (true, true),
            DescNullsLast => (true, false),
        };
        match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) if nulls_first => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) if nulls_first => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) if descending => b.cmp(a),
            (Some(a), Some(b)) => a.cmp(b),
        }
    }
}

#[derive(InputObject, Default)]
#[graphql(name = "authUserSecurityKeys_order_by", rename_fields = "camelCase")]
pub struct KeyOrder {
    id: Option<OrderBy>,
    user_id: Option<OrderBy>,
    nickname: Option<OrderBy>,
    created_at: Option<OrderBy>,
    last_used_at: Option<OrderBy>,
}

impl KeyOrder {
    fn compare(&self, a: &KeyRow, b: &KeyRow) -> Ordering {
        let by =
            |o: Option<OrderBy>, ord: &dyn Fn(OrderBy) -> Ordering| o.map_or(Ordering::Equal, ord);
        by(self.id, &|o| o.compare(Some(&a.id.0), Some(&b.id.0)))
            .then_with(|| {
                by(self.user_id, &|o| {
                    o.compare(Some(&a.user_id.0), Some(&b.user_id.0))
                })
            })
            .then_with(|| {
                by(self.nickname, &|o| {
                    o.compare(a.nickname.as_ref(), b.nickname.as_ref())
                })
            })
            .then_with(|| {
                by(self.created_at, &|o| {
                    o.compare(
                        a.created_at.as_ref().map(|t| &t.0),
                        b.created_at.as_ref().map(|t| &t.0),
                    )
                })
            })
            .then_with(|| {
                by(self.last_used_at, &|o| {
                    o.compare(
                        a.last_used_at.as_ref().map(|t| &t.0),
                        b.last_used_at.as_ref().map(|t| &t.0),
                    )
                })
            })
    }
}

#[derive(InputObject)]
#[graphql(name = "authUserSecurityKeys_pk_columns_input")]
pub struct KeyPk {
    id: GqlUuid,
}

#[derive(InputObject, Default)]
#[graphql(name = "authUserSecurityKeys_set_input")]
pub struct KeySet {
    nickname: Option<String>,
}

fn bearer<'a>(ctx: &Context<'a>) -> Result<(&'a Arc<Auth>, &'a AccessClaims)> {
    Ok((ctx.data::<Arc<Auth>>()?, ctx.data::<AccessClaims>()?))
}

/// Hasura answers a by-pk field on an invisible row with `null`, not an error.
fn visible<T>(result: crate::auth::Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::UnknownKey) => Ok(None),
        Err(err) => Err(GqlError::from(err).into()),
    }
}

#[derive(Default)]
pub struct KeyQueries;

#[Object]
impl KeyQueries {
    /// The bearer's keys matching `where`, ordered, paginated.
    #[graphql(name = "authUserSecurityKeys")]
    async fn keys(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<KeyFilter>,
        #[graphql(name = "order_by")] order: Option<Vec<KeyOrder>>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> Result<Vec<KeyRow>> {
        let (auth, claims) = bearer(ctx)?;
        let keys = auth.list_keys(claims).await.map_err(GqlError::from)?;
        let filter = filter.unwrap_or_default();
        let mut rows: Vec<KeyRow> = keys
            .into_iter()
            .map(KeyRow::from)
            .filter(|r| filter.matches(r))
            .collect();
        if let Some(order) = order {
            rows.sort_by(|a, b| {
                order
                    .iter()
                    .fold(Ordering::Equal, |acc, o| acc.then_with(|| o.compare(a, b)))
            });
        }
        let offset = usize::try_from(offset.unwrap_or(0)).unwrap_or(0);
        let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(0));
        Ok(rows.into_iter().skip(offset).take(limit).collect())
    }

    /// One of the bearer's keys; `null` for an unknown or foreign id.
    #[graphql(name = "authUserSecurityKey")]
    async fn key(&self, ctx: &Context<'_>, id: GqlUuid) -> Result<Option<KeyRow>> {
        let (auth, claims) = bearer(ctx)?;
        let key = auth
            .key_of_bearer(claims, SecurityKeyId::from_uuid(id.0))
            .await;
        Ok(visible(key)?.map(KeyRow::from))
    }
}

#[derive(Default)]
pub struct KeyMutations;

#[Object]
impl KeyMutations {
    /// Deletes one of the bearer's keys (same rules as REST, never forced); `null` for an
    /// unknown or foreign id.
    #[graphql(name = "deleteAuthUserSecurityKey")]
    async fn delete(&self, ctx: &Context<'_>, id: GqlUuid) -> Result<Option<KeyRow>> {
        let (auth, claims) = bearer(ctx)?;
        let client = ctx.data::<RequestContext>()?;
        let key = auth
            .delete_key(client, claims, SecurityKeyId::from_uuid(id.0), false)
            .await;
        Ok(visible(key)?.map(KeyRow::from))
    }

    /// Renames one of the bearer's keys; only `nickname` can be set.
    #[graphql(name = "updateAuthUserSecurityKey")]
    async fn update(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "pk_columns")] pk_columns: KeyPk,
        #[graphql(name = "_set")] set: Option<KeySet>,
    ) -> Result<Option<KeyRow>> {
        let (auth, claims) = bearer(ctx)?;
        let id = SecurityKeyId::from_uuid(pk_columns.id.0);
        let key = match set.and_then(|s| s.nickname) {
            Some(nickname) => {
                let client = ctx.data::<RequestContext>()?;
                auth.rename_key(client, claims, id, nickname).await
            }
            None => auth.key_of_bearer(claims, id).await,
        };
        Ok(visible(key)?.map(KeyRow::from))
    }
}
