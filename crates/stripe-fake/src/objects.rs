//! Rendering the fake's objects as Stripe's JSON, field for field as in Stripe's example
//! objects (fixtures3-2023-08-16.json) for API version 2023-08-16.
//!
//! Fields the fake has no use for are present with Stripe's empty value (`null`, `{}`), so a
//! client that reads them sees what it would see from Stripe. Fields that version does not
//! have (`last_seen_at` on readers, for one) are left out: the spec checker flags them.

use crate::state::{ActionStatus, Charge, Intent, Location, Objects, Reader, Refund};
use serde_json::{json, Value};

impl Intent {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": self.amount_capturable,
            "amount_details": { "tip": {} },
            "amount_received": self.amount_received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": null,
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": self.capture_method,
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": null,
            "description": self.description,
            "invoice": null,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": null,
            "on_behalf_of": null,
            "payment_method": self.payment_method,
            "payment_method_options": {},
            "payment_method_types": self.payment_method_types,
            "processing": null,
            "receipt_email": null,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": self.status.as_str(),
            "transfer_data": null,
            "transfer_group": null,
        })
    }
}

impl Refund {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": null,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "metadata": self.metadata,
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": "succeeded",
            "transfer_reversal": null,
        })
    }
}

impl Objects {
    /// A charge with its refunds listed inline (the `refunds` list Kassa reads from the
    /// `charge.refunded` event).
    pub fn charge_json(&self, charge: &Charge) -> Value {
        let refunds: Vec<Value> = charge
            .refunds
            .iter()
            .filter_map(|id| self.refunds.get(id))
            .map(Refund::to_json)
            .collect();
        let approved = charge.failure.is_none();
        let outcome = match &charge.failure {
            None => json!({
                "network_status": "approved_by_network",
                "reason": null,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            }),
            Some(f) => json!({
                "network_status": "declined_by_network",
                "reason": f.decline_code,
                "risk_level": "normal",
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            }),
        };
        let (failure_code, failure_message) =
            charge.failure.as_ref().map(|f| (f.code, f.message)).unzip();
        let refunded = charge.captured && charge.amount_refunded >= charge.amount_captured;
        let status = if approved { "succeeded" } else { "failed" };
        let refunds_url = format!("/v1/charges/{}/refunds", charge.id);
        let charge_json = json!({
            "id": charge.id,
            "object": "charge",
            "amount": charge.amount,
            "amount_captured": charge.amount_captured,
            "amount_refunded": charge.amount_refunded,
            "billing_details": no_billing_details(),
            "captured": charge.captured,
            "created": charge.created,
            "currency": charge.currency,
            "disputed": false,
            "failure_code": failure_code,
            "failure_message": failure_message,
            "fraud_details": {},
            "livemode": false,
            "metadata": {},
            "outcome": outcome,
            "paid": approved,
            "payment_intent": charge.payment_intent,
            "payment_method": charge.payment_method,
            "payment_method_details": card_present(charge),
            "refunded": refunded,
            "refunds": {
                "object": "list",
                "data": refunds,
                "has_more": false,
                "url": refunds_url,
            },
            "status": status,
        });
        with_nulls(
            charge_json,
            &[
                "application",
                "application_fee",
                "application_fee_amount",
                "balance_transaction",
                "calculated_statement_descriptor",
                "customer",
                "description",
                "failure_balance_transaction",
                "invoice",
                "on_behalf_of",
                "receipt_email",
                "receipt_number",
                "receipt_url",
                "review",
                "shipping",
                "source_transfer",
                "statement_descriptor",
                "statement_descriptor_suffix",
                "transfer_data",
                "transfer_group",
            ],
        )
    }
}

impl Location {
    pub fn to_json(&self) -> Value {
        let field = |name: &str| self.address.get(name);
        json!({
            "id": self.id,
            "object": "terminal.location",
            "address": {
                "city": field("city"),
                "country": field("country"),
                "line1": field("line1"),
                "line2": field("line2"),
                "postal_code": field("postal_code"),
                "state": field("state"),
            },
            "display_name": self.display_name,
            "livemode": false,
            "metadata": self.metadata,
        })
    }
}

impl Reader {
    pub fn to_json(&self) -> Value {
        let action = self.action.as_ref().map(|a| {
            let (code, message) = a.failure.clone().unzip();
            json!({
                "type": "process_payment_intent",
                "status": match a.status {
                    ActionStatus::InProgress => "in_progress",
                    ActionStatus::Succeeded => "succeeded",
                    ActionStatus::Failed => "failed",
                },
                "failure_code": code,
                "failure_message": message,
                "process_payment_intent": { "payment_intent": a.payment_intent },
            })
        });
        json!({
            "id": self.id,
            "object": "terminal.reader",
            "action": action,
            "device_sw_version": null,
            "device_type": self.device_type,
            "ip_address": "192.168.2.2",
            "label": self.label,
            "livemode": false,
            "location": self.location,
            "metadata": self.metadata,
            "serial_number": self.serial_number,
            "status": if self.online { "online" } else { "offline" },
        })
    }
}

/// What a tapped card reveals: a Visa test card read contactless.
fn card_present(charge: &Charge) -> Value {
    let approved = charge.failure.is_none();
    json!({
        "type": "card_present",
        "card_present": {
            "amount_authorized": if approved { Some(charge.amount) } else { None },
            "brand": "visa",
            "cardholder_name": null,
            "country": "US",
            "emv_auth_data": null,
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": null,
            "funding": "credit",
            "generated_card": null,
            "incremental_authorization_supported": false,
            "last4": charge.last4,
            "network": "visa",
            "overcapture_supported": false,
            "read_method": "contactless_emv",
            "receipt": null,
        },
    })
}

/// A card-present charge carries no billing details, but Stripe still sends the shape.
fn no_billing_details() -> Value {
    json!({
        "address": {
            "city": null, "country": null, "line1": null,
            "line2": null, "postal_code": null, "state": null,
        },
        "email": null,
        "name": null,
        "phone": null,
    })
}

/// Adds the fields Stripe sends as `null` when they do not apply, keeping the `json!`
/// literals short enough for the macro and readable.
fn with_nulls(mut object: Value, names: &[&str]) -> Value {
    if let Value::Object(fields) = &mut object {
        for name in names {
            fields.insert((*name).to_owned(), Value::Null);
        }
    }
    object
}
