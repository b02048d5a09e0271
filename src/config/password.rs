//! E-mail and password settings (`AUTH_PASSWORD_*` and Latchkey's own).

use std::time::Duration;

use url::Url;

use super::Vars;

#[derive(Debug, Clone)]
pub struct PasswordConfig {
    /// `AUTH_PASSWORD_MIN_LENGTH`, in characters.
    pub min_length: usize,
    /// `AUTH_PASSWORD_HIBP_ENABLED`: refuse passwords found in Have I Been Pwned.
    pub hibp_enabled: bool,
    /// `LATCHKEY_HIBP_URL`: the k-anonymity range API (the first five hex digits of the
    /// SHA-1 are appended).
    pub hibp_url: Option<Url>,
    /// `LATCHKEY_HIBP_FAIL_OPEN`: accept the password when HIBP cannot be asked in time.
    pub hibp_fail_open: bool,
    /// How long one HIBP lookup may take before it counts as unreachable.
    pub hibp_timeout: Duration,
    /// `LATCHKEY_BCRYPT_COST` (4–31).
    pub bcrypt_cost: u32,
    /// `LATCHKEY_REVOKE_SESSIONS_ON_CREDENTIAL_CHANGE`.
    pub revoke_sessions_on_change: bool,
}

pub(super) fn password_settings(v: &mut Vars) -> PasswordConfig {
    let bcrypt_cost = v.number("LATCHKEY_BCRYPT_COST", 10u32);
    let bcrypt_cost = if (4..=31).contains(&bcrypt_cost) {
        bcrypt_cost
    } else {
        v.bad("LATCHKEY_BCRYPT_COST", "expected 4 to 31", 10)
    };
    // `None` only with a bad value, which is reported and stops the start.
    let hibp_url = v.url("LATCHKEY_HIBP_URL", "https://api.pwnedpasswords.com/range/");
    PasswordConfig {
        min_length: v.number("AUTH_PASSWORD_MIN_LENGTH", 3usize),
        hibp_enabled: v.bool("AUTH_PASSWORD_HIBP_ENABLED", false),
        hibp_url,
        hibp_fail_open: v.bool("LATCHKEY_HIBP_FAIL_OPEN", false),
        hibp_timeout: Duration::from_secs(3),
        bcrypt_cost,
        revoke_sessions_on_change: v.bool("LATCHKEY_REVOKE_SESSIONS_ON_CREDENTIAL_CHANGE", true),
    }
}
