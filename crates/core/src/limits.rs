//! The contract's input limits (API §2), each with one home: the HTTP handlers and the
//! OpenAPI attributes of the wire types both read these constants.
//!
//! The metadata limits are Stripe's, so a merchant moving tags between the two never
//! meets a map that fits one and not the other. Lengths count characters, not bytes.

use crate::entities::Metadata;
use crate::FieldError;

/// Free text (names, addresses, references) unless a field states otherwise.
pub use crate::cart::MAX_TEXT;
/// A webhook endpoint's `description`.
pub const MAX_DESCRIPTION: usize = 1000;
/// A device's `push_token` (APNs tokens are 64 hex digits, FCM ones ~160 characters; the
/// room is for formats still to come).
pub const MAX_PUSH_TOKEN: usize = 4096;
/// Keys in one `metadata` map.
pub const MAX_METADATA_KEYS: usize = 50;
/// Characters in one `metadata` key.
pub const MAX_METADATA_KEY: usize = 40;
/// Characters in one `metadata` value.
pub const MAX_METADATA_VALUE: usize = 500;

/// `Err` naming `path` when `value` is longer than `max` characters.
pub fn check_len(path: &str, value: Option<&str>, max: usize) -> Result<(), FieldError> {
    match value {
        Some(v) if v.chars().count() > max => Err(FieldError::new(
            path,
            format!("must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

/// Every broken rule of a `metadata` map, each naming its path (`metadata.<key>`). Empty
/// when the map is within the limits. Keys must not be empty: a `key:value` list filter
/// could not name one.
pub fn check_metadata(path: &str, metadata: &Metadata) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if metadata.len() > MAX_METADATA_KEYS {
        errors.push(FieldError::new(
            path,
            format!(
                "must have at most {MAX_METADATA_KEYS} keys, got {}",
                metadata.len()
            ),
        ));
    }
    for (key, value) in metadata {
        let len = key.chars().count();
        if len == 0 || len > MAX_METADATA_KEY {
            errors.push(FieldError::new(
                path,
                format!("keys must be 1 to {MAX_METADATA_KEY} characters, got {key:?}"),
            ));
        }
        if let Err(e) = check_len(&format!("{path}.{key}"), Some(value), MAX_METADATA_VALUE) {
            errors.push(e);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Metadata {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn metadata_at_the_limits_passes() {
        let mut m: Metadata = (0..MAX_METADATA_KEYS)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        m.insert("k".repeat(MAX_METADATA_KEY), "é".repeat(MAX_METADATA_VALUE));
        m.remove("k0");
        assert_eq!(check_metadata("metadata", &m), vec![]);
    }

    #[test]
    fn metadata_over_the_limits_names_the_field() {
        let long_value = "v".repeat(MAX_METADATA_VALUE + 1);
        let long_key = "k".repeat(MAX_METADATA_KEY + 1);
        let errors = check_metadata("metadata", &map(&[("a", &long_value), (&long_key, "x")]));
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["metadata.a", "metadata"]);
        assert!(errors[1].message.contains("1 to 40"), "{errors:?}");

        let too_many: Metadata = (0..=MAX_METADATA_KEYS)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        let errors = check_metadata("metadata", &too_many);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("at most 50 keys"));
        assert_eq!(check_metadata("metadata", &map(&[("", "x")])).len(), 1);
    }

    #[test]
    fn text_counts_characters() {
        assert!(check_len("name", Some(&"å".repeat(MAX_TEXT)), MAX_TEXT).is_ok());
        let err = check_len("name", Some(&"a".repeat(MAX_TEXT + 1)), MAX_TEXT).unwrap_err();
        assert_eq!(err.to_string(), "name: must be at most 255 characters");
        assert!(check_len("name", None, MAX_TEXT).is_ok());
    }
}
