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
fn readme_documents_every_variable() {
    let readme = include_str!("../../README.md");
    for name in VARIABLES {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README table lacks {name}"
        );
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
