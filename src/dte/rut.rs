//! Chilean RUT: digits, a dash and a módulo-11 check digit (`76000001-9`, `60803000-K`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rut {
    number: u32,
    check: char,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RutError {
    #[error("expected a RUT like 76000001-9")]
    Format,
    #[error("check digit should be {expected}")]
    CheckDigit { expected: char },
}

impl Rut {
    pub fn number(&self) -> u32 {
        self.number
    }

    pub fn check_digit(&self) -> char {
        self.check
    }
}

/// The módulo-11 check digit of a RUT number.
pub fn check_digit(number: u32) -> char {
    let mut sum = 0u32;
    let mut factor = 2;
    let mut rest = number;
    while rest > 0 {
        sum += (rest % 10) * factor;
        rest /= 10;
        factor = if factor == 7 { 2 } else { factor + 1 };
    }
    match 11 - sum % 11 {
        11 => '0',
        10 => 'K',
        digit => char::from_digit(digit, 10).unwrap_or('0'),
    }
}

impl FromStr for Rut {
    type Err = RutError;

    /// Accepts `76000001-9`, `76.000.001-9` and a lower-case `k`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let cleaned: String = text.trim().chars().filter(|c| *c != '.').collect();
        let (digits, check) = cleaned.split_once('-').ok_or(RutError::Format)?;
        let mut check_chars = check.chars();
        let (Some(check), None) = (check_chars.next(), check_chars.next()) else {
            return Err(RutError::Format);
        };
        if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RutError::Format);
        }
        let number: u32 = digits.parse().map_err(|_| RutError::Format)?;
        if number == 0 {
            return Err(RutError::Format);
        }
        let check = check.to_ascii_uppercase();
        let expected = check_digit(number);
        if check != expected {
            return Err(RutError::CheckDigit { expected });
        }
        Ok(Self { number, check })
    }
}

impl fmt::Display for Rut {
    /// The SII's form: no dots, upper-case K.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.number, self.check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ruts_parse_and_print_in_sii_form() {
        for (text, printed) in [
            ("76000001-9", "76000001-9"),
            ("60803000-K", "60803000-K"),
            ("60.803.000-k", "60803000-K"),
            ("11111111-1", "11111111-1"),
            ("97975000-5", "97975000-5"),
        ] {
            assert_eq!(text.parse::<Rut>().unwrap().to_string(), printed);
        }
    }

    #[test]
    fn wrong_check_digit_says_which_is_right() {
        assert_eq!("76000001-8".parse::<Rut>(), Err(RutError::CheckDigit { expected: '9' }));
        for bad in ["", "76000001", "76000001-", "-9", "7600000A-9", "123456789-0", "0-0", "76000001-99"] {
            assert!(bad.parse::<Rut>().is_err(), "{bad}");
        }
    }
}
