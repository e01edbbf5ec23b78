//! The PaymentIntent, Charge and Refund state machine: which change is allowed from which
//! status, what it does to the amounts, and which events it emits.
//!
//! Events emitted are the ones Kassa's webhook endpoint subscribes to:
//! `payment_intent.amount_capturable_updated`, `.succeeded`, `.payment_failed`, `.canceled`
//! and `charge.refunded` (Stripe sends only the types an endpoint enabled, so the others it
//! would also produce, like `charge.succeeded`, are not emitted).

use crate::cards;
use crate::control::TapOutcome;
use crate::error::StripeError;
use crate::ids;
use crate::state::{
    ActionFailure, Charge, Emitted, Failure, Intent, IntentStatus, Objects, Refund, Scope,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// A PaymentIntent as `POST /v1/payment_intents` asks for it, already parsed.
#[derive(Debug, Clone)]
pub(crate) struct NewIntent {
    pub amount: i64,
    pub currency: String,
    pub capture_method: String,
    pub payment_method_types: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    pub description: Option<String>,
}

/// What `POST /v1/refunds` names: a PaymentIntent or one of its charges.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RefundOf<'a> {
    PaymentIntent(&'a str),
    Charge(&'a str),
}

type Changed = Result<(Value, Vec<Emitted>), StripeError>;

fn event(kind: &'static str, intent: &Intent) -> Emitted {
    Emitted {
        kind,
        object: intent.to_json(),
        account: intent.account.clone(),
    }
}

/// Stripe's `payment_intent_unexpected_state`, with the PaymentIntent attached as Stripe does.
fn unexpected_state(intent: &Intent, verb: &str, allowed: &str) -> StripeError {
    StripeError::bad_request(format!(
        "This PaymentIntent could not be {verb} because it has a status of {}. Only a PaymentIntent with one of the following statuses may be {verb}: {allowed}.",
        intent.status.as_str()
    ))
    .code("payment_intent_unexpected_state")
    .with_intent(intent.to_json())
}

impl Objects {
    pub fn create_intent(&mut self, account: Option<&str>, new: NewIntent) -> Changed {
        let id = ids::new("pi");
        let intent = Intent {
            client_secret: format!("{id}_secret_{}", ids::random(25)),
            id: id.clone(),
            account: account.map(str::to_owned),
            created: ids::now(),
            amount: new.amount,
            currency: new.currency,
            capture_method: new.capture_method,
            payment_method_types: new.payment_method_types,
            metadata: new.metadata,
            description: new.description,
            status: IntentStatus::RequiresPaymentMethod,
            amount_capturable: 0,
            amount_received: 0,
            latest_charge: None,
            payment_method: None,
            last_payment_error: None,
            canceled_at: None,
            cancellation_reason: None,
        };
        let json = intent.to_json();
        self.intents.insert(id, intent);
        Ok((json, vec![]))
    }

    /// Captures `amount` (default: all of `amount_capturable`). Chosen, as Stripe documents
    /// for a partial capture: the rest is released, `amount_capturable` drops to 0, and the
    /// released part is not reported as a refund, so refunds are limited to what was captured.
    pub fn capture(&mut self, scope: Scope, id: &str, amount: Option<i64>) -> Changed {
        let intent = self.intent_mut(scope, id)?;
        if intent.status != IntentStatus::RequiresCapture {
            return Err(unexpected_state(intent, "captured", "requires_capture"));
        }
        let amount = amount.unwrap_or(intent.amount_capturable);
        if amount > intent.amount_capturable {
            return Err(StripeError::invalid(
                format!("The amount_to_capture ({amount}) must be less than or equal to the PaymentIntent's amount_capturable ({}).", intent.amount_capturable),
                "amount_to_capture",
            )
            .code("amount_too_large"));
        }
        intent.status = IntentStatus::Succeeded;
        intent.amount_capturable = 0;
        intent.amount_received = amount;
        let (intent_json, events) = (
            intent.to_json(),
            vec![event("payment_intent.succeeded", intent)],
        );
        if let Some(charge) = intent
            .latest_charge
            .clone()
            .and_then(|c| self.charges.get_mut(&c))
        {
            charge.captured = true;
            charge.amount_captured = amount;
        }
        Ok((intent_json, events))
    }

    pub fn cancel(&mut self, scope: Scope, id: &str, reason: Option<String>) -> Changed {
        let intent = self.intent_mut(scope, id)?;
        match intent.status {
            IntentStatus::RequiresPaymentMethod | IntentStatus::RequiresCapture => {}
            IntentStatus::Succeeded | IntentStatus::Canceled => {
                return Err(unexpected_state(
                    intent,
                    "canceled",
                    "requires_payment_method, requires_capture, requires_confirmation, requires_action, processing",
                ))
            }
        }
        intent.status = IntentStatus::Canceled;
        intent.amount_capturable = 0;
        intent.canceled_at = Some(ids::now());
        intent.cancellation_reason = reason;
        Ok((
            intent.to_json(),
            vec![event("payment_intent.canceled", intent)],
        ))
    }

    /// A card presented for the PaymentIntent (tapped on a phone, or on a reader): the issuer
    /// approves or declines, and a charge records the attempt either way.
    ///
    /// Approved: a manual-capture intent waits in `requires_capture`; an automatic one
    /// succeeds at once. Declined: the intent goes back to `requires_payment_method` with
    /// `last_payment_error`. Returns the decline as `(code, message)` for the reader action.
    pub fn collect(
        &mut self,
        scope: Scope,
        id: &str,
        outcome: TapOutcome,
    ) -> Result<(Option<ActionFailure>, Vec<Emitted>), StripeError> {
        let intent = self.intent_mut(scope, id)?;
        if intent.status != IntentStatus::RequiresPaymentMethod {
            return Err(StripeError::invalid(
                format!(
                    "This PaymentIntent has a status of {}; a payment method can only be collected while it is requires_payment_method.",
                    intent.status.as_str()
                ),
                "payment_intent",
            )
            .code("intent_invalid_state"));
        }
        let charge_id = ids::new("ch");
        let payment_method = ids::new("pm");
        let failure = match outcome {
            TapOutcome::Approve => None,
            TapOutcome::Decline(decline_code) => {
                let (code, message) = cards::decline(decline_code);
                Some(Failure {
                    code,
                    decline_code: decline_code.to_owned(),
                    message,
                })
            }
        };
        intent.latest_charge = Some(charge_id.clone());
        let automatic = intent.capture_method != "manual";
        let events = match &failure {
            None if automatic => {
                intent.status = IntentStatus::Succeeded;
                intent.amount_received = intent.amount;
                intent.payment_method = Some(payment_method.clone());
                intent.last_payment_error = None;
                vec![event("payment_intent.succeeded", intent)]
            }
            None => {
                intent.status = IntentStatus::RequiresCapture;
                intent.amount_capturable = intent.amount;
                intent.payment_method = Some(payment_method.clone());
                intent.last_payment_error = None;
                vec![event("payment_intent.amount_capturable_updated", intent)]
            }
            Some(f) => {
                let mut error = StripeError::card_error(f.code, f.message, &f.decline_code).inner();
                error["charge"] = Value::from(charge_id.clone());
                // Stripe detaches a declined payment method from the intent.
                intent.payment_method = None;
                intent.status = IntentStatus::RequiresPaymentMethod;
                intent.last_payment_error = Some(error);
                vec![event("payment_intent.payment_failed", intent)]
            }
        };
        let charge = Charge {
            id: charge_id.clone(),
            account: intent.account.clone(),
            created: ids::now(),
            amount: intent.amount,
            currency: intent.currency.clone(),
            payment_intent: intent.id.clone(),
            payment_method,
            last4: cards::last4_of(outcome),
            captured: failure.is_none() && automatic,
            amount_captured: if failure.is_none() && automatic {
                intent.amount
            } else {
                0
            },
            amount_refunded: 0,
            refunds: vec![],
            failure,
        };
        let declined = charge
            .failure
            .as_ref()
            .map(|f| (f.code.to_owned(), f.message.to_owned()));
        self.charges.insert(charge_id, charge);
        Ok((declined, events))
    }

    /// Refunds part or all (the default: everything not yet refunded) of a succeeded payment.
    ///
    /// Chosen: only a `succeeded` PaymentIntent can be refunded (an uncaptured one is
    /// canceled instead), and a refund succeeds at once, as card refunds do in test mode.
    pub fn refund(
        &mut self,
        scope: Scope,
        of: RefundOf,
        amount: Option<i64>,
        metadata: BTreeMap<String, String>,
        reason: Option<String>,
    ) -> Changed {
        let intent_id = match of {
            RefundOf::PaymentIntent(id) => self
                .intents
                .get(id)
                .filter(|pi| scope.sees(&pi.account))
                .map(|pi| pi.id.clone())
                .ok_or_else(|| StripeError::missing("payment_intent", id, "payment_intent"))?,
            RefundOf::Charge(id) => self
                .charges
                .get(id)
                .filter(|ch| scope.sees(&ch.account))
                .map(|ch| ch.payment_intent.clone())
                .ok_or_else(|| StripeError::missing("charge", id, "charge"))?,
        };
        let intent = self.intent_mut(scope, &intent_id)?;
        if intent.status != IntentStatus::Succeeded {
            return Err(StripeError::invalid(
                format!("This PaymentIntent ({}) does not have a successful charge to refund: its status is {}.", intent.id, intent.status.as_str()),
                "payment_intent",
            )
            .code("payment_intent_unexpected_state")
            .with_intent(intent.to_json()));
        }
        let charge_id = intent.latest_charge.clone().unwrap_or_default();
        let Some(charge) = self.charges.get_mut(&charge_id) else {
            return Err(StripeError::missing("charge", &charge_id, "charge"));
        };
        let unrefunded = charge.amount_captured - charge.amount_refunded;
        if unrefunded == 0 {
            return Err(StripeError::invalid(
                format!("Charge {charge_id} has already been refunded."),
                "charge",
            )
            .code("charge_already_refunded"));
        }
        let amount = amount.unwrap_or(unrefunded);
        if amount > unrefunded {
            return Err(StripeError::invalid(
                format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({unrefunded})"),
                "amount",
            )
            .code("amount_too_large"));
        }
        let refund = Refund {
            id: ids::new("re"),
            created: ids::now(),
            amount,
            currency: charge.currency.clone(),
            charge: charge_id.clone(),
            payment_intent: intent_id,
            metadata,
            reason,
        };
        charge.amount_refunded += amount;
        charge.refunds.push(refund.id.clone());
        let account = charge.account.clone();
        let json = refund.to_json();
        self.refunds.insert(refund.id.clone(), refund);
        let charge = &self.charges[&charge_id];
        let refunded = Emitted {
            kind: "charge.refunded",
            object: self.charge_json(charge),
            account,
        };
        Ok((json, vec![refunded]))
    }
}
