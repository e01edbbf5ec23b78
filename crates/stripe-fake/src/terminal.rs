//! Stripe Terminal: locations, connection tokens, registered readers, and the server-driven
//! `process_payment_intent` action a reader carries out until a card is presented.
//!
//! Chosen where Stripe's documentation is silent or vague:
//! * a busy reader (an action `in_progress`) answers 409 `terminal_reader_busy`: the request
//!   conflicts with one still running; an offline one answers 400 `terminal_reader_offline`;
//! * `cancel_action` clears the action (`action: null`, as the API reference's example shows),
//!   leaves the PaymentIntent in `requires_payment_method` and emits no event; it also
//!   succeeds on a reader with nothing to cancel, so a clean-up call is always safe;
//! * a card presented after its PaymentIntent was canceled fails the action with the
//!   PaymentIntent's error code (`intent_invalid_state`).

use crate::control::TapOutcome;
use crate::error::StripeError;
use crate::ids;
use crate::state::{Action, ActionStatus, Emitted, IntentStatus, Location, Objects, Reader, Scope};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

type Changed = Result<(Value, Vec<Emitted>), StripeError>;

#[derive(Debug, Clone)]
pub(crate) struct NewLocation {
    pub display_name: String,
    pub address: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct NewReader {
    pub registration_code: String,
    pub label: Option<String>,
    pub location: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

fn offline(reader: &Reader) -> StripeError {
    StripeError::bad_request(format!(
        "Reader {} is currently offline, please ensure the reader is powered on and connected to the internet before retrying your request.",
        reader.id
    ))
    .code("terminal_reader_offline")
}

fn reader_event(kind: &'static str, reader: &Reader) -> Emitted {
    Emitted {
        kind,
        object: reader.to_json(),
        account: reader.account.clone(),
    }
}

impl Objects {
    pub fn create_location(&mut self, account: Option<&str>, new: NewLocation) -> Changed {
        let location = Location {
            id: ids::new("tml"),
            account: account.map(str::to_owned),
            display_name: new.display_name,
            address: new.address,
            metadata: new.metadata,
        };
        let json = location.to_json();
        self.locations.insert(location.id.clone(), location);
        Ok((json, vec![]))
    }

    fn check_location(&self, scope: Scope, id: &str) -> Result<(), StripeError> {
        match self.locations.get(id) {
            Some(l) if scope.sees(&l.account) => Ok(()),
            _ => Err(StripeError::missing("terminal.location", id, "location")),
        }
    }

    pub fn connection_token(&mut self, scope: Scope, location: Option<&str>) -> Changed {
        let mut token = json!({
            "object": "terminal.connection_token",
            "secret": format!("pst_test_{}", ids::random(24)),
        });
        if let Some(location) = location {
            self.check_location(scope, location)?;
            token["location"] = json!(location);
        }
        Ok((token, vec![]))
    }

    /// Registers a reader with a code a test handed out (`add_registration_code`); a code
    /// works once, as a reader's pairing code does.
    pub fn register_reader(&mut self, account: Option<&str>, new: NewReader) -> Changed {
        if let Some(location) = &new.location {
            self.check_location(Scope::Account(account), location)?;
        }
        if !self.registration_codes.remove(&new.registration_code) {
            return Err(StripeError::invalid(
                "The registration code provided is invalid or has expired. Generate a new one on the reader and try again.",
                "registration_code",
            ));
        }
        let device_type = if new.registration_code.starts_with("simulated-") {
            "simulated_wisepos_e"
        } else {
            "bbpos_wisepos_e"
        };
        let reader = Reader {
            id: ids::new("tmr"),
            account: account.map(str::to_owned),
            label: new.label.unwrap_or(new.registration_code),
            location: new.location,
            device_type,
            serial_number: format!("WSC{}", ids::random(12).to_uppercase()),
            online: true,
            action: None,
            metadata: new.metadata,
        };
        let json = reader.to_json();
        self.readers.insert(reader.id.clone(), reader);
        Ok((json, vec![]))
    }

    pub fn reader_json(&mut self, scope: Scope, id: &str) -> Result<Value, StripeError> {
        self.reader_mut(scope, id).map(|r| r.to_json())
    }

    /// Starts collecting a card for `intent_id` on the reader.
    pub fn process_payment_intent(
        &mut self,
        scope: Scope,
        reader_id: &str,
        intent_id: &str,
    ) -> Changed {
        let reader = self.reader_mut(scope, reader_id)?;
        if !reader.online {
            return Err(offline(reader));
        }
        if reader.action.as_ref().map(|a| a.status) == Some(ActionStatus::InProgress) {
            return Err(StripeError::bad_request(format!(
                "Reader {reader_id} is currently busy processing another request. Cancel the current action or wait for it to finish before retrying."
            ))
            .code("terminal_reader_busy")
            .status(StatusCode::CONFLICT));
        }
        let intent = self
            .intents
            .get(intent_id)
            .filter(|pi| scope.sees(&pi.account))
            .ok_or_else(|| StripeError::missing("payment_intent", intent_id, "payment_intent"))?;
        if intent.status != IntentStatus::RequiresPaymentMethod {
            return Err(StripeError::invalid(
                format!("This PaymentIntent has a status of {}; a reader can only process a PaymentIntent that requires a payment method.", intent.status.as_str()),
                "payment_intent",
            )
            .code("intent_invalid_state"));
        }
        if !intent
            .payment_method_types
            .iter()
            .any(|t| t == "card_present")
        {
            return Err(StripeError::invalid(
                "A PaymentIntent processed on a reader must include card_present in payment_method_types.",
                "payment_intent",
            ));
        }
        let reader = self.reader_mut(scope, reader_id)?;
        reader.action = Some(Action {
            payment_intent: intent_id.to_owned(),
            status: ActionStatus::InProgress,
            failure: None,
        });
        Ok((reader.to_json(), vec![]))
    }

    pub fn cancel_action(&mut self, scope: Scope, reader_id: &str) -> Changed {
        let reader = self.reader_mut(scope, reader_id)?;
        if !reader.online {
            return Err(offline(reader));
        }
        reader.action = None;
        Ok((reader.to_json(), vec![]))
    }

    /// A card presented to the reader: completes its in-progress action with the issuer's
    /// answer (Stripe's `present_payment_method` test helper).
    pub fn present(&mut self, scope: Scope, reader_id: &str, outcome: TapOutcome) -> Changed {
        let reader = self.reader_mut(scope, reader_id)?;
        if !reader.online {
            return Err(offline(reader));
        }
        let Some(action) = reader
            .action
            .as_ref()
            .filter(|a| a.status == ActionStatus::InProgress)
        else {
            return Err(StripeError::bad_request(format!(
                "Reader {reader_id} has no in-progress action to present a payment method to."
            )));
        };
        let intent_id = action.payment_intent.clone();
        let account = reader.account.clone();
        let collected = self.collect(Scope::Account(account.as_deref()), &intent_id, outcome);
        let (failure, intent_events) = match collected {
            Ok(done) => done,
            Err(e) => (
                Some((e.code.unwrap_or("api_error").to_owned(), e.message)),
                vec![],
            ),
        };
        let reader = self.reader_mut(scope, reader_id)?;
        let kind = match failure {
            None => "terminal.reader.action_succeeded",
            Some(_) => "terminal.reader.action_failed",
        };
        reader.action = Some(Action {
            payment_intent: intent_id,
            status: if failure.is_none() {
                ActionStatus::Succeeded
            } else {
                ActionStatus::Failed
            },
            failure,
        });
        let mut events = vec![reader_event(kind, reader)];
        events.extend(intent_events);
        Ok((reader.to_json(), events))
    }

    pub fn set_reader_online(&mut self, reader_id: &str, online: bool) -> Result<(), StripeError> {
        self.reader_mut(Scope::Test, reader_id)?.online = online;
        Ok(())
    }
}
