//! The one HTTP client for every outgoing request (HIBP, Hasura for custom claims and the
//! OAuth providers in `auth`, the SMS providers in `sms`), built with the runtime: DNS, TLS
//! (rustls, the system's roots plus `SSL_CERT_FILE`), proxies, redirects and HTTP/2 are
//! reqwest's. It sits at the crate root, below both `auth` and `sms`, which use its helpers
//! (`describe`, `read_limited`): `sms` must not reach up into `auth`.

use std::time::Duration;

use reqwest::redirect::{Attempt, Policy};
use reqwest::{Certificate, Client, NoProxy, Proxy};

use crate::config::OutgoingConfig;

/// Connecting (DNS, TCP, TLS) to any service should take well under this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest any outgoing request may take; each caller sets a shorter one of its own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 5;

/// Builds the client. Fails, naming the variable, on a proxy reqwest refuses or an
/// `SSL_CERT_FILE` that cannot be read or holds no certificate.
pub(crate) fn http_client(config: &OutgoingConfig) -> Result<Client, String> {
    let no_proxy = config.no_proxy.as_deref().and_then(NoProxy::from_string);
    // Proxies come from the configuration (and so from `/change-env` and test variables),
    // not from reqwest reading the process environment behind its back.
    let mut builder = Client::builder()
        .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(Policy::custom(same_origin))
        .no_proxy();
    if let Some(url) = &config.https_proxy {
        let proxy = Proxy::https(url.as_str()).map_err(|e| format!("HTTPS_PROXY: {e}"))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy.clone()));
    }
    if let Some(url) = &config.http_proxy {
        let proxy = Proxy::http(url.as_str()).map_err(|e| format!("HTTP_PROXY: {e}"))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy));
    }
    if let Some(path) = &config.extra_roots_file {
        let bad = |why: String| format!("SSL_CERT_FILE: {}: {why}", path.display());
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let roots = Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
        if roots.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        builder = builder.tls_certs_merge(roots);
    }
    builder
        .build()
        .map_err(|e| format!("outgoing HTTP client: {e}"))
}

/// Redirects are followed within the first URL's origin only: the admin secret sent to Hasura
/// is a custom header, which reqwest would carry to any host a redirect names.
fn same_origin(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    let same = attempt
        .previous()
        .first()
        .is_some_and(|first| first.origin() == attempt.url().origin());
    if attempt.previous().len() > MAX_REDIRECTS || !same {
        attempt.stop()
    } else {
        attempt.follow()
    }
}

/// The body, refused once longer than `limit`, so a wrong or hostile server cannot make us
/// buffer without end.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(format!("response longer than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's error with its causes (the top-level message, "error sending request", says
/// little), for logs. Without the URL: HIBP's carries part of a password's hash.
pub(crate) fn describe(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_roots(pem: &str) -> Result<Client, String> {
        let dir = std::env::temp_dir().join(format!("latchkey-roots-{}", uuid::Uuid::new_v4()));
        std::fs::write(&dir, pem).map_err(|e| e.to_string())?;
        let config = OutgoingConfig {
            extra_roots_file: Some(dir.clone()),
            ..OutgoingConfig::default()
        };
        let client = http_client(&config);
        let _ = std::fs::remove_file(dir);
        client
    }

    fn self_signed_pem() -> String {
        use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "Latchkey test root")
            .unwrap();
        let name = name.build();
        let mut cert = x509::X509Builder::new().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        String::from_utf8(cert.build().to_pem().unwrap()).unwrap()
    }

    #[test]
    fn ssl_cert_file_roots_are_read() {
        assert!(with_roots(&self_signed_pem()).is_ok());
        let two = format!("{}{}", self_signed_pem(), self_signed_pem());
        assert!(with_roots(&two).is_ok());
    }

    #[test]
    fn unusable_ssl_cert_files_are_refused() {
        for (pem, why) in [("", "empty"), ("not a certificate\n", "no PEM block")] {
            let err = with_roots(pem).unwrap_err();
            assert!(err.starts_with("SSL_CERT_FILE: "), "{why}: {err}");
        }
        let config = OutgoingConfig {
            extra_roots_file: Some("/nonexistent/roots.pem".into()),
            ..OutgoingConfig::default()
        };
        let err = http_client(&config).unwrap_err();
        assert!(err.contains("/nonexistent/roots.pem"), "{err}");
    }
}
