//! Text rules shared by the document model and the XML layer: what characters a DTE may hold,
//! how lengths are counted, ISO-8859-1 transcoding, and exact decimals for quantities and prices.

use crate::message::Message;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{DteError, DteResult};

/// Typographic characters that word processors and Odoo users paste, mapped to their ISO-8859-1
/// look-alikes. Anything else outside ISO-8859-1 is refused: the SII files are ISO-8859-1 and a
/// character reference such as `&#8364;` is not what the receiver expects to read.
const TYPOGRAPHIC_REPLACEMENTS: &[(char, &str)] = &[
    ('\u{2018}', "'"),
    ('\u{2019}', "'"),
    ('\u{201A}', "'"),
    ('\u{2032}', "'"),
    ('\u{201C}', "\""),
    ('\u{201D}', "\""),
    ('\u{201E}', "\""),
    ('\u{2033}', "\""),
    ('\u{2013}', "-"),
    ('\u{2014}', "-"),
    ('\u{2212}', "-"),
    ('\u{2026}', "..."),
];

/// Checks one text value of the request and returns it ready for the XML.
///
/// Length limits are the SII schema's `maxLength`, counted in characters of the unescaped value
/// (`&` counts as one). Over-long values are **refused**, never cut: a legal name, a giro or an
/// item description that the engine shortened silently would be a different tax document than
/// the one the accountant approved. (The TED's `RSR` and `IT1` are the exception: the SII defines
/// them as the first 40 characters of the receiver's name and of the first item.)
pub(crate) fn clean_text(field: &str, value: &str, max_chars: usize) -> DteResult<String> {
    let mut cleaned = String::with_capacity(value.len());
    for character in value.chars() {
        if let Some((_, replacement)) =
            TYPOGRAPHIC_REPLACEMENTS.iter().find(|(typographic, _)| *typographic == character)
        {
            cleaned.push_str(replacement);
            continue;
        }
        let code = u32::from(character);
        let is_xml_control = code < 0x20 && !matches!(character, '\t' | '\n' | '\r');
        let is_c1_control = (0x7F..=0x9F).contains(&code);
        if is_xml_control || is_c1_control {
            return Err(DteError::refused(Message::text_control(field, format!("{code:04X}"))));
        }
        if code > 0xFF {
            return Err(DteError::refused(Message::text_not_latin1(field, character.to_string())));
        }
        cleaned.push(character);
    }
    let length = cleaned.chars().count();
    if length > max_chars {
        return Err(DteError::refused(Message::text_too_long(field, length, max_chars)));
    }
    Ok(cleaned)
}

/// Like [`clean_text`], and also refuses an empty or blank value.
pub(crate) fn clean_required_text(field: &str, value: &str, max_chars: usize) -> DteResult<String> {
    if value.trim().is_empty() {
        return Err(DteError::refused(Message::text_required(field)));
    }
    clean_text(field, value, max_chars)
}

/// The first `max_chars` characters of `value` (for the TED's `RSR` and `IT1`).
pub(crate) fn first_chars(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}

/// Encodes text as ISO-8859-1; `None` when a character has no ISO-8859-1 byte.
pub fn latin1_encode(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|character| u8::try_from(u32::from(character)).ok()).collect()
}

/// Decodes ISO-8859-1 bytes (every byte is the code point of the same value).
pub fn latin1_decode(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| char::from(*byte)).collect()
}

/// Removes whitespace between tags (`>\s+<` → `><`) and keeps whitespace inside text: the form
/// in which the SII signs the CAF's `DA` and in which a TED's `DD` is signed.
pub fn compact_between_tags(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut pending_blank = String::new();
    let mut after_tag_end = false;
    for character in xml.chars() {
        if after_tag_end && character.is_ascii_whitespace() {
            pending_blank.push(character);
            continue;
        }
        if !pending_blank.is_empty() {
            if character != '<' {
                out.push_str(&pending_blank);
            }
            pending_blank.clear();
        }
        after_tag_end = character == '>';
        out.push(character);
    }
    out.push_str(&pending_blank);
    out
}

/// An exact decimal number as the SII schema writes it (`QtyItem`, `PrcItem`, percentages):
/// no binary floating point, so `0.1 × 3` is `0.3`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    /// The value times 10^`scale`.
    units: i128,
    /// Digits after the decimal point, trailing zeros removed.
    scale: u32,
}

/// More fraction digits than any SII field takes.
const MAX_PARSED_SCALE: u32 = 12;

impl Decimal {
    /// Parses `12`, `4500.5`, `-3`, `0.000001`. Exponents are not accepted.
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let trimmed = text.trim();
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let (integer_part, fraction_part) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
        if (integer_part.is_empty() && fraction_part.is_empty())
            || !all_digits(integer_part)
            || !all_digits(fraction_part)
        {
            return Err(format!("'{trimmed}' is not a decimal number"));
        }
        let fraction_part = fraction_part.trim_end_matches('0');
        let scale = u32::try_from(fraction_part.len()).unwrap_or(u32::MAX);
        if scale > MAX_PARSED_SCALE || integer_part.trim_start_matches('0').len() > 20 {
            return Err(format!("'{trimmed}' has too many digits"));
        }
        let joined = format!("{integer_part}{fraction_part}");
        let magnitude: i128 = if joined.is_empty() {
            0
        } else {
            joined.parse().map_err(|_| format!("'{trimmed}' is not a decimal number"))?
        };
        Ok(Decimal { units: if negative { -magnitude } else { magnitude }, scale })
    }

    /// A whole number.
    pub fn from_integer(value: i64) -> Decimal {
        Decimal { units: i128::from(value), scale: 0 }
    }

    pub fn is_positive(&self) -> bool {
        self.units > 0
    }

    /// Digits after the decimal point (trailing zeros not counted).
    pub fn fraction_digits(&self) -> u32 {
        self.scale
    }

    /// Digits before the decimal point (0 for values below 1).
    pub fn integer_digits(&self) -> u32 {
        let whole = (self.units / 10_i128.pow(self.scale)).unsigned_abs();
        if whole == 0 {
            0
        } else {
            whole.ilog10() + 1
        }
    }

    /// The whole-number value, if there is no fraction.
    pub fn as_integer(&self) -> Option<i64> {
        if self.scale == 0 {
            i64::try_from(self.units).ok()
        } else {
            None
        }
    }

    /// `self × other`, rounded half up to whole pesos (amounts are never negative here).
    pub(crate) fn mul_round(&self, other: &Decimal) -> Option<i128> {
        let product = self.units.checked_mul(other.units)?;
        let divisor = 10_i128.checked_pow(self.scale + other.scale)?;
        Some(round_half_up_div(product, divisor))
    }

    /// `amount × self / 100`, rounded half up: a percentage of a peso amount.
    pub(crate) fn percent_of(&self, amount: i128) -> Option<i128> {
        let product = amount.checked_mul(self.units)?;
        let divisor = 10_i128.checked_pow(self.scale)?.checked_mul(100)?;
        Some(round_half_up_div(product, divisor))
    }
}

/// Integer division rounding halves away from zero ("redondeo" as the SII applies it).
pub(crate) fn round_half_up_div(numerator: i128, divisor: i128) -> i128 {
    let quotient = numerator / divisor;
    let remainder = numerator % divisor;
    if remainder.abs() * 2 >= divisor.abs() {
        if (numerator < 0) != (divisor < 0) {
            quotient - 1
        } else {
            quotient + 1
        }
    } else {
        quotient
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let magnitude = self.units.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{magnitude}");
        }
        let divisor = 10_u128.pow(self.scale);
        let width = usize::try_from(self.scale).unwrap_or(0);
        write!(f, "{sign}{}.{:0width$}", magnitude / divisor, magnitude % divisor)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    /// Accepts a JSON string (`"4500.5"`, exact) or a JSON number (read through its shortest
    /// decimal form, so `4500.5` stays `4500.5`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            _ => return Err(serde::de::Error::custom("expected a number or a string")),
        };
        Decimal::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_and_print_canonically() {
        assert_eq!(Decimal::parse("2.0").unwrap().to_string(), "2");
        assert_eq!(Decimal::parse("4500.50").unwrap().to_string(), "4500.5");
        assert_eq!(Decimal::parse("0.000001").unwrap().to_string(), "0.000001");
        assert_eq!(Decimal::parse(".5").unwrap().to_string(), "0.5");
        assert!(Decimal::parse("1e3").is_err());
        assert!(Decimal::parse("").is_err());
        assert_eq!(Decimal::parse("1234.5").unwrap().integer_digits(), 4);
    }

    #[test]
    fn products_round_half_up() {
        let quantity = Decimal::parse("3").unwrap();
        let price = Decimal::parse("0.5").unwrap();
        assert_eq!(quantity.mul_round(&price), Some(2)); // 1.5 → 2
        let percent = Decimal::parse("19").unwrap();
        assert_eq!(percent.percent_of(10_000), Some(1_900));
        assert_eq!(percent.percent_of(10_005), Some(1_901)); // 1900.95 → 1901
        assert_eq!(round_half_up_div(5, 10), 1);
        assert_eq!(round_half_up_div(4, 10), 0);
    }

    #[test]
    fn text_maps_typography_and_refuses_what_latin1_cannot_hold() {
        assert_eq!(clean_text("f", "“Ñandú” – ok…", 40).unwrap(), "\"Ñandú\" - ok...");
        assert!(clean_text("f", "price €", 40).is_err());
        assert!(clean_text("f", "bell\u{7}", 40).is_err());
        let too_long = clean_text("receiver.name", &"x".repeat(101), 100).unwrap_err();
        assert_eq!(too_long.field(), Some("receiver.name"));
    }

    #[test]
    fn compaction_removes_only_whitespace_between_tags() {
        assert_eq!(compact_between_tags("<a>\n\t<b>x  y</b>\n</a>"), "<a><b>x  y</b></a>");
        assert_eq!(compact_between_tags("<a> text </a>"), "<a> text </a>");
    }
}
