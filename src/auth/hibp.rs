//! Have I Been Pwned (`AUTH_PASSWORD_HIBP_ENABLED`): the k-anonymity range API, so only the
//! first five hex digits of the password's SHA-1 leave the server.

use reqwest::{Client, StatusCode};
use url::Url;

use super::error::{Error, Result};
use crate::config::PasswordConfig;
use crate::model::Secret;
use crate::outgoing::{describe, read_limited};

/// A range answer is a few dozen KiB; more than this is not HIBP.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// Whether HIBP lists the password. An unreachable or slow service (bounded by
/// `hibp_timeout`, DNS included) is `CheckUnavailable`, or "not listed" when fail-open.
pub(crate) async fn check(
    client: &Client,
    config: &PasswordConfig,
    password: &Secret,
) -> Result<()> {
    let digest = hex::encode_upper(openssl::sha::sha1(password.expose().as_bytes()));
    let (prefix, suffix) = digest.split_at(5);
    let outcome = match &config.hibp_url {
        None => Err("no HIBP URL".to_owned()),
        // reqwest's timeout covers the whole exchange, DNS and body included.
        Some(url) => tokio::time::timeout(config.hibp_timeout, lookup(client, url, prefix, suffix))
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned())),
    };
    match outcome {
        Ok(true) => Err(Error::PasswordPwned),
        Ok(false) => Ok(()),
        Err(reason) if config.hibp_fail_open => {
            tracing::warn!(event = "hibp.unavailable", %reason, "password accepted unchecked");
            Ok(())
        }
        Err(reason) => {
            tracing::warn!(event = "hibp.unavailable", %reason, "password refused unchecked");
            Err(Error::CheckUnavailable)
        }
    }
}

async fn lookup(
    client: &Client,
    url: &Url,
    prefix: &str,
    suffix: &str,
) -> std::result::Result<bool, String> {
    let url = format!("{url}{prefix}");
    // `Add-Padding` hides the answer's size from anyone watching the connection.
    let response = client
        .get(url)
        .header("Add-Padding", "true")
        .send()
        .await
        .map_err(describe)?;
    if response.status() != StatusCode::OK {
        return Err(format!("status {}", response.status()));
    }
    let body = read_limited(response, MAX_RESPONSE).await?;
    Ok(listed(&String::from_utf8_lossy(&body), suffix))
}

/// `SUFFIX:COUNT` lines; padding lines have count 0.
fn listed(body: &str, suffix: &str) -> bool {
    body.lines().any(|line| {
        line.split_once(':')
            .is_some_and(|(s, count)| s.trim().eq_ignore_ascii_case(suffix) && count.trim() != "0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_answers_are_read_and_padding_ignored() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\nABCDEF:0\r\n";
        assert!(listed(body, "0018A45C4D1DEF81644B54AB7F969B88D65"));
        assert!(listed(body, "0018a45c4d1def81644b54ab7f969b88d65"));
        assert!(!listed(body, "ABCDEF"));
        assert!(!listed(body, "123"));
    }
}
