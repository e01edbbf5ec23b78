//! Payment processors. A card result is never trusted from the device: each processor's
//! adapter turns what the device sent into a verified outcome. The built-in `simulated`
//! processor exists only in playground mode.

use super::error::ApiError;
use kassa_api::session::PaymentResult;
use kassa_core::session::PaymentOutcome;

/// Verifies a device's payment result with the processor that produced it.
pub fn verify(payment: &PaymentResult, playground: bool) -> Result<PaymentOutcome, ApiError> {
    match payment.processor.as_str() {
        "simulated" if playground => simulated(payment),
        "simulated" => Err(ApiError::field(
            "payment.processor",
            "the simulated processor is available in playground mode only",
        )),
        other => Err(ApiError::field(
            "payment.processor",
            format!("unknown processor {other:?}; this server accepts \"simulated\""),
        )),
    }
}

fn simulated(payment: &PaymentResult) -> Result<PaymentOutcome, ApiError> {
    let outcome = payment.outcome.as_deref().ok_or_else(|| {
        ApiError::field("payment.outcome", "is required for the simulated processor")
    })?;
    parse_outcome("payment.outcome", outcome)
}

pub fn parse_outcome(path: &str, outcome: &str) -> Result<PaymentOutcome, ApiError> {
    PaymentOutcome::parse(outcome).ok_or_else(|| {
        let names: Vec<_> = PaymentOutcome::ALL.iter().map(|o| o.as_str()).collect();
        ApiError::field(path, format!("must be one of {}", names.join(", ")))
    })
}
