//! Outgoing HTTP (HIBP, Hasura for custom claims): the conventional proxy variables and extra
//! trusted roots, for deployments behind an egress proxy or a TLS-inspecting one.

use std::path::PathBuf;

use url::Url;

use super::Vars;

#[derive(Debug, Clone, Default)]
pub struct OutgoingConfig {
    /// `HTTPS_PROXY` (or `https_proxy`): the proxy for `https://` requests.
    pub https_proxy: Option<Url>,
    /// `HTTP_PROXY` (or `http_proxy`): the proxy for `http://` requests.
    pub http_proxy: Option<Url>,
    /// `NO_PROXY` (or `no_proxy`): hosts, domains, IPs and CIDR ranges reached directly.
    pub no_proxy: Option<String>,
    /// `SSL_CERT_FILE`: a PEM bundle of root certificates. Given in the process environment it
    /// also replaces the system store (rustls-native-certs reads it there, as OpenSSL does);
    /// given through `/change-env` or a test's variables, it is added to the system store.
    pub extra_roots_file: Option<PathBuf>,
}

pub(super) fn outgoing_settings(v: &mut Vars) -> OutgoingConfig {
    let mut proxy = |upper: &str, lower: &str| {
        let name = if v.get(upper).is_some() { upper } else { lower };
        let text = v.get(name)?.to_owned();
        // `host:port` without a scheme is common in these variables and means http.
        let text = if text.contains("://") {
            text
        } else {
            format!("http://{text}")
        };
        match Url::parse(&text) {
            Ok(url) if url.has_host() && matches!(url.scheme(), "http" | "https") => Some(url),
            // Not echoed: a proxy URL may carry a password.
            _ => {
                v.errors.push(format!(
                    "{name}: expected an http(s) proxy URL such as http://proxy:3128"
                ));
                None
            }
        }
    };
    let https_proxy = proxy("HTTPS_PROXY", "https_proxy");
    let http_proxy = proxy("HTTP_PROXY", "http_proxy");
    let no_proxy = v
        .get("NO_PROXY")
        .or_else(|| v.get("no_proxy"))
        .map(str::to_owned);
    OutgoingConfig {
        https_proxy,
        http_proxy,
        no_proxy,
        extra_roots_file: v.get("SSL_CERT_FILE").map(PathBuf::from),
    }
}
