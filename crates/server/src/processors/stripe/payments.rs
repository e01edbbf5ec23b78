//! PaymentIntents: one per session, created at PUT …/payment (or at a reader session's
//! create), verified at finalize, captured, refunded and cancelled.

use super::{failed, message, StripeProcessor, NAME};
use crate::processors::{Account, CancelMode, Prepared, ProcessorError, Result, Verdict};
use kassa_api::session::PaymentResult;
use kassa_core::session::{PaymentOutcome, PaymentRef, Session};
use kassa_stripe::{CreatePaymentIntent, PaymentIntent, PaymentIntentStatus};

/// The metadata key that ties a PaymentIntent to its session.
pub const SESSION_KEY: &str = "kassa_session_id";

/// Creates the session's PaymentIntent, or gets the same one back: the idempotency key is
/// the session's, so a repeated PUT …/payment (or a retry) never makes a second one.
pub async fn prepare(p: &StripeProcessor, acct: &Account, session: &Session) -> Result<Prepared> {
    let mut metadata = vec![
        (SESSION_KEY.to_string(), session.id.to_string()),
        (
            "kassa_merchant_id".to_string(),
            session.merchant_id.to_string(),
        ),
    ];
    if let Some(reference) = &session.merchant_reference1 {
        metadata.push(("merchant_reference1".into(), reference.clone()));
    }
    let params = CreatePaymentIntent {
        amount: session.cart.order_amount(),
        currency: session.cart.currency().code().to_lowercase(),
        metadata,
        description: Some(format!("Kassa session {}", session.id)),
    };
    let key = format!("kassa-pi-{}", session.id);
    let call = StripeProcessor::call(acct, Some(&key));
    let intent = p
        .client()
        .create_payment_intent(&call, &params)
        .await
        .map_err(|e| failed("the PaymentIntent", e))?;
    Ok(Prepared {
        payment: PaymentRef {
            processor: NAME.into(),
            reference: intent.id,
        },
        client_secret: intent.client_secret,
    })
}

/// Verifies the PaymentIntent a device names: it must be this session's own, for its
/// amount and currency. Anything else is `400` on `payment.reference`.
pub async fn verify(
    p: &StripeProcessor,
    acct: &Account,
    session: &Session,
    result: &PaymentResult,
) -> Result<Verdict> {
    let reference = result
        .reference
        .as_deref()
        .ok_or_else(|| ProcessorError::bad("payment.reference", "is required for stripe"))?;
    if !reference.starts_with("pi_") || reference.len() > 255 {
        return Err(ProcessorError::bad(
            "payment.reference",
            "must be a Stripe PaymentIntent id (pi_…)",
        ));
    }
    if let Some(own) = &session.payment {
        if own.reference != reference {
            return Err(not_this_sessions());
        }
    }
    let intent = retrieve(p, acct, reference).await?;
    check_belongs(&intent, session)?;
    Ok(verdict(&intent))
}

/// Where the session's own PaymentIntent stands now.
pub async fn status(p: &StripeProcessor, acct: &Account, session: &Session) -> Result<Verdict> {
    let Some(payment) = &session.payment else {
        return Ok(Verdict::Pending("no payment yet".into()));
    };
    let intent = retrieve(p, acct, &payment.reference).await?;
    check_belongs(&intent, session)?;
    Ok(verdict(&intent))
}

async fn retrieve(p: &StripeProcessor, acct: &Account, id: &str) -> Result<PaymentIntent> {
    let call = StripeProcessor::call(acct, None);
    p.client()
        .retrieve_payment_intent(&call, id)
        .await
        .map_err(|e| match e.code() {
            Some("resource_missing") => {
                ProcessorError::bad("payment.reference", "no such PaymentIntent at Stripe")
            }
            _ => failed("reading the PaymentIntent", e),
        })
}

fn not_this_sessions() -> ProcessorError {
    ProcessorError::bad("payment.reference", "is not this session's PaymentIntent")
}

/// The PaymentIntent is this session's, for exactly what the session asks.
fn check_belongs(intent: &PaymentIntent, session: &Session) -> Result<()> {
    let own = intent.metadata.get(SESSION_KEY).map(String::as_str);
    if own != Some(session.id.to_string().as_str()) {
        return Err(not_this_sessions());
    }
    let amount = session.cart.order_amount();
    if intent.amount != amount {
        return Err(ProcessorError::bad(
            "payment.reference",
            format!(
                "the PaymentIntent is for {} but the session for {amount}",
                intent.amount
            ),
        ));
    }
    let currency = session.cart.currency().code().to_lowercase();
    if intent.currency.to_lowercase() != currency {
        return Err(ProcessorError::bad(
            "payment.reference",
            format!(
                "the PaymentIntent is in {} but the session in {currency}",
                intent.currency
            ),
        ));
    }
    Ok(())
}

/// §9: what a PaymentIntent's status means for the session.
pub fn verdict(intent: &PaymentIntent) -> Verdict {
    match &intent.status {
        PaymentIntentStatus::RequiresCapture => Verdict::Authorized { captured: false },
        PaymentIntentStatus::Succeeded => Verdict::Authorized { captured: true },
        PaymentIntentStatus::Canceled => Verdict::Cancelled,
        PaymentIntentStatus::RequiresPaymentMethod => match &intent.last_payment_error {
            Some(error) => Verdict::Declined {
                outcome: decline_outcome(error.decline_code.as_deref().or(error.code.as_deref())),
                attempt: intent.latest_charge.clone(),
            },
            None => Verdict::Pending("requires_payment_method".into()),
        },
        other => Verdict::Pending(other.as_str().to_string()),
    }
}

/// Stripe's decline code as §4's outcome name: upper-cased when it is one
/// (`insufficient_funds` → `INSUFFICIENT_FUNDS`), `generic_decline` → `DECLINED_GENERIC`,
/// anything else `DECLINED_GENERIC`.
pub fn decline_outcome(code: Option<&str>) -> PaymentOutcome {
    let Some(code) = code else {
        return PaymentOutcome::DeclinedGeneric;
    };
    match PaymentOutcome::parse(&code.to_uppercase()) {
        Some(outcome) if !outcome.is_success() => outcome,
        _ => PaymentOutcome::DeclinedGeneric,
    }
}

pub async fn capture(
    p: &StripeProcessor,
    acct: &Account,
    payment: &PaymentRef,
    amount: i64,
    key: &str,
) -> Result<Option<String>> {
    let call = StripeProcessor::call(acct, Some(key));
    let intent = p
        .client()
        .capture_payment_intent(&call, &payment.reference, Some(amount))
        .await
        .map_err(|e| match e.code() {
            Some("payment_intent_unexpected_state") => ProcessorError::NotAllowed(format!(
                "Stripe captures a payment once; {} cannot be captured: {}",
                payment.reference,
                message(&e)
            )),
            _ => failed("the capture", e),
        })?;
    match intent.status {
        PaymentIntentStatus::Succeeded => Ok(Some(intent.id)),
        other => Err(ProcessorError::Unavailable(format!(
            "Stripe answered the capture with status {}",
            other.as_str()
        ))),
    }
}

pub async fn refund(
    p: &StripeProcessor,
    acct: &Account,
    payment: &PaymentRef,
    amount: i64,
    key: &str,
) -> Result<Option<String>> {
    let call = StripeProcessor::call(acct, Some(key));
    let refund = p
        .client()
        .create_refund(&call, &payment.reference, amount, &[])
        .await
        .map_err(|e| failed("the refund", e))?;
    match refund.status.as_deref() {
        Some("failed" | "canceled") => Err(ProcessorError::NotAllowed(format!(
            "Stripe did not refund: {}",
            refund.failure_reason.as_deref().unwrap_or("refund failed")
        ))),
        _ => Ok(Some(refund.id)),
    }
}

/// Cancels the PaymentIntent. A session's cancel first reads it: one the card already
/// authorized is reported, not cancelled (the customer paid; §9 finalizes the session). If
/// Stripe says it is past cancelling, it is read again to tell the caller what it is.
pub async fn cancel(
    p: &StripeProcessor,
    acct: &Account,
    payment: &PaymentRef,
    key: &str,
    mode: CancelMode,
) -> Result<Verdict> {
    if mode == CancelMode::UnlessAuthorized {
        let now = verdict(&retrieve(p, acct, &payment.reference).await?);
        if matches!(now, Verdict::Authorized { .. } | Verdict::Cancelled) {
            return Ok(now);
        }
    }
    let call = StripeProcessor::call(acct, Some(key));
    match p
        .client()
        .cancel_payment_intent(&call, &payment.reference)
        .await
    {
        Ok(intent) => Ok(verdict(&intent)),
        Err(e) if e.code() == Some("payment_intent_unexpected_state") => {
            let intent = retrieve(p, acct, &payment.reference).await?;
            Ok(verdict(&intent))
        }
        Err(e) => Err(failed("cancelling the PaymentIntent", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::cart::{Cart, CartInput, ItemType, LineItem};
    use kassa_core::session::NewSession;
    use kassa_core::{DeviceId, MerchantId, SessionId};
    use serde_json::json;

    fn session(amount: i64) -> Session {
        let item = LineItem {
            kind: ItemType::Physical,
            reference: None,
            name: "Tea".into(),
            quantity: 1,
            unit_price: amount,
            total_amount: amount,
            tax_rate: 0,
            total_discount_amount: 0,
            total_tax_amount: 0,
        };
        let cart = Cart::new(CartInput {
            order_amount: amount,
            order_tax_amount: None,
            purchase_currency: "SEK".into(),
            items: vec![item],
        })
        .unwrap();
        let new = NewSession {
            id: SessionId::new(),
            merchant_id: MerchantId::new(),
            device_id: DeviceId::new(),
            location_id: None,
            cart,
            purchase_started_at: None,
            merchant_reference1: None,
            merchant_reference2: None,
            ttl: chrono::Duration::minutes(5),
            auto_capture: true,
        };
        kassa_core::machine::create(new, chrono::Utc::now()).0
    }

    fn intent(session: &Session, amount: i64, currency: &str, status: &str) -> PaymentIntent {
        serde_json::from_value(json!({
            "id": "pi_1", "object": "payment_intent", "amount": amount, "amount_capturable": 0,
            "amount_received": 0, "currency": currency, "status": status,
            "capture_method": "manual", "livemode": false,
            "metadata": {"kassa_session_id": session.id.to_string()},
        }))
        .unwrap()
    }

    #[test]
    fn only_the_sessions_own_payment_for_its_amount_and_currency_counts() {
        let s = session(500);
        assert_eq!(
            check_belongs(&intent(&s, 500, "sek", "requires_capture"), &s),
            Ok(())
        );
        assert_eq!(
            check_belongs(&intent(&s, 500, "SEK", "requires_capture"), &s),
            Ok(())
        );
        for (amount, currency) in [(499, "sek"), (501, "sek"), (500, "nok")] {
            let err = check_belongs(&intent(&s, amount, currency, "requires_capture"), &s);
            assert!(
                matches!(&err, Err(ProcessorError::BadValue { field, .. }) if field == "payment.reference"),
                "{amount} {currency}: {err:?}"
            );
        }
        let other = session(500);
        let err = check_belongs(&intent(&other, 500, "sek", "succeeded"), &s);
        assert_eq!(err, Err(not_this_sessions()));
    }

    #[test]
    fn statuses_mean_what_section_9_says() {
        let s = session(500);
        let v = |status: &str| verdict(&intent(&s, 500, "sek", status));
        assert_eq!(
            v("requires_capture"),
            Verdict::Authorized { captured: false }
        );
        assert_eq!(v("succeeded"), Verdict::Authorized { captured: true });
        assert_eq!(v("canceled"), Verdict::Cancelled);
        assert_eq!(
            v("requires_payment_method"),
            Verdict::Pending("requires_payment_method".into())
        );
        assert_eq!(v("processing"), Verdict::Pending("processing".into()));
        let mut declined = intent(&s, 500, "sek", "requires_payment_method");
        declined.last_payment_error = serde_json::from_value(json!({
            "type": "card_error", "code": "card_declined", "decline_code": "stolen_card"}))
        .unwrap();
        declined.latest_charge = Some("ch_1".into());
        let want = Verdict::Declined {
            outcome: PaymentOutcome::StolenCard,
            attempt: Some("ch_1".into()),
        };
        assert_eq!(verdict(&declined), want);
    }

    #[test]
    fn decline_codes_map_to_the_contracts_outcome_names() {
        use PaymentOutcome as O;
        let cases = [
            (Some("insufficient_funds"), O::InsufficientFunds),
            (Some("generic_decline"), O::DeclinedGeneric),
            (Some("lost_card"), O::LostCard),
            (Some("stolen_card"), O::StolenCard),
            (Some("expired_card"), O::ExpiredCard),
            (Some("incorrect_cvc"), O::IncorrectCvc),
            (Some("processing_error"), O::ProcessingError),
            (Some("incorrect_number"), O::IncorrectNumber),
            (Some("card_velocity_exceeded"), O::CardVelocityExceeded),
            (Some("do_not_honor"), O::DeclinedGeneric),
            (Some("success"), O::DeclinedGeneric),
            (None, O::DeclinedGeneric),
        ];
        for (code, want) in cases {
            assert_eq!(decline_outcome(code), want, "{code:?}");
        }
    }
}
