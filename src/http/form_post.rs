//! POST /signin/provider/{provider}/callback: providers that post their answer (Apple's
//! `response_mode=form_post`), with the browser-binding check kept working.
//!
//! The binding cookie is `SameSite=Lax`, so a browser does not send it with the provider's
//! cross-site form POST. Relaxing it to `SameSite=None` would send it with every cross-site
//! request, and a 303 to a GET would put the authorization code in a URL (history, proxy and
//! access logs). Instead, a POST without the cookie is answered with a tiny page that posts
//! the same fields again, now from our own origin: a same-site request, which carries the Lax
//! cookie. The code stays in request bodies, never in a URL. The page marks its post
//! `relayed`, so a browser that has no cookie at all ends with `invalid-state` rather than
//! a loop; a foreign browser's cookie does not match the flow and fails the same way.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::AppState;
use super::extract::{Client, Form, Path};
use super::providers::{CallbackParams, cookie_name, finish, read_cookie};
use super::redirect::RedirectError;
use crate::config::providers as specs;

/// What the provider posted, plus our relay page's marker.
#[derive(Deserialize, Default)]
pub struct PostedCallback {
    #[serde(flatten)]
    params: CallbackParams,
    relayed: Option<String>,
}

/// The relay page's only script, allowed by its hash in the page's CSP.
const SUBMIT: &str = "document.forms[0].submit();";

pub async fn callback(
    State(app): State<AppState>,
    Client(ctx): Client,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Form(posted): Form<PostedCallback>,
) -> Result<Response, RedirectError> {
    let secure = app.auth.runtime().config.server_url.scheme() == "https";
    let has_cookie = read_cookie(&headers, cookie_name(secure)).is_some();
    if !has_cookie && posted.relayed.is_none() && specs::spec(&provider).is_some() {
        return Ok(relay_page(&posted.params));
    }
    let done = finish(app, ctx, provider, posted.params, &headers).await?;
    Ok(done.into_response())
}

/// The self-posting page: the fields as hidden inputs, posted back to this same URL.
fn relay_page(params: &CallbackParams) -> Response {
    let mut inputs = String::new();
    for (name, value) in params.fields() {
        if let Some(value) = value {
            inputs.push_str(&format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape(value)
            ));
        }
    }
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Signing in…</title>\
         <form method=\"post\">{inputs}<input type=\"hidden\" name=\"relayed\" value=\"1\">\
         <noscript><button>Continue</button></noscript></form><script>{SUBMIT}</script>"
    );
    let hash = STANDARD.encode(Sha256::digest(SUBMIT.as_bytes()));
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(csp) = HeaderValue::try_from(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    (headers, body).into_response()
}

/// Text for an HTML attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_are_escaped() {
        assert_eq!(
            escape(r#"a"><script>x</script>&'"#),
            "a&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;&#39;"
        );
    }
}
