//! The Stripe objects Kassa reads, as of [`crate::STRIPE_VERSION`].
//!
//! Deserialisation is lenient on purpose: unknown fields are ignored, fields Stripe may
//! omit or send as `null` default, and fields Stripe can "expand" from an id into a whole
//! object accept either form. Stripe adds fields and enum values without a version bump;
//! a new one must not turn a successful payment into a decode error.
//! `Debug` impls redact secrets (`client_secret`, connection-token `secret`).

mod payments;
mod terminal;

pub use payments::{Charge, PaymentIntent, PaymentIntentStatus, Refund};
pub use terminal::{
    ConnectionToken, ProcessPaymentIntentAction, Reader, ReaderAction, TerminalLocation,
};

use serde::{Deserialize, Deserializer, Serialize};

/// A page of a Stripe list (`{"object": "list", "data": […], "has_more": …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// What a `Debug` impl prints instead of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// An expandable field: Stripe sends the id (`"ch_…"`) or, when expanded, the object.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdOrObject {
    Id(String),
    Object { id: String },
}

impl From<IdOrObject> for String {
    fn from(value: IdOrObject) -> Self {
        match value {
            IdOrObject::Id(id) | IdOrObject::Object { id } => id,
        }
    }
}

/// For `#[serde(deserialize_with)]` on an optional expandable field: null, id or object.
pub(crate) fn expandable_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<IdOrObject>::deserialize(d)?.map(String::from))
}

/// For `#[serde(deserialize_with)]` on a required expandable field: id or object.
pub(crate) fn expandable<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(IdOrObject::deserialize(d)?.into())
}

/// For `#[serde(default, deserialize_with)]`: treats `null` like an absent field.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "expandable_opt")]
        charge: Option<String>,
        #[serde(deserialize_with = "expandable")]
        intent: String,
        #[serde(default, deserialize_with = "null_default")]
        count: i64,
    }

    #[test]
    fn expandable_fields_accept_an_id_an_object_or_null() {
        let h: Holder =
            serde_json::from_str(r#"{"charge":"ch_1","intent":"pi_1","count":3}"#).unwrap();
        assert_eq!(
            (h.charge.as_deref(), h.intent.as_str(), h.count),
            (Some("ch_1"), "pi_1", 3)
        );

        let h: Holder = serde_json::from_str(
            r#"{"charge":{"id":"ch_2","object":"charge","amount":5},"intent":{"id":"pi_2","status":"succeeded"},"count":null}"#,
        )
        .unwrap();
        assert_eq!(
            (h.charge.as_deref(), h.intent.as_str(), h.count),
            (Some("ch_2"), "pi_2", 0)
        );

        let h: Holder = serde_json::from_str(r#"{"charge":null,"intent":"pi_3"}"#).unwrap();
        assert_eq!(h.charge, None);
        assert!(
            serde_json::from_str::<Holder>(r#"{"intent":{"object":"payment_intent"}}"#).is_err()
        );
    }

    #[test]
    fn list_defaults_when_fields_are_missing() {
        let list: List<String> =
            serde_json::from_str(r#"{"object":"list","url":"/v1/x"}"#).unwrap();
        assert!(list.data.is_empty() && !list.has_more);
    }
}
