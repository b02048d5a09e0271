//! A secret held in memory: never logged, never serialised, compared in constant time.

use std::fmt;

use zeroize::Zeroizing;

/// Every secret in memory is one of these: JWT keys, refresh tokens, tickets.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Constant-time equality, so response timing does not reveal how much of a guess matched.
    pub fn ct_eq(&self, candidate: &str) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), candidate.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_hides_the_value_and_comparison_works() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(s.ct_eq("hunter2"));
        assert!(!s.ct_eq("hunter3"));
        assert!(!s.ct_eq("hunter"));
    }
}
