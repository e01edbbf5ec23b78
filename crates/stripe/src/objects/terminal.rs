//! Stripe Terminal objects: connection tokens, locations, readers and a reader's action.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{expandable, expandable_opt, REDACTED};

/// A short-lived token a Terminal SDK uses to connect to readers. The secret is a
/// credential: redacted in `Debug`, never logged.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionToken {
    pub secret: String,
    /// The location the token is scoped to, if any.
    #[serde(default)]
    pub location: Option<String>,
}

impl fmt::Debug for ConnectionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionToken")
            .field("secret", &REDACTED)
            .field("location", &self.location)
            .finish()
    }
}

/// A Terminal location (`tml_…`): readers are registered to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalLocation {
    pub id: String,
    #[serde(default)]
    pub display_name: String,
}

/// A Terminal reader (`tmr_…`).
///
/// Retrieving a deleted reader answers `{"id", "object", "deleted": true}`, which parses
/// as a reader with every optional field empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reader {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    /// The location id (Stripe may send the id or the expanded location).
    #[serde(default, deserialize_with = "expandable_opt")]
    pub location: Option<String>,
    /// `online` or `offline`.
    #[serde(default)]
    pub status: Option<String>,
    /// e.g. `bbpos_wisepos_e`, `stripe_m2`, `simulated_wisepos_e`.
    #[serde(default)]
    pub device_type: Option<String>,
    /// The action the reader is performing or last performed.
    #[serde(default)]
    pub action: Option<ReaderAction>,
}

/// What a reader was asked to do, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReaderAction {
    /// `process_payment_intent`, `process_setup_intent`, `refund_payment`, `set_reader_display`.
    pub r#type: String,
    /// `in_progress`, `succeeded` or `failed`.
    pub status: String,
    #[serde(default)]
    pub failure_code: Option<String>,
    #[serde(default)]
    pub failure_message: Option<String>,
    #[serde(default)]
    pub process_payment_intent: Option<ProcessPaymentIntentAction>,
}

/// The details of a `process_payment_intent` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessPaymentIntentAction {
    /// The PaymentIntent id (Stripe may send the id or the expanded intent).
    #[serde(deserialize_with = "expandable")]
    pub payment_intent: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_with_a_failed_process_action_and_expanded_intent() {
        let body = r#"{"id":"tmr_1","object":"terminal.reader","label":"Till 1","location":"tml_1",
            "status":"online","device_type":"bbpos_wisepos_e","serial_number":"123","livemode":false,
            "action":{"type":"process_payment_intent","status":"failed","failure_code":"card_declined",
            "failure_message":"Declined","process_payment_intent":{"payment_intent":{"id":"pi_1","object":"payment_intent"}}}}"#;
        let reader: Reader = serde_json::from_str(body).unwrap();
        let action = reader.action.unwrap();
        assert_eq!(
            (action.r#type.as_str(), action.status.as_str()),
            ("process_payment_intent", "failed")
        );
        assert_eq!(action.failure_code.as_deref(), Some("card_declined"));
        assert_eq!(
            action.process_payment_intent.unwrap().payment_intent,
            "pi_1"
        );
        assert_eq!(reader.location.as_deref(), Some("tml_1"));
    }

    #[test]
    fn reader_with_null_action_expanded_location_and_unknown_device() {
        let body = r#"{"id":"tmr_2","label":null,"location":{"id":"tml_2","display_name":"Shop"},
            "status":null,"device_type":"some_future_reader","action":null}"#;
        let reader: Reader = serde_json::from_str(body).unwrap();
        assert_eq!(reader.location.as_deref(), Some("tml_2"));
        assert_eq!(reader.device_type.as_deref(), Some("some_future_reader"));
        assert!(reader.action.is_none() && reader.label.is_none() && reader.status.is_none());
    }

    #[test]
    fn deleted_reader_parses_with_empty_fields() {
        let reader: Reader =
            serde_json::from_str(r#"{"id":"tmr_3","object":"terminal.reader","deleted":true}"#)
                .unwrap();
        assert_eq!(reader.id, "tmr_3");
        assert!(reader.status.is_none());
    }

    #[test]
    fn connection_token_debug_redacts_the_secret() {
        let token: ConnectionToken = serde_json::from_str(
            r#"{"object":"terminal.connection_token","secret":"pst_test_SHHH"}"#,
        )
        .unwrap();
        assert_eq!(token.secret, "pst_test_SHHH");
        let shown = format!("{token:?}");
        assert!(!shown.contains("SHHH"), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
    }
}
