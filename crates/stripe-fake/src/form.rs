//! Stripe's form encoding on the way in: decoded pairs in bracket notation
//! (`metadata[k]=v`, `payment_method_types[]=card_present`, `address[line1]=…`) and the
//! typed reads handlers make of them, each failing with Stripe's own message.

use crate::error::StripeError;
use std::collections::BTreeMap;

/// The decoded `key=value` pairs of one request, in the order they were sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(raw: &[u8]) -> Self {
        Self(form_urlencoded::parse(raw).into_owned().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and not empty (Stripe reads an empty value as an
    /// attempt to unset, which a required parameter refuses).
    pub fn required(&self, key: &str) -> Result<&str, StripeError> {
        match self.get(key) {
            None => Err(StripeError::missing_param(key)),
            Some("") => Err(StripeError::param_invalid(
                format!("You passed an empty string for '{key}'. We assume empty values are an attempt to unset a parameter; however '{key}' cannot be unset. You should remove '{key}' from your request or supply a non-empty value."),
                key,
            )
            .code("parameter_invalid_empty")),
            Some(v) => Ok(v),
        }
    }

    pub fn integer(&self, key: &str) -> Result<Option<i64>, StripeError> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    StripeError::param_invalid(format!("Invalid integer: {v}"), key)
                        .code("parameter_invalid_integer")
                })
            })
            .transpose()
    }

    /// An integer that, when given, is at least 1 (amounts are positive minor units).
    pub fn positive(&self, key: &str) -> Result<Option<i64>, StripeError> {
        match self.integer(key)? {
            Some(n) if n < 1 => Err(StripeError::param_invalid(
                "This value must be greater than or equal to 1.",
                key,
            )
            .code("parameter_invalid_integer")),
            other => Ok(other),
        }
    }

    /// `name[key]=value` pairs as a map; an empty `name[key]=` unsets, as on Stripe.
    pub fn map(&self, name: &str) -> BTreeMap<String, String> {
        let prefix = format!("{name}[");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix(&prefix)?.strip_suffix(']')?;
                (!key.contains('[') && !v.is_empty()).then(|| (key.to_owned(), v.clone()))
            })
            .collect()
    }

    /// `name[]=a&name[]=b` (or `name[0]=a&name[1]=b`) as a list, in the order sent.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| normalise(k) == format!("{name}[]"))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Refuses any key the fake does not understand, as Stripe refuses unknown parameters.
    ///
    /// Patterns name each accepted key in normalised form: `[]` for any list index and
    /// `[*]` for any map key, e.g. `metadata[*]`, `payment_method_types[]`, `address[line1]`.
    /// A parameter Stripe has but the fake ignores is refused too: a test relying on it would
    /// otherwise pass against the fake for the wrong reason.
    pub fn only(&self, patterns: &[&str]) -> Result<(), StripeError> {
        match self
            .0
            .iter()
            .find(|(k, _)| !patterns.iter().any(|p| matches(p, &normalise(k))))
        {
            Some((key, _)) => Err(StripeError::unknown_param(key)),
            None => Ok(()),
        }
    }
}

/// Replaces numeric list indices with `[]`, so `items[0]` and `items[]` read alike.
fn normalise(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, part) in key.split('[').enumerate() {
        if i == 0 {
            out.push_str(part);
        } else if part
            .trim_end_matches(']')
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            out.push_str("[]");
        } else {
            out.push('[');
            out.push_str(part);
        }
    }
    out
}

fn matches(pattern: &str, key: &str) -> bool {
    let p: Vec<&str> = pattern.split('[').collect();
    let k: Vec<&str> = key.split('[').collect();
    p.len() == k.len()
        && p.iter()
            .zip(&k)
            .all(|(p, k)| p == k || (*p == "*]" && *k != "]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn reads_maps_lists_and_refuses_unknown_keys() {
        let p = params(&[
            ("metadata[a]", "1"),
            ("metadata[b]", ""),
            ("payment_method_types[]", "card_present"),
            ("payment_method_types[1]", "card"),
            ("address[line1]", "Main St 1"),
        ]);
        assert_eq!(p.map("metadata").len(), 1);
        assert_eq!(p.list("payment_method_types"), ["card_present", "card"]);
        let allowed = ["metadata[*]", "payment_method_types[]", "address[line1]"];
        assert!(p.only(&allowed).is_ok());
        assert!(p.only(&["metadata[*]", "payment_method_types[]"]).is_err());
        assert!(params(&[("metadata", "x")]).only(&["metadata[*]"]).is_err());
        let e = params(&[("amount", "x")]).integer("amount").unwrap_err();
        assert_eq!(e.code, Some("parameter_invalid_integer"));
    }
}
