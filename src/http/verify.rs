//! GET /verify: the target of e-mail links.

use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::extract::{Client, Query};
use super::redirect::{Found, RedirectError, with_query};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyQuery {
    ticket: String,
    redirect_to: String,
    /// The link type (`emailVerify`, ...): deprecated upstream and ignored; the ticket's own
    /// prefix decides.
    #[serde(rename = "type")]
    _link_type: Option<String>,
}

/// GET /verify: redeems the ticket and redirects to `redirectTo` signed in, with
/// `refreshToken` and `type` (the ticket kind) added to its query.
pub async fn verify(
    State(app): State<AppState>,
    Client(ctx): Client,
    Query(query): Query<VerifyQuery>,
) -> Result<Found, RedirectError> {
    let signed_in = app
        .auth
        .redeem_ticket(&ctx, &query.ticket, &query.redirect_to)
        .await?;
    let token = signed_in.session.refresh_token.expose();
    let params = [("refreshToken", token), ("type", signed_in.kind)];
    Ok(Found(with_query(signed_in.redirect_to, &params)))
}
