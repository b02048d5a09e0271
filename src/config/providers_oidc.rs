//! The OpenID providers' extra settings: Microsoft's tenant and Apple's signing key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Vars;
use super::providers::AppleKey;
use crate::model::Secret;

/// `AUTH_PROVIDER_{AZUREAD,ENTRAID}_TENANT` (default `common`): a tenant id, a verified domain,
/// or `common`/`organizations`/`consumers`. It becomes a path segment of the issuer URL, so
/// only letters, digits, `.` and `-` are accepted.
pub(super) fn tenant(v: &mut Vars, env: &str) -> String {
    let name = format!("AUTH_PROVIDER_{env}_TENANT");
    let tenant = v.string(&name, "common");
    let valid = tenant.len() <= 255
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if valid {
        tenant
    } else {
        v.bad(
            &name,
            "expected a tenant id, a domain or common",
            "common".into(),
        )
    }
}

/// `AUTH_PROVIDER_APPLE_{TEAM_ID,KEY_ID,PRIVATE_KEY}`: Apple's client secret is signed with
/// this key. The key is a PEM (its newlines may be written `\n`), or a PEM in base64 as
/// upstream accepts; it must be a P-256 key. `None`, with the errors recorded, if unusable.
pub(super) fn apple_key(v: &mut Vars) -> Option<AppleKey> {
    let names = ["TEAM_ID", "KEY_ID", "PRIVATE_KEY"].map(|s| format!("AUTH_PROVIDER_APPLE_{s}"));
    let [team_id, key_id, private_key] = names.each_ref().map(|n| v.get(n).map(str::to_owned));
    let (Some(team_id), Some(key_id), Some(private_key)) = (team_id, key_id, private_key) else {
        let [team, key, pem] = &names;
        v.errors.push(format!(
            "AUTH_PROVIDER_APPLE_ENABLED: the apple provider needs \
             AUTH_PROVIDER_APPLE_CLIENT_ID, {team}, {key} and {pem}"
        ));
        return None;
    };
    let pem = private_key.replace("\\n", "\n");
    let pem = if pem.trim_start().starts_with("-----BEGIN") {
        Some(pem)
    } else {
        STANDARD
            .decode(pem.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    };
    let usable = pem
        .as_deref()
        .is_some_and(|p| jsonwebtoken::EncodingKey::from_ec_pem(p.as_bytes()).is_ok());
    match pem {
        Some(pem) if usable => Some(AppleKey {
            team_id,
            key_id,
            private_key_pem: Secret::new(pem),
        }),
        _ => {
            v.errors.push(
                "AUTH_PROVIDER_APPLE_PRIVATE_KEY: not a PEM (or base64 PEM) EC P-256 private key"
                    .to_owned(),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::providers::ProvidersConfig;

    fn providers(vars: &[(&str, &str)]) -> Result<ProvidersConfig, Vec<String>> {
        Config::from_vars(vars.iter().copied())
            .map(|c| c.providers)
            .map_err(|e| e.0)
    }

    const MICROSOFT: [(&str, &str); 6] = [
        ("AUTH_PROVIDER_AZUREAD_ENABLED", "true"),
        ("AUTH_PROVIDER_AZUREAD_CLIENT_ID", "id"),
        ("AUTH_PROVIDER_AZUREAD_CLIENT_SECRET", "s"),
        ("AUTH_PROVIDER_ENTRAID_ENABLED", "true"),
        ("AUTH_PROVIDER_ENTRAID_CLIENT_ID", "id"),
        ("AUTH_PROVIDER_ENTRAID_CLIENT_SECRET", "s"),
    ];

    #[test]
    fn microsoft_tenants_default_to_common_and_shape_the_issuer() {
        let config = providers(&MICROSOFT).unwrap();
        for name in ["azuread", "entraid"] {
            let p = config.get(name).unwrap();
            assert_eq!(p.tenant.as_deref(), Some("common"));
            assert_eq!(
                p.issuer.as_ref().unwrap().as_str(),
                "https://login.microsoftonline.com/common/v2.0"
            );
        }
        let mut vars = MICROSOFT.to_vec();
        vars.push(("AUTH_PROVIDER_ENTRAID_TENANT", "contoso.onmicrosoft.com"));
        let config = providers(&vars).unwrap();
        let entra = config.get("entraid").unwrap();
        assert_eq!(
            entra.issuer.as_ref().unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
        );
        assert_eq!(config.get("google").map(|p| p.tenant.clone()), None);

        vars.push(("AUTH_PROVIDER_AZUREAD_TENANT", "common/../evil"));
        let errors = providers(&vars).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("AUTH_PROVIDER_AZUREAD_TENANT: expected a tenant id")),
            "{errors:?}"
        );
    }

    /// A throwaway P-256 key (PKCS#8 PEM), as Apple's `.p8` files are.
    fn p256_pem() -> String {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::nid::Nid;
        use openssl::pkey::PKey;
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap()
    }

    #[test]
    fn apple_needs_a_usable_signing_key_not_a_secret() {
        use base64::Engine;
        let pem = p256_pem();
        let escaped = pem.replace('\n', "\\n");
        let encoded = base64::engine::general_purpose::STANDARD.encode(&pem);
        for key in [pem.as_str(), escaped.as_str(), encoded.as_str()] {
            let vars = [
                ("AUTH_PROVIDER_APPLE_ENABLED", "true"),
                ("AUTH_PROVIDER_APPLE_CLIENT_ID", "com.example.web"),
                ("AUTH_PROVIDER_APPLE_TEAM_ID", "T"),
                ("AUTH_PROVIDER_APPLE_KEY_ID", "K"),
                ("AUTH_PROVIDER_APPLE_PRIVATE_KEY", key),
            ];
            let config = providers(&vars).unwrap();
            let apple = config.get("apple").unwrap();
            let signing = apple.apple.as_ref().unwrap();
            assert_eq!(
                (signing.team_id.as_str(), signing.key_id.as_str()),
                ("T", "K")
            );
            assert_eq!(signing.private_key_pem.expose().trim(), pem.trim());
        }
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("AUTH_PROVIDER_APPLE_ENABLED", "true")],
                "AUTH_PROVIDER_APPLE_ENABLED: the apple provider needs",
            ),
            (
                &[
                    ("AUTH_PROVIDER_APPLE_ENABLED", "true"),
                    ("AUTH_PROVIDER_APPLE_CLIENT_ID", "c"),
                    ("AUTH_PROVIDER_APPLE_TEAM_ID", "T"),
                    ("AUTH_PROVIDER_APPLE_KEY_ID", "K"),
                    ("AUTH_PROVIDER_APPLE_PRIVATE_KEY", "not a key"),
                ],
                "AUTH_PROVIDER_APPLE_PRIVATE_KEY: not a PEM",
            ),
        ];
        for (vars, expected) in cases {
            let errors = providers(vars).unwrap_err();
            assert!(
                errors.iter().any(|e| e.starts_with(expected)),
                "{expected}: {errors:?}"
            );
        }
    }
}
