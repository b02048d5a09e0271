//! Phone numbers, parsed and normalised to E.164 once, at the edge.

use std::fmt;

/// A valid phone number in E.164 form (`+33612345678`): the one spelling stored in
/// `auth.users.phone_number` and sent to SMS providers, so `+33 6 12 34 56 78` and
/// `+33612345678` are the same user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// `None` unless `text` is a number in international form (a leading `+` and a country
    /// code; spaces, dots, dashes and brackets allowed) that Google's libphonenumber metadata
    /// (the `phonenumber` crate) considers valid for its country.
    pub fn parse(text: &str) -> Option<PhoneNumber> {
        // Without a country to assume, only numbers written with their country code parse.
        let number = phonenumber::parse(None, text.trim()).ok()?;
        if !phonenumber::is_valid(&number) {
            return None;
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Some(PhoneNumber(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_number_normalise_alike() {
        for spelling in [
            "+33612345678",
            "+33 6 12 34 56 78",
            " +33 (0)6 12-34-56.78 ",
            "+33 6 1234 5678",
        ] {
            let number = PhoneNumber::parse(spelling);
            assert_eq!(
                number.as_ref().map(PhoneNumber::as_str),
                Some("+33612345678"),
                "{spelling:?}"
            );
        }
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for bad in [
            "",
            "+33 12",
            "0612345678",
            "+",
            "+999 123 456 789",
            "not a number",
            "+33 6 12 34 56 78 90 12 34",
        ] {
            assert_eq!(PhoneNumber::parse(bad), None, "{bad:?}");
        }
    }
}
