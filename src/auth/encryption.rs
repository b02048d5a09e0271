//! Encryption at rest for the secrets the server must read back: TOTP secrets and OAuth
//! provider tokens cannot be hashed like passwords and codes, so they are sealed with
//! AES-256-GCM under `AUTH_ENCRYPTION_KEY` (or the generated development key).
//!
//! A sealed value is `lk1:` followed by unpadded base64url of a random 96-bit nonce and the
//! ciphertext with its tag. Each value is bound to a context (say `totp:<user id>`) as
//! associated data, so a sealed secret copied to another row or purpose does not open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::{Error, Result};

const PREFIX: &str = "lk1:";
const NONCE_BYTES: usize = 12;

/// Seals and opens secrets with one key. Cheap to clone; never printed.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)),
        }
    }

    /// Encrypts `plaintext` bound to `context`; a fresh random nonce each time.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal("sealing a secret failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Decrypts a value `seal` made for the same `context`. A value sealed under another
    /// key or context, or altered, fails: the server cannot use it (`Error::Internal`).
    pub fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>> {
        let unreadable = || {
            Error::Internal(format!(
                "a stored secret ({}) cannot be decrypted: was AUTH_ENCRYPTION_KEY changed?",
                context.split(':').next().unwrap_or_default()
            ))
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|body| URL_SAFE_NO_PAD.decode(body).ok())
            .ok_or_else(unreadable)?;
        let (nonce, body) = bytes
            .split_first_chunk::<NONCE_BYTES>()
            .ok_or_else(unreadable)?;
        self.cipher
            .decrypt(
                &Nonce::from(*nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| unreadable())
    }

    /// Whether a stored value is in the sealed format (rather than legacy clear text).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_context_only() {
        let sealer = Sealer::new(&KEY);
        let sealed = sealer.seal("totp:alice", b"JBSWY3DPEHPK3PXP").unwrap();
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            sealer.open("totp:alice", &sealed).unwrap().as_slice(),
            b"JBSWY3DPEHPK3PXP"
        );
        // Another row, another key, or a flipped bit: refused.
        assert!(sealer.open("totp:bob", &sealed).is_err());
        assert!(Sealer::new(&[8; 32]).open("totp:alice", &sealed).is_err());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(sealer.open("totp:alice", &tampered).is_err());
        // Clear text and truncated values are refused, not panicked on.
        for bad in ["JBSWY3DPEHPK3PXP", "lk1:", "lk1:AAAA", "lk1:!!"] {
            assert!(sealer.open("totp:alice", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let sealer = Sealer::new(&KEY);
        let a = sealer.seal("c", b"same").unwrap();
        let b = sealer.seal("c", b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn the_error_names_the_purpose_not_the_user() {
        let sealer = Sealer::new(&KEY);
        let sealed = sealer.seal("totp:alice", b"s").unwrap();
        let err = Sealer::new(&[8; 32])
            .open("totp:alice", &sealed)
            .unwrap_err()
            .to_string();
        assert!(err.contains("totp"), "{err}");
        assert!(!err.contains("alice"), "{err}");
    }
}
