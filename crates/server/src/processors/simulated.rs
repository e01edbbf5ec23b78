//! The simulated processor (playground only): the device's word is the result, and orders
//! move no money. It exists so merchants can integrate without a card or a processor.

use super::{Account, Prepared, Processor, ProcessorError, ReaderClaim, ReaderInfo, Result};
use super::{CancelMode, Verdict};
use async_trait::async_trait;
use kassa_api::session::PaymentResult;
use kassa_core::entities::Location;
use kassa_core::session::{PaymentOutcome, PaymentRef, Session};

pub struct Simulated;

#[async_trait]
impl Processor for Simulated {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn connection_token(
        &self,
        _: &Account,
        _: Option<&Location>,
    ) -> Result<(String, Option<String>)> {
        Err(unsupported())
    }

    async fn prepare(&self, _: &Account, _: &Session) -> Result<Option<Prepared>> {
        Ok(None)
    }

    async fn verify(&self, _: &Account, _: &Session, result: &PaymentResult) -> Result<Verdict> {
        let outcome = result.outcome.as_deref().ok_or_else(|| {
            ProcessorError::bad("payment.outcome", "is required for the simulated processor")
        })?;
        Ok(verdict(parse_outcome("payment.outcome", outcome)?))
    }

    async fn status(&self, _: &Account, _: &Session) -> Result<Verdict> {
        Ok(Verdict::Pending(
            "the simulated processor keeps no state".into(),
        ))
    }

    async fn capture(
        &self,
        _: &Account,
        _: &PaymentRef,
        _: i64,
        _: &str,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    async fn refund(&self, _: &Account, _: &PaymentRef, _: i64, _: &str) -> Result<Option<String>> {
        Ok(None)
    }

    async fn cancel(&self, _: &Account, _: &PaymentRef, _: &str, _: CancelMode) -> Result<Verdict> {
        Ok(Verdict::Cancelled)
    }

    async fn register_reader(
        &self,
        _: &Account,
        _: &Location,
        _: &ReaderClaim,
        _: Option<&str>,
    ) -> Result<ReaderInfo> {
        Err(unsupported())
    }

    async fn present(&self, _: &Account, _: &str, _: &PaymentRef, _: &str) -> Result<()> {
        Err(unsupported())
    }

    async fn clear_reader(&self, _: &Account, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
}

fn unsupported() -> ProcessorError {
    ProcessorError::Unsupported("the simulated processor has no readers or SDK".into())
}

/// A simulated outcome as the verdict a real processor would give.
pub fn verdict(outcome: PaymentOutcome) -> Verdict {
    if outcome.is_success() {
        Verdict::Authorized { captured: false }
    } else {
        Verdict::Declined {
            outcome,
            attempt: None,
        }
    }
}

/// An outcome name of §4; `field` names it in the error.
pub fn parse_outcome(field: &str, outcome: &str) -> Result<PaymentOutcome> {
    PaymentOutcome::parse(outcome).ok_or_else(|| {
        let names: Vec<_> = PaymentOutcome::ALL.iter().map(|o| o.as_str()).collect();
        ProcessorError::bad(field, format!("must be one of {}", names.join(", ")))
    })
}
