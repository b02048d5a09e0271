//! `AUTH_ENCRYPTION_KEY`: the key that encrypts secrets the server must read back
//! (TOTP secrets, OAuth provider tokens). Hashing cannot protect those, so they are
//! encrypted at rest with AES-256-GCM (see `auth::encryption`).

use std::fmt;

use zeroize::Zeroizing;

use super::Vars;

/// 32 bytes, from 64 hex digits. Never printed.
#[derive(Clone)]
pub struct EncryptionKey(Zeroizing<[u8; 32]>);

impl EncryptionKey {
    /// Parses 64 hex digits (upper or lower case); anything else is refused.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), key.as_mut_slice()).ok()?;
        Some(Self(key))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

/// `None` when unset: a development key is generated and kept in the database.
/// A value that is not 32 bytes of hex stops start-up.
pub(super) fn encryption_key(v: &mut Vars) -> Option<EncryptionKey> {
    let text = v.get("AUTH_ENCRYPTION_KEY")?.to_owned();
    match EncryptionKey::from_hex(&text) {
        Some(key) => Some(key),
        None => {
            // Not `v.bad`: that would print the (wrong, but maybe nearly right) key.
            v.errors.push(format!(
                "AUTH_ENCRYPTION_KEY: expected 64 hex digits (32 bytes, e.g. from \
                 `openssl rand -hex 32`), got {} characters",
                text.chars().count()
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn vars(key: &str) -> Vec<(&'static str, String)> {
        vec![("AUTH_ENCRYPTION_KEY", key.to_owned())]
    }

    #[test]
    fn a_hex_key_of_32_bytes_is_read_and_never_printed() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let config = Config::from_vars(vars(hex)).unwrap_or_else(|e| panic!("{e:?}"));
        let key = config.encryption_key.unwrap_or_else(|| panic!("no key"));
        assert_eq!(key.bytes()[1], 0x11);
        assert_eq!(key.bytes()[31], 0xff);
        assert_eq!(format!("{key:?}"), "EncryptionKey(***)");
    }

    #[test]
    fn unset_means_the_development_key() {
        let config = Config::from_vars(vars("")).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(config.encryption_key.is_none());
    }

    #[test]
    fn a_bad_key_stops_start_up_without_echoing_it() {
        for bad in [
            "00112233",
            "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00",
        ] {
            let errors = match Config::from_vars(vars(bad)) {
                Err(e) => e.0,
                Ok(_) => panic!("{bad} accepted"),
            };
            let text = errors.join("\n");
            assert!(text.contains("AUTH_ENCRYPTION_KEY"), "{text}");
            assert!(!text.contains(bad), "the key is echoed: {text}");
        }
    }
}
