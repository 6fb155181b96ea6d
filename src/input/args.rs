//! Argument types shared by the flows, read leniently the way Odoo callers send them
//! (`"33"` or `33`) and checked strictly.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The engine's type, read from `"33"` or `33` like the other arguments.
pub use crate::dte::DteType;

/// A folio: a positive integer, sent as a number or as digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Folio(i64);

impl Folio {
    /// The SII's folio field holds at most 10 digits.
    pub const MAX: i64 = 9_999_999_999;

    pub fn new(value: i64) -> Option<Self> {
        (1..=Self::MAX).contains(&value).then_some(Self(value))
    }

    pub fn value(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Folio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Folio {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        let digits = text.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return Err(());
        }
        digits.parse::<i64>().ok().and_then(Self::new).ok_or(())
    }
}

/// Reads a value that may come as a JSON string or integer into `T: FromStr`.
struct CodeVisitor<T>(&'static str, std::marker::PhantomData<T>);

impl<T: std::str::FromStr> Visitor<'_> for CodeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(|_| E::custom(format!("expected {}, got '{v}'", self.0)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

impl<'de> Deserialize<'de> for Folio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CodeVisitor("a positive integer folio", std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_accept_numbers_and_digits_and_refuse_the_rest() {
        assert_eq!(serde_json::from_value::<DteType>(json!("33")).unwrap().code(), 33);
        assert_eq!(serde_json::from_value::<DteType>(json!(61)).unwrap().code(), 61);
        assert!(serde_json::from_value::<DteType>(json!(39)).is_err());
        assert_eq!(serde_json::from_value::<Folio>(json!("12345")).unwrap().value(), 12345);
        assert_eq!(serde_json::from_value::<Folio>(json!(7)).unwrap().value(), 7);
        for bad in [
            json!(0),
            json!(-3),
            json!("0012"),
            json!("1.5"),
            json!(1.5),
            json!("abc"),
            json!(""),
            json!(null),
            json!("99999999999"),
        ] {
            assert!(serde_json::from_value::<Folio>(bad.clone()).is_err(), "{bad}");
        }
    }
}
