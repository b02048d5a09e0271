use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn defaults_serve_a_local_sqlite_development_server() {
    let c = config(&[]).unwrap();
    assert_eq!(c.port, 4000);
    assert_eq!(
        c.database,
        DatabaseUrl::Sqlite("sqlite://latchkey.db".into())
    );
    assert!(c.jwt_secret.is_none());
    assert_eq!(c.webauthn.rp_id, "localhost");
    assert_eq!(
        c.webauthn.rp_origins,
        vec![Url::parse("http://localhost:3000").unwrap()]
    );
    assert_eq!(c.webauthn.timeout, Duration::from_millis(60_000));
    assert_eq!(c.allowed_roles, vec!["me".to_string(), "user".to_string()]);
    assert_eq!(c.access_token_ttl, Duration::from_secs(900));
    assert_eq!(c.jwt_issuer, "hasura-auth");
}

#[test]
fn every_bad_variable_is_named_at_once() {
    let err = config(&[
        ("AUTH_PORT", "eighty"),
        ("AUTH_DISABLE_SIGNUP", "maybe"),
        (
            "HASURA_GRAPHQL_JWT_SECRET",
            r#"{"type":"HS256","key":"short"}"#,
        ),
        ("AUTH_REQUIRE_ELEVATED_CLAIM", "always"),
    ])
    .unwrap_err();
    let text = err.to_string();
    for name in [
        "AUTH_PORT",
        "AUTH_DISABLE_SIGNUP",
        "HASURA_GRAPHQL_JWT_SECRET",
        "AUTH_REQUIRE_ELEVATED_CLAIM",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    assert!(
        !text.contains("short"),
        "the secret value must not be echoed: {text}"
    );
}

#[test]
fn database_url_precedence_follows_nhost_names() {
    let c = config(&[
        ("POSTGRES_CONNECTION", "postgres://a@h/db"),
        ("HASURA_GRAPHQL_DATABASE_URL", "postgres://b@h/db"),
    ])
    .unwrap();
    assert_eq!(
        c.database,
        DatabaseUrl::Postgres("postgres://a@h/db".into())
    );
    let c = config(&[
        ("LATCHKEY_DATABASE_URL", "sqlite://x.db"),
        ("POSTGRES_CONNECTION", "postgres://a@h/db"),
    ])
    .unwrap();
    assert_eq!(c.database, DatabaseUrl::Sqlite("sqlite://x.db".into()));
}

#[test]
fn playground_is_on_for_sqlite_and_off_for_postgres_unless_set() {
    let c = config(&[]).unwrap();
    assert!(c.playground_enabled);
    assert_eq!(
        c.webauthn.playground_origin,
        Some(Url::parse("http://localhost:4000").unwrap()),
        "the playground's own origin is accepted in ceremonies"
    );
    let c = config(&[
        ("AUTH_SERVER_URL", "https://auth.example.com/v1"),
        ("AUTH_PLAYGROUND_ENABLED", "true"),
        ("LATCHKEY_DATABASE_URL", "postgres://db/auth"),
    ])
    .unwrap();
    assert!(c.playground_enabled);
    assert_eq!(
        c.webauthn.playground_origin,
        Some(Url::parse("https://auth.example.com").unwrap())
    );
    let c = config(&[("LATCHKEY_DATABASE_URL", "postgres://db/auth")]).unwrap();
    assert!(!c.playground_enabled);
    assert_eq!(c.webauthn.playground_origin, None);
    let c = config(&[("AUTH_PLAYGROUND_ENABLED", "false")]).unwrap();
    assert!(!c.playground_enabled);
    assert_eq!(c.webauthn.playground_origin, None);
    assert!(
        config(&[("AUTH_PLAYGROUND_ENABLED", "maybe")])
            .unwrap_err()
            .0
            .iter()
            .any(|e| e.starts_with("AUTH_PLAYGROUND_ENABLED"))
    );
}

#[test]
fn rp_id_defaults_to_client_host_and_origins_include_the_client_origin() {
    let c = config(&[
        ("AUTH_CLIENT_URL", "https://app.example.com/welcome"),
        (
            "AUTH_WEBAUTHN_RP_ORIGINS",
            "https://admin.example.com, android:apk-key-hash:abc",
        ),
    ])
    .unwrap();
    assert_eq!(c.webauthn.rp_id, "app.example.com");
    let origins: Vec<&str> = c.webauthn.rp_origins.iter().map(Url::as_str).collect();
    assert_eq!(
        origins,
        [
            "https://admin.example.com/",
            "android:apk-key-hash:abc",
            "https://app.example.com/"
        ]
    );
}

#[test]
fn jwt_secret_json_is_parsed() {
    let c = config(&[(
        "HASURA_GRAPHQL_JWT_SECRET",
        r#"{"type":"HS512","key":"0123456789abcdef0123456789abcdef","issuer":"me","claims_namespace":"ns"}"#,
    )])
    .unwrap();
    let s = c.jwt_secret.unwrap();
    assert_eq!(s.algorithm, JwtAlgorithm::HS512);
    assert_eq!(c.jwt_issuer, "me");
    assert_eq!(c.claims_namespace, "ns");
    assert!(config(&[("HASURA_GRAPHQL_JWT_SECRET", r#"{"type":"ES256","key":"x"}"#)]).is_err());
    assert!(config(&[("HASURA_GRAPHQL_JWT_SECRET", "not json")]).is_err());
}

#[test]
fn timeout_is_bounded() {
    assert!(config(&[("AUTH_WEBAUTHN_ATTESTATION_TIMEOUT", "10")]).is_err());
    let c = config(&[("AUTH_WEBAUTHN_ATTESTATION_TIMEOUT", "120000")]).unwrap();
    assert_eq!(c.webauthn.timeout, Duration::from_secs(120));
}

#[test]
fn attestation_policy_needs_anchors_and_an_attestation() {
    let c = config(&[]).unwrap();
    assert_eq!(c.webauthn.attestation, Attestation::None);
    assert!(c.webauthn.attestation_policy.is_none());

    let aaguid = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
    let c = config(&[
        ("AUTH_WEBAUTHN_ALLOWED_AAGUIDS", aaguid),
        (
            "LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE",
            "/etc/latchkey/cas.pem",
        ),
    ])
    .unwrap();
    assert_eq!(
        c.webauthn.attestation,
        Attestation::Direct,
        "needed to verify"
    );
    let policy = c.webauthn.attestation_policy.unwrap();
    assert_eq!(policy.allowed_aaguids.len(), 1);
    assert_eq!(policy.ca_file.as_deref(), Some("/etc/latchkey/cas.pem"));

    for (vars, expected) in [
        (
            vec![("AUTH_WEBAUTHN_ALLOWED_AAGUIDS", aaguid)],
            "needs trust anchors",
        ),
        (
            vec![
                ("AUTH_WEBAUTHN_ALLOWED_AAGUIDS", "yubikey"),
                ("LATCHKEY_WEBAUTHN_MDS_FILE", "/tmp/mds.jwt"),
            ],
            "is not an AAGUID",
        ),
        (
            vec![
                ("AUTH_WEBAUTHN_ALLOWED_AAGUIDS", aaguid),
                ("LATCHKEY_WEBAUTHN_MDS_FILE", "/tmp/mds.jwt"),
                ("AUTH_WEBAUTHN_ATTESTATION", "none"),
            ],
            "none cannot verify",
        ),
        (
            vec![("LATCHKEY_WEBAUTHN_MDS_FILE", "/tmp/mds.jwt")],
            "only used with AUTH_WEBAUTHN_ALLOWED_AAGUIDS",
        ),
        (
            vec![("AUTH_WEBAUTHN_ATTESTATION", "enterprise")],
            "expected none, indirect or direct",
        ),
    ] {
        let err = config(&vars).unwrap_err().to_string();
        assert!(err.contains(expected), "{vars:?}: {err}");
    }
}

#[test]
fn passkeys_are_on_for_the_zero_config_run_and_off_as_upstream_with_postgres() {
    assert!(config(&[]).unwrap().webauthn.enabled);
    let pg = ("POSTGRES_CONNECTION", "postgres://db.example/auth");
    assert!(!config(&[pg]).unwrap().webauthn.enabled);
    assert!(
        config(&[pg, ("AUTH_WEBAUTHN_ENABLED", "true")])
            .unwrap()
            .webauthn
            .enabled
    );
    assert!(
        !config(&[("AUTH_WEBAUTHN_ENABLED", "false")])
            .unwrap()
            .webauthn
            .enabled
    );
}

#[test]
fn limits_have_safe_defaults_and_refuse_values_that_would_disable_them() {
    let c = config(&[]).unwrap();
    assert_eq!(c.limits.max_header_bytes, 32 * 1024);
    assert_eq!(c.limits.header_read_timeout, Duration::from_secs(10));
    assert_eq!(c.limits.request_timeout, Duration::from_secs(30));
    assert_eq!(c.limits.db_max_connections, 20);
    assert_eq!(c.limits.db_acquire_timeout, Duration::from_secs(5));
    let c = config(&[
        ("LATCHKEY_MAX_HEADER_BYTES", "8192"),
        ("LATCHKEY_REQUEST_TIMEOUT", "2"),
    ])
    .unwrap();
    assert_eq!(c.limits.max_header_bytes, 8192);
    assert_eq!(c.limits.request_timeout, Duration::from_secs(2));
    // hyper asserts a buffer of at least 8 KiB; zero would mean "no timeout" or "no pool".
    let err = config(&[
        ("LATCHKEY_MAX_HEADER_BYTES", "4096"),
        ("LATCHKEY_HEADER_READ_TIMEOUT", "0"),
        ("LATCHKEY_REQUEST_TIMEOUT", "soon"),
        ("LATCHKEY_DB_MAX_CONNECTIONS", "0"),
        ("LATCHKEY_DB_ACQUIRE_TIMEOUT", "0"),
    ])
    .unwrap_err()
    .to_string();
    for name in [
        "LATCHKEY_MAX_HEADER_BYTES",
        "LATCHKEY_HEADER_READ_TIMEOUT",
        "LATCHKEY_REQUEST_TIMEOUT",
        "LATCHKEY_DB_MAX_CONNECTIONS",
        "LATCHKEY_DB_ACQUIRE_TIMEOUT",
    ] {
        assert!(err.contains(name), "{name} not named in {err}");
    }
}

#[test]
fn audit_retention_is_days_and_zero_keeps_forever() {
    let day = Duration::from_secs(86_400);
    assert_eq!(
        config(&[]).unwrap().operations.audit_retention,
        Some(90 * day)
    );
    let c = config(&[("LATCHKEY_AUDIT_RETENTION_DAYS", "7")]).unwrap();
    assert_eq!(c.operations.audit_retention, Some(7 * day));
    let c = config(&[("LATCHKEY_AUDIT_RETENTION_DAYS", "0")]).unwrap();
    assert_eq!(c.operations.audit_retention, None);
    assert!(config(&[("LATCHKEY_AUDIT_RETENTION_DAYS", "-1")]).is_err());
    assert!(config(&[("LATCHKEY_AUDIT_RETENTION_DAYS", "a week")]).is_err());
}

#[test]
fn auth_host_is_an_ip_address_every_interface_by_default() {
    let addr = |host: &str| config(&[("AUTH_HOST", host), ("AUTH_PORT", "4100")]);
    assert_eq!(
        config(&[]).unwrap().listen_addr(),
        "0.0.0.0:4000".parse().unwrap()
    );
    for (host, expected) in [
        ("127.0.0.1", "127.0.0.1:4100"),
        ("0.0.0.0", "0.0.0.0:4100"),
        ("::", "[::]:4100"),
        ("[::1]", "[::1]:4100"),
        (" 10.0.0.7 ", "10.0.0.7:4100"),
    ] {
        let c = addr(host).unwrap();
        assert_eq!(c.listen_addr(), expected.parse().unwrap(), "{host}");
    }
    for bad in ["localhost", "127.0.0.1:4000", "256.0.0.1"] {
        let err = addr(bad).unwrap_err().to_string();
        assert!(err.contains("AUTH_HOST"), "{bad}: {err}");
    }
}

#[test]
fn custom_claims_parse_and_hasura_needs_both_variables() {
    let c = config(&[
        (
            "AUTH_JWT_CUSTOM_CLAIMS",
            r#"{"org-id":"metadata.org.id","b":"roles[].role"}"#,
        ),
        ("AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS", r#"{"org-id":"none"}"#),
        (
            "HASURA_GRAPHQL_GRAPHQL_URL",
            "http://hasura:8080/v1/graphql",
        ),
    ])
    .unwrap();
    let names: Vec<_> = c
        .custom_claims
        .claims
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["b", "org-id"]);
    assert_eq!(c.custom_claims.defaults["org-id"], "none");
    assert!(
        c.custom_claims.hasura.is_none(),
        "no admin secret: no Hasura"
    );
    let c = config(&[
        (
            "HASURA_GRAPHQL_GRAPHQL_URL",
            "http://hasura:8080/v1/graphql",
        ),
        ("HASURA_GRAPHQL_ADMIN_SECRET", "hunter2"),
    ])
    .unwrap();
    let hasura = c.custom_claims.hasura.unwrap();
    assert_eq!(hasura.url.as_str(), "http://hasura:8080/v1/graphql");
    assert_eq!(hasura.admin_secret.expose(), "hunter2");
}

#[test]
fn bad_custom_claims_and_proxies_are_named() {
    let err = config(&[
        ("AUTH_JWT_CUSTOM_CLAIMS", r#"{"a":"m.d[?(@.v == )]"}"#),
        ("AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS", "[1]"),
        ("HTTPS_PROXY", "ftp://user:pw@proxy"),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("AUTH_JWT_CUSTOM_CLAIMS: claim \"a\""),
        "{text}"
    );
    assert!(text.contains("AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS"), "{text}");
    assert!(text.contains("HTTPS_PROXY"), "{text}");
    assert!(
        !text.contains("pw"),
        "a proxy password is never echoed: {text}"
    );
    assert!(config(&[("AUTH_JWT_CUSTOM_CLAIMS", "not json")]).is_err());
}

#[test]
fn proxies_and_extra_roots_are_read() {
    let c = config(&[
        ("https_proxy", "proxy.internal:3128"),
        ("HTTP_PROXY", "http://proxy.internal:3129"),
        ("no_proxy", "localhost,.internal,10.0.0.0/8"),
        ("SSL_CERT_FILE", "/etc/ssl/corp.pem"),
    ])
    .unwrap();
    let o = &c.outgoing;
    assert_eq!(
        o.https_proxy.as_ref().map(Url::as_str),
        Some("http://proxy.internal:3128/")
    );
    assert_eq!(
        o.http_proxy.as_ref().map(Url::as_str),
        Some("http://proxy.internal:3129/")
    );
    assert_eq!(
        o.no_proxy.as_deref(),
        Some("localhost,.internal,10.0.0.0/8")
    );
    assert_eq!(
        o.extra_roots_file.as_deref(),
        Some(std::path::Path::new("/etc/ssl/corp.pem"))
    );
    assert!(config(&[]).unwrap().outgoing.https_proxy.is_none());
}
