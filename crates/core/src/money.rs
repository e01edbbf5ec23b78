//! Money is `i64` minor units plus an ISO 4217 currency. There are no floats anywhere.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// ISO 4217 codes that are not a currency: "no currency" and "for testing".
const NOT_MONEY: [&str; 2] = ["XXX", "XTS"];

/// An ISO 4217 alpha-3 code that the standard lists. Exists only when valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Upper-case only: the contract says codes are upper case, and accepting `sek` would make
    /// two spellings of one value appear in merchants' data. `XXX` ("no currency") and `XTS`
    /// (reserved for testing) are listed by ISO 4217 but name no money anyone can pay with.
    pub fn parse(code: &str) -> Result<Self, FieldError> {
        let known = (code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()))
            .then(|| iso_currency::Currency::from_code(code))
            .flatten()
            .filter(|_| !NOT_MONEY.contains(&code));
        known.map(Self).ok_or_else(|| {
            FieldError::new(
                "purchase_currency",
                format!("must be an ISO 4217 currency code, got {code:?}"),
            )
        })
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (SEK 2, JPY 0), for formatting on the POS.
    pub fn exponent(&self) -> u16 {
        self.0.exponent().unwrap_or(0)
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).map_err(|e| e.message)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_parse() {
        for code in ["SEK", "EUR", "USD", "JPY", "NOK"] {
            assert_eq!(Currency::parse(code).unwrap().code(), code);
        }
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("SEK").unwrap().exponent(), 2);
    }

    #[test]
    fn unknown_or_lowercase_codes_fail() {
        for code in ["sek", "XXQ", "", "EURO", "SE", "XXX", "XTS"] {
            let err = Currency::parse(code).unwrap_err();
            assert_eq!(err.path, "purchase_currency");
        }
    }
}
