//! Typed identifiers. A `SessionId` cannot be passed where a `DeviceId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id, so ids sort by creation and index well.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

uuid_id!(
    /// A merchant (tenant). Every other object belongs to exactly one.
    MerchantId,
    /// A merchant's store or site.
    LocationId,
    /// A paired POS device.
    DeviceId,
    /// A one-time pairing code record.
    EnrollmentId,
    /// A payment session.
    SessionId,
    /// The order a finalized session creates.
    OrderId,
    /// A payment attempt, chosen by the device so that a retried call is recognised.
    AttemptId,
    /// A capture or refund on an order.
    OrderOperationId,
    /// A merchant's API key record (not the key itself).
    ApiKeyId,
    /// A merchant's webhook endpoint.
    WebhookEndpointId,
);

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Event ids are `kevt_` + 22 base62 characters (about 131 bits), as the contract requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// Builds an id from 128 random bits supplied by the caller (the core has no entropy source).
    pub fn from_random(mut bits: u128) -> Self {
        let mut s = String::with_capacity(27);
        s.push_str("kevt_");
        for _ in 0..22 {
            s.push(BASE62[(bits % 62) as usize] as char);
            bits /= 62;
        }
        Self(s)
    }

    /// Accepts only the documented shape, so a bad cursor is a `400`, not a silent miss.
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix("kevt_")?;
        let ok = rest.len() == 22 && rest.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_has_contract_shape() {
        for bits in [0u128, 1, u128::MAX, 0xdead_beef] {
            let id = EventId::from_random(bits);
            assert_eq!(id.as_str().len(), 27);
            assert_eq!(EventId::parse(id.as_str()), Some(id));
        }
    }

    #[test]
    fn event_id_parse_rejects_other_shapes() {
        assert!(EventId::parse("kevt_short").is_none());
        assert!(EventId::parse("evt_0123456789012345678901").is_none());
        assert!(EventId::parse("kevt_012345678901234567890!").is_none());
    }

    #[test]
    fn v7_ids_sort_by_creation() {
        let a = SessionId::new();
        let b = SessionId::new();
        assert!(a < b);
    }
}
