//! Stripe's webhooks: the signature is verified, then the event is reduced to the payment
//! it is about. Kassa then asks Stripe where that payment stands (`settle::reconcile`)
//! rather than acting on the event's copy of the object: events can arrive late, twice or
//! out of order, and the current state is the one that counts.

use kassa_stripe::{verify_event, Event, WebhookError};
use serde_json::Value;

/// The tolerance §9 gives a signature's timestamp.
pub const TOLERANCE_SECS: i64 = 300;

/// What a Stripe event asks of Kassa.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeFact {
    /// Something happened to this PaymentIntent (authorized, declined on a reader,
    /// cancelled, captured): bring its session in line.
    Payment(String),
    /// A charge of this PaymentIntent was refunded, perhaps in Stripe's dashboard: the
    /// order shows every refund.
    Refunded(String),
    /// An event Kassa does not act on (it is still recorded).
    Ignored,
}

/// Verifies `Stripe-Signature` and names the payment the event is about.
pub fn parse_event(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(Event, StripeFact), WebhookError> {
    let event = verify_event(secret, header, body, now_unix, TOLERANCE_SECS)?;
    let fact = fact_of(&event.r#type, &event.data.object);
    Ok((event, fact))
}

/// The payment a Stripe event (its `type` and `data.object`) is about.
pub fn fact_of(kind: &str, object: &Value) -> StripeFact {
    let payment = match kind {
        "payment_intent.succeeded"
        | "payment_intent.amount_capturable_updated"
        | "payment_intent.payment_failed"
        | "payment_intent.canceled" => id_of(object.get("id")),
        "terminal.reader.action_succeeded" | "terminal.reader.action_failed" => {
            id_of(object.pointer("/action/process_payment_intent/payment_intent"))
        }
        "charge.refunded" => {
            return match id_of(object.get("payment_intent")) {
                Some(pi) => StripeFact::Refunded(pi),
                None => StripeFact::Ignored,
            }
        }
        _ => None,
    };
    payment.map_or(StripeFact::Ignored, StripeFact::Payment)
}

/// A PaymentIntent id, whether Stripe sent it as a string or as an expanded object.
fn id_of(value: Option<&Value>) -> Option<String> {
    let id = match value? {
        Value::String(id) => id.as_str(),
        Value::Object(o) => o.get("id")?.as_str()?,
        _ => return None,
    };
    id.starts_with("pi_").then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_their_payment_intent() {
        let pi = json!({"id": "pi_1", "object": "payment_intent"});
        assert_eq!(
            fact_of("payment_intent.amount_capturable_updated", &pi),
            StripeFact::Payment("pi_1".into())
        );
        let reader = json!({"id": "tmr_1", "action": {"type": "process_payment_intent",
            "process_payment_intent": {"payment_intent": {"id": "pi_2"}}}});
        assert_eq!(
            fact_of("terminal.reader.action_failed", &reader),
            StripeFact::Payment("pi_2".into())
        );
        let charge = json!({"id": "ch_1", "payment_intent": "pi_3"});
        assert_eq!(
            fact_of("charge.refunded", &charge),
            StripeFact::Refunded("pi_3".into())
        );
        assert_eq!(
            fact_of("customer.created", &json!({"id": "cus_1"})),
            StripeFact::Ignored
        );
        let odd = json!({"id": "not_a_pi"});
        assert_eq!(
            fact_of("payment_intent.succeeded", &odd),
            StripeFact::Ignored
        );
    }
}
