//! The shared outgoing HTTP client, seen through HIBP: a local stand-in for the range API,
//! reached directly, through a forward proxy (`HTTP_PROXY`), past it (`NO_PROXY`), and over
//! TLS with a private CA trusted through `SSL_CERT_FILE`.

use serde_json::json;

use crate::support::TestApp;
use crate::support::fake_http::{FakeService, Recorded};

const PWNED: &str = "password123 is pwned";
const FRESH: &str = "a fresh unlisted secret";

fn sha1_hex(password: &str) -> String {
    hex::encode_upper(openssl::sha::sha1(password.as_bytes()))
}

/// Lists `PWNED`'s suffix (and a padding line) for its prefix, nothing else.
async fn fake_hibp() -> FakeService {
    FakeService::start(|req: &Recorded| {
        let digest = sha1_hex(PWNED);
        let (prefix, suffix) = digest.split_at(5);
        if req.uri.ends_with(&format!("/range/{prefix}")) {
            (
                200,
                format!("{suffix}:42\r\n0000000000000000000000000000000000A:0\r\n"),
            )
        } else {
            (200, "0000000000000000000000000000000000B:0\r\n".into())
        }
    })
    .await
}

async fn sign_up_status(app: &TestApp, email: &str, password: &str) -> (u16, String) {
    let body = json!({ "email": email, "password": password });
    let res = app.post("/signup/email-password", &body).await;
    let code = res.body["error"].as_str().unwrap_or_default().to_owned();
    (res.status, code)
}

async fn hibp_is_asked_directly_and_through_a_proxy(app: TestApp) {
    let hibp = fake_hibp().await;
    let range = format!("{}/range/", hibp.base);
    app.change_env(&[
        ("AUTH_PASSWORD_HIBP_ENABLED", "true"),
        ("LATCHKEY_HIBP_URL", &range),
    ])
    .await;
    assert_eq!(
        sign_up_status(&app, "a@example.test", PWNED).await,
        (400, "password-in-hibp-database".into())
    );
    assert_eq!(sign_up_status(&app, "b@example.test", FRESH).await.0, 200);
    let requests = hibp.requests();
    assert_eq!(requests.len(), 2);
    let prefix = &sha1_hex(PWNED)[..5];
    assert_eq!(requests[0].uri, format!("/range/{prefix}"));
    assert_eq!(requests[0].headers["add-padding"], "true");

    // A name that does not resolve, reachable only through the proxy (the same stand-in,
    // which sees the absolute URL a forward proxy gets).
    app.change_env(&[
        ("LATCHKEY_HIBP_URL", "http://hibp.invalid/range/"),
        ("HTTP_PROXY", &hibp.base),
    ])
    .await;
    assert_eq!(
        sign_up_status(&app, "c@example.test", PWNED).await,
        (400, "password-in-hibp-database".into())
    );
    let last = hibp.requests().pop().unwrap();
    assert_eq!(last.uri, format!("http://hibp.invalid/range/{prefix}"));

    // A proxy that is down, bypassed for the stand-in's address by NO_PROXY.
    let down = format!("http://127.0.0.1:{}", crate::support::smtp::closed_port());
    app.change_env(&[
        ("LATCHKEY_HIBP_URL", &range),
        ("HTTP_PROXY", &down),
        ("NO_PROXY", "127.0.0.1"),
    ])
    .await;
    assert_eq!(
        sign_up_status(&app, "d@example.test", PWNED).await,
        (400, "password-in-hibp-database".into())
    );
    // Without NO_PROXY the dead proxy is used, and HIBP counts as unreachable.
    app.change_env(&[("NO_PROXY", "")]).await;
    assert_eq!(
        sign_up_status(&app, "e@example.test", FRESH).await,
        (503, "service-unavailable".into())
    );
}
both_backends!(hibp_is_asked_directly_and_through_a_proxy);

async fn a_bad_ssl_cert_file_is_refused(app: TestApp) {
    let body = json!({ "SSL_CERT_FILE": "/nonexistent/roots.pem" });
    let res = app.post("/change-env", &body).await;
    assert_eq!(res.status, 400, "{:?}", res.body);
    let message = res.body["message"].as_str().unwrap();
    assert!(message.contains("SSL_CERT_FILE"), "{message}");
}
both_backends!(a_bad_ssl_cert_file_is_refused);

/// A CA (as PEM) and a server certificate it signed for 127.0.0.1, with its key.
fn test_pki() -> (
    String,
    openssl::x509::X509,
    openssl::pkey::PKey<openssl::pkey::Private>,
) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    };
    use openssl::x509::{X509Builder, X509NameBuilder};
    let cert = |cn: &str, key: &PKey<_>, issuer: Option<(&openssl::x509::X509, &PKey<_>)>| {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let serial = BigNum::from_u32(rand_serial())
            .unwrap()
            .to_asn1_integer()
            .unwrap();
        b.set_serial_number(&serial).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        match issuer {
            None => {
                b.set_issuer_name(&name).unwrap();
                b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                    .unwrap();
                b.append_extension(KeyUsage::new().key_cert_sign().crl_sign().build().unwrap())
                    .unwrap();
                b.sign(key, MessageDigest::sha256()).unwrap();
            }
            Some((ca, ca_key)) => {
                b.set_issuer_name(ca.subject_name()).unwrap();
                let san = SubjectAlternativeName::new()
                    .ip("127.0.0.1")
                    .build(&b.x509v3_context(Some(ca), None))
                    .unwrap();
                b.append_extension(san).unwrap();
                b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
                    .unwrap();
                b.sign(ca_key, MessageDigest::sha256()).unwrap();
            }
        }
        b.build()
    };
    let ca_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let ca = cert("Latchkey test CA", &ca_key, None);
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let leaf = cert("127.0.0.1", &key, Some((&ca, &ca_key)));
    (String::from_utf8(ca.to_pem().unwrap()).unwrap(), leaf, key)
}

fn rand_serial() -> u32 {
    uuid::Uuid::new_v4().as_fields().0
}

/// An HTTPS range API (OpenSSL, on a plain thread) listing `PWNED`; returns its base URL.
fn https_hibp(
    cert: openssl::x509::X509,
    key: openssl::pkey::PKey<openssl::pkey::Private>,
) -> String {
    use openssl::ssl::{SslAcceptor, SslMethod};
    use std::io::{Read, Write};
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_certificate(&cert).unwrap();
    acceptor.set_private_key(&key).unwrap();
    let acceptor = acceptor.build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let Ok(mut tls) = acceptor.accept(tcp) else {
                continue;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let suffix = sha1_hex(PWNED)[5..].to_owned();
            let body = format!("{suffix}:3\r\n");
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(response.as_bytes());
            let _ = tls.shutdown();
        }
    });
    base
}

async fn ssl_cert_file_roots_are_trusted(app: TestApp) {
    let (ca_pem, cert, key) = test_pki();
    let range = format!("{}/range/", https_hibp(cert, key));
    let ca_file = std::env::temp_dir().join(format!("latchkey-ca-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&ca_file, ca_pem).unwrap();
    app.change_env(&[
        ("AUTH_PASSWORD_HIBP_ENABLED", "true"),
        ("LATCHKEY_HIBP_URL", &range),
    ])
    .await;
    // The test CA is not a system root: TLS fails, HIBP counts as unreachable.
    assert_eq!(
        sign_up_status(&app, "a@example.test", PWNED).await,
        (503, "service-unavailable".into())
    );
    app.change_env(&[("SSL_CERT_FILE", ca_file.to_str().unwrap())])
        .await;
    assert_eq!(
        sign_up_status(&app, "b@example.test", PWNED).await,
        (400, "password-in-hibp-database".into())
    );
    let _ = std::fs::remove_file(ca_file);
}
both_backends!(ssl_cert_file_roots_are_trusted);
