//! Chilean RUT (Rol Único Tributario): parsing, formatting and the módulo-11 check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A RUT whose check digit has been verified. Displays as the SII writes it: `76000001-9`,
/// no dots, upper-case `K`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rut {
    number: u32,
    check_digit: char,
}

/// Why a string is not a RUT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RutError {
    #[error("RUT is empty")]
    Empty,
    #[error("'{0}' is not a RUT (expected digits, a dash and a check digit, e.g. 76000001-9)")]
    Malformed(String),
    #[error("RUT {number}-{given} has a wrong check digit (expected {expected})")]
    WrongCheckDigit { number: u32, given: char, expected: char },
}

/// The largest RUT number the SII schema allows: `RUTType` is at most 10 characters including
/// the dash and the check digit.
const MAX_RUT_NUMBER: u32 = 99_999_999;

impl Rut {
    /// Parses `76000001-9`, also accepting dots (`76.000.001-9`), a lower-case `k`, surrounding
    /// blanks and leading zeros (`07880442-4`, as some certificates carry it).
    pub fn parse(text: &str) -> Result<Rut, RutError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(RutError::Empty);
        }
        let malformed = || RutError::Malformed(trimmed.chars().take(20).collect());
        let (number_part, check_part) = trimmed.rsplit_once('-').ok_or_else(malformed)?;
        let digits: String = number_part.chars().filter(|c| *c != '.').collect();
        if digits.is_empty() || digits.len() > 10 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(malformed());
        }
        let number: u32 = digits.parse().map_err(|_| malformed())?;
        if number == 0 || number > MAX_RUT_NUMBER {
            return Err(malformed());
        }
        let mut check_chars = check_part.chars();
        let given = match (check_chars.next(), check_chars.next()) {
            (Some(c), None) if c.is_ascii_digit() || c == 'k' || c == 'K' => c.to_ascii_uppercase(),
            _ => return Err(malformed()),
        };
        let expected = check_digit(number);
        if given != expected {
            return Err(RutError::WrongCheckDigit { number, given, expected });
        }
        Ok(Rut { number, check_digit: given })
    }

    /// Builds a RUT from its number, computing the check digit.
    pub fn from_number(number: u32) -> Result<Rut, RutError> {
        if number == 0 || number > MAX_RUT_NUMBER {
            return Err(RutError::Malformed(number.to_string()));
        }
        Ok(Rut { number, check_digit: check_digit(number) })
    }

    /// The number without check digit (the `rutSender`/`rutCompany` upload fields).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The check digit, `0`–`9` or `K` (the `dvSender`/`dvCompany` upload fields).
    pub fn check_digit(&self) -> char {
        self.check_digit
    }
}

/// Validates a RUT string such as `76000001-9`; returns it normalised.
pub fn validate_rut(text: &str) -> Result<Rut, RutError> {
    Rut::parse(text)
}

/// The módulo-11 check digit of a RUT number: digits from the right are weighted 2, 3, …, 7,
/// 2, 3, …; the digit is `11 − (sum mod 11)`, with 11 → `0` and 10 → `K`.
pub fn check_digit(number: u32) -> char {
    let mut remaining = number;
    let mut weight = 2;
    let mut sum = 0;
    while remaining > 0 {
        sum += (remaining % 10) * weight;
        remaining /= 10;
        weight = if weight == 7 { 2 } else { weight + 1 };
    }
    match 11 - (sum % 11) {
        11 => '0',
        10 => 'K',
        digit => char::from_digit(digit, 10).unwrap_or('0'),
    }
}

impl fmt::Display for Rut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.number, self.check_digit)
    }
}

impl fmt::Debug for Rut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rut({self})")
    }
}

impl FromStr for Rut {
    type Err = RutError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Rut::parse(text)
    }
}

impl Serialize for Rut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rut {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Rut::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ruts_have_their_published_check_digits() {
        assert_eq!(check_digit(76_000_001), '9');
        assert_eq!(check_digit(60_803_000), 'K');
        assert_eq!(check_digit(97_975_000), '5');
        assert_eq!(check_digit(11_111_111), '1');
        assert_eq!(check_digit(7_880_442), '4');
    }

    #[test]
    fn parse_normalises_dots_case_and_leading_zeros() {
        assert_eq!(Rut::parse("76.000.001-9").unwrap().to_string(), "76000001-9");
        assert_eq!(Rut::parse(" 60803000-k ").unwrap().to_string(), "60803000-K");
        assert_eq!(Rut::parse("07880442-4").unwrap().to_string(), "7880442-4");
    }

    #[test]
    fn parse_refuses_wrong_digit_and_garbage() {
        assert_eq!(
            Rut::parse("76000001-8"),
            Err(RutError::WrongCheckDigit { number: 76_000_001, given: '8', expected: '9' })
        );
        assert!(matches!(Rut::parse("76000001"), Err(RutError::Malformed(_))));
        assert!(matches!(Rut::parse("abc-1"), Err(RutError::Malformed(_))));
        assert!(matches!(Rut::parse("0-0"), Err(RutError::Malformed(_))));
        assert!(matches!(Rut::parse("123456789-1"), Err(RutError::Malformed(_))));
        assert_eq!(Rut::parse(""), Err(RutError::Empty));
    }
}
