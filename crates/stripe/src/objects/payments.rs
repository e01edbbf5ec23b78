//! Money objects: PaymentIntent (and its status), Refund, and Charge (which Kassa only
//! reads from `charge.refunded` webhooks).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{expandable_opt, null_default, List, REDACTED};
use crate::error::ApiErrorObject;

/// A PaymentIntent (`pi_…`): the amount Kassa asks a card-present reader to collect.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub amount: i64,
    /// Authorised and not yet captured (Kassa creates intents with `capture_method=manual`).
    #[serde(default, deserialize_with = "null_default")]
    pub amount_capturable: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub amount_received: i64,
    /// Lower-case ISO code, as Stripe sends it.
    pub currency: String,
    pub status: PaymentIntentStatus,
    #[serde(default, deserialize_with = "null_default")]
    pub capture_method: String,
    /// Lets a client confirm the intent; redacted in `Debug`, never logged.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// Why the last attempt failed (e.g. a decline), cleared by a new attempt.
    #[serde(default)]
    pub last_payment_error: Option<ApiErrorObject>,
    /// The latest charge's id (Stripe may send the id or the expanded charge).
    #[serde(default, deserialize_with = "expandable_opt")]
    pub latest_charge: Option<String>,
    #[serde(default)]
    pub livemode: bool,
}

impl fmt::Debug for PaymentIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentIntent")
            .field("id", &self.id)
            .field("amount", &self.amount)
            .field("amount_capturable", &self.amount_capturable)
            .field("amount_received", &self.amount_received)
            .field("currency", &self.currency)
            .field("status", &self.status)
            .field("capture_method", &self.capture_method)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| REDACTED),
            )
            .field("metadata", &self.metadata)
            .field("last_payment_error", &self.last_payment_error)
            .field("latest_charge", &self.latest_charge)
            .field("livemode", &self.livemode)
            .finish()
    }
}

/// A PaymentIntent's status. Stripe may add statuses without a version bump, so an
/// unknown one is kept verbatim in [`PaymentIntentStatus::Other`] instead of failing the
/// whole object (callers should treat `Other` as "not settled; retrieve again later").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
    /// A status this client does not know, as Stripe spelled it.
    Other(String),
}

impl PaymentIntentStatus {
    /// The wire name (`requires_capture`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresConfirmation => "requires_confirmation",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::RequiresCapture => "requires_capture",
            Self::Canceled => "canceled",
            Self::Succeeded => "succeeded",
            Self::Other(other) => other,
        }
    }
}

impl From<String> for PaymentIntentStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "requires_payment_method" => Self::RequiresPaymentMethod,
            "requires_confirmation" => Self::RequiresConfirmation,
            "requires_action" => Self::RequiresAction,
            "processing" => Self::Processing,
            "requires_capture" => Self::RequiresCapture,
            "canceled" => Self::Canceled,
            "succeeded" => Self::Succeeded,
            _ => Self::Other(value),
        }
    }
}

impl From<PaymentIntentStatus> for String {
    fn from(value: PaymentIntentStatus) -> Self {
        match value {
            PaymentIntentStatus::Other(other) => other,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for PaymentIntentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Refund (`re_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    /// `pending`, `succeeded`, `failed`, `canceled` or `requires_action`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "expandable_opt")]
    pub payment_intent: Option<String>,
    #[serde(default, deserialize_with = "expandable_opt")]
    pub charge: Option<String>,
    /// Set when `status` is `failed` (e.g. `expired_or_canceled_card`).
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// A Charge (`ch_…`), as carried by `charge.refunded` webhook events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub amount_refunded: i64,
    #[serde(default, deserialize_with = "expandable_opt")]
    pub payment_intent: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub refunded: bool,
    /// The first page of the charge's refunds (absent unless included or expanded).
    #[serde(default)]
    pub refunds: Option<List<Refund>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(status: &str) -> String {
        format!(
            r#"{{"id":"pi_1","object":"payment_intent","amount":1099,"amount_capturable":1099,"amount_received":0,
                "currency":"eur","status":"{status}","capture_method":"manual","client_secret":"pi_1_secret_SHHH",
                "metadata":{{"kassa_session_id":"ses_1"}},"last_payment_error":null,"latest_charge":{{"id":"ch_1","object":"charge"}},
                "livemode":false,"brand_new_field":{{"x":1}}}}"#
        )
    }

    #[test]
    fn every_known_status_round_trips_by_its_wire_name() {
        for (wire, status) in [
            (
                "requires_payment_method",
                PaymentIntentStatus::RequiresPaymentMethod,
            ),
            (
                "requires_confirmation",
                PaymentIntentStatus::RequiresConfirmation,
            ),
            ("requires_action", PaymentIntentStatus::RequiresAction),
            ("processing", PaymentIntentStatus::Processing),
            ("requires_capture", PaymentIntentStatus::RequiresCapture),
            ("canceled", PaymentIntentStatus::Canceled),
            ("succeeded", PaymentIntentStatus::Succeeded),
        ] {
            let pi: PaymentIntent = serde_json::from_str(&intent(wire)).unwrap();
            assert_eq!(pi.status, status);
            assert_eq!(serde_json::to_value(&status).unwrap(), wire);
        }
    }

    #[test]
    fn an_unknown_status_is_kept_not_rejected() {
        let pi: PaymentIntent = serde_json::from_str(&intent("requires_reauthorization")).unwrap();
        assert_eq!(
            pi.status,
            PaymentIntentStatus::Other("requires_reauthorization".into())
        );
        assert_eq!(pi.status.to_string(), "requires_reauthorization");
        assert_eq!(
            serde_json::to_value(&pi.status).unwrap(),
            "requires_reauthorization"
        );
    }

    #[test]
    fn payment_intent_parses_expanded_charge_and_ignores_unknown_fields() {
        let pi: PaymentIntent = serde_json::from_str(&intent("requires_capture")).unwrap();
        assert_eq!(pi.amount_capturable, 1099);
        assert_eq!(pi.latest_charge.as_deref(), Some("ch_1"));
        assert_eq!(pi.metadata["kassa_session_id"], "ses_1");
        assert_eq!(pi.client_secret.as_deref(), Some("pi_1_secret_SHHH"));
    }

    #[test]
    fn payment_intent_debug_redacts_the_client_secret() {
        let pi: PaymentIntent = serde_json::from_str(&intent("succeeded")).unwrap();
        let shown = format!("{pi:?}");
        assert!(!shown.contains("SHHH"), "{shown}");
        assert!(
            shown.contains("pi_1") && shown.contains(REDACTED),
            "{shown}"
        );
    }

    #[test]
    fn payment_intent_carries_the_last_payment_error() {
        let body = r#"{"id":"pi_2","amount":500,"currency":"usd","status":"requires_payment_method",
            "capture_method":"manual","last_payment_error":{"type":"card_error","code":"card_declined",
            "decline_code":"stolen_card","message":"Your card was declined."},"latest_charge":"ch_9"}"#;
        let pi: PaymentIntent = serde_json::from_str(body).unwrap();
        let err = pi.last_payment_error.unwrap();
        assert_eq!(err.decline_code.as_deref(), Some("stolen_card"));
        assert_eq!(pi.latest_charge.as_deref(), Some("ch_9"));
        assert!(pi.metadata.is_empty() && !pi.livemode && pi.client_secret.is_none());
    }

    #[test]
    fn charge_from_a_refund_webhook_carries_its_refunds() {
        let body = r#"{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":400,
            "payment_intent":"pi_1","refunded":false,"refunds":{"object":"list","has_more":false,
            "data":[{"id":"re_1","object":"refund","amount":400,"status":"succeeded","charge":"ch_1",
            "payment_intent":{"id":"pi_1","object":"payment_intent"}}]}}"#;
        let charge: Charge = serde_json::from_str(body).unwrap();
        assert_eq!(charge.amount_refunded, 400);
        let refunds = charge.refunds.unwrap();
        assert_eq!(refunds.data.len(), 1);
        assert_eq!(refunds.data[0].payment_intent.as_deref(), Some("pi_1"));
        assert_eq!(refunds.data[0].status.as_deref(), Some("succeeded"));
    }
}
