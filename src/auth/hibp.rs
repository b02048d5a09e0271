//! Have I Been Pwned (`AUTH_PASSWORD_HIBP_ENABLED`): the k-anonymity range API, so only the
//! first five hex digits of the password's SHA-1 leave the server.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod};
use url::Url;

use super::error::{Error, Result};
use crate::config::PasswordConfig;
use crate::model::Secret;

/// A range answer is a few dozen KiB; more than this is not HIBP.
const MAX_RESPONSE: u64 = 4 * 1024 * 1024;

/// Whether HIBP lists the password. An unreachable or slow service (bounded by
/// `hibp_timeout`, DNS included) is `CheckUnavailable`, or "not listed" when fail-open.
pub(crate) async fn check(config: &PasswordConfig, password: &Secret) -> Result<()> {
    let digest = hex::encode_upper(openssl::sha::sha1(password.expose().as_bytes()));
    let (prefix, suffix) = digest.split_at(5);
    let (prefix, suffix) = (prefix.to_owned(), suffix.to_owned());
    let timeout = config.hibp_timeout;
    let outcome = match config.hibp_url.clone() {
        None => Err("no HIBP URL".to_owned()),
        Some(url) => {
            let span = tracing::Span::current();
            let lookup = tokio::task::spawn_blocking(move || {
                span.in_scope(|| lookup(&url, &prefix, &suffix, timeout))
            });
            // DNS resolution has no timeout of its own: the whole lookup gets one.
            match tokio::time::timeout(timeout, lookup).await {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => Err(join.to_string()),
                Err(_) => Err("timed out".to_owned()),
            }
        }
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

fn lookup(
    url: &Url,
    prefix: &str,
    suffix: &str,
    timeout: Duration,
) -> std::result::Result<bool, String> {
    let host = url.host_str().ok_or("no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("no port")?;
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(timeout))
        .and_then(|()| tcp.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    // HTTP/1.0: no chunked encoding to decode; `Add-Padding` hides the answer's size.
    let request = format!(
        "GET {}{prefix} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: latchkey\r\nAdd-Padding: true\r\n\r\n",
        url.path()
    );
    let mut response = Vec::new();
    if url.scheme() == "https" {
        let connector = SslConnector::builder(SslMethod::tls_client())
            .map_err(|e| e.to_string())?
            .build();
        let mut tls = connector.connect(&host, tcp).map_err(|e| e.to_string())?;
        exchange(&mut tls, &request, &mut response)?;
    } else {
        let mut tcp = tcp;
        exchange(&mut tcp, &request, &mut response)?;
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no body")?;
    if head.split(' ').nth(1).is_none_or(|status| status != "200") {
        return Err("status not 200".into());
    }
    Ok(listed(body, suffix))
}

fn exchange(
    stream: &mut (impl Read + Write),
    request: &str,
    response: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    stream
        .take(MAX_RESPONSE)
        .read_to_end(response)
        .map_err(|e| e.to_string())?;
    Ok(())
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
