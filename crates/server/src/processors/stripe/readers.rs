//! Stripe Terminal: locations mirrored from Kassa's, connection tokens for the phones'
//! SDK, and smart readers that Kassa drives from the server.

use super::{failed, message, StripeProcessor, NAME};
use crate::processors::{Account, ProcessorError, ReaderClaim, ReaderInfo, Result};
use kassa_core::entities::Location;
use kassa_core::session::PaymentRef;
use kassa_stripe::CreateLocation;
use sha2::{Digest, Sha256};

/// A connection token for the device's Terminal SDK, scoped to the Stripe location that
/// mirrors the device's location (so the SDK only finds that location's readers), and that
/// location's id, which Tap to Pay and Bluetooth readers connect with.
pub async fn connection_token(
    p: &StripeProcessor,
    acct: &Account,
    location: Option<&Location>,
) -> Result<(String, Option<String>)> {
    let mirror = match location {
        Some(location) => Some(mirror(p, acct, location).await?),
        None => None,
    };
    // Tokens move no money; a fresh key per request lets each one be new.
    let key = format!("kassa-ct-{}", uuid::Uuid::new_v4());
    let call = StripeProcessor::call(acct, Some(&key));
    let token = p
        .client()
        .create_connection_token(&call, mirror.as_deref())
        .await
        .map_err(|e| failed("a connection token", e))?;
    Ok((token.secret, mirror))
}

/// The Stripe location that mirrors this Kassa location, created on first use from its name
/// and address. Two nodes creating it at once get the same one: the idempotency key is the
/// location's, and the store keeps the first id saved.
pub async fn mirror(p: &StripeProcessor, acct: &Account, location: &Location) -> Result<String> {
    if let Some(id) = p.store.processor_location(location.id, NAME).await? {
        return Ok(id);
    }
    let country = location.country.clone().ok_or_else(|| {
        ProcessorError::bad(
            "location_id",
            "the location needs a country (ISO 3166 alpha-2) before Stripe can place readers there",
        )
    })?;
    let params = CreateLocation {
        display_name: location.name.clone(),
        line1: location
            .street_address
            .clone()
            .unwrap_or_else(|| location.name.clone()),
        line2: location.street_address2.clone(),
        city: location.city.clone(),
        postal_code: location.postal_code.clone(),
        country,
        metadata: vec![("kassa_location_id".into(), location.id.to_string())],
    };
    let key = format!("kassa-location-{}", location.id);
    let call = StripeProcessor::call(acct, Some(&key));
    let created = p
        .client()
        .create_location(&call, &params)
        .await
        .map_err(|e| match e.status() {
            Some(400) => ProcessorError::bad("location_id", format!("Stripe: {}", message(&e))),
            _ => failed("the location", e),
        })?;
    let now = chrono::Utc::now();
    Ok(p.store
        .save_processor_location(location.id, NAME, &created.id, now)
        .await?)
}

/// Registers a reader by its code at the location's mirror, or adopts one already
/// registered (`tmr_…`) after checking that this account has it.
pub async fn register(
    p: &StripeProcessor,
    acct: &Account,
    location: &Location,
    claim: &ReaderClaim,
    label: Option<&str>,
) -> Result<ReaderInfo> {
    let reader = match claim {
        ReaderClaim::Code(code) => {
            let mirror = mirror(p, acct, location).await?;
            let digest = hex::encode(Sha256::digest(code.as_bytes()));
            let key = format!("kassa-reader-{}-{}", location.id, &digest[..16]);
            let call = StripeProcessor::call(acct, Some(&key));
            p.client()
                .create_reader(&call, code, label, &mirror)
                .await
                .map_err(|e| match e.status() {
                    Some(400 | 404) => ProcessorError::bad(
                        "registration_code",
                        format!("Stripe did not accept the code: {}", message(&e)),
                    ),
                    _ => failed("registering the reader", e),
                })?
        }
        ReaderClaim::Existing(id) => {
            if !id.starts_with("tmr_") || id.len() > 255 {
                return Err(ProcessorError::bad(
                    "reader_id",
                    "must be a Stripe reader id (tmr_…)",
                ));
            }
            let call = StripeProcessor::call(acct, None);
            p.client()
                .retrieve_reader(&call, id)
                .await
                .map_err(|e| match e.code() {
                    Some("resource_missing") => {
                        ProcessorError::bad("reader_id", "no such reader at Stripe")
                    }
                    _ => failed("reading the reader", e),
                })?
        }
    };
    Ok(ReaderInfo {
        id: reader.id,
        label: reader.label,
    })
}

/// Asks the reader to collect the PaymentIntent. §9: a busy reader is `409 DEVICE_BUSY`,
/// an offline one `409 NOT_ALLOWED` "reader offline".
pub async fn present(
    p: &StripeProcessor,
    acct: &Account,
    reader: &str,
    payment: &PaymentRef,
    key: &str,
) -> Result<()> {
    let call = StripeProcessor::call(acct, Some(key));
    p.client()
        .process_payment_intent(&call, reader, &payment.reference)
        .await
        .map_err(|e| match e.code() {
            Some("terminal_reader_busy") => ProcessorError::ReaderBusy,
            Some("terminal_reader_offline") => {
                ProcessorError::NotAllowed("reader offline: Stripe cannot reach the reader".into())
            }
            Some("terminal_reader_timeout") => {
                ProcessorError::Unavailable("the reader did not answer Stripe in time".into())
            }
            _ => failed("presenting the payment on the reader", e),
        })?;
    Ok(())
}

/// Cancels whatever the reader is doing. A reader with nothing to cancel is fine.
pub async fn clear(p: &StripeProcessor, acct: &Account, reader: &str, key: &str) -> Result<()> {
    let call = StripeProcessor::call(acct, Some(key));
    match p.client().cancel_reader_action(&call, reader).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_unavailable() => Err(failed("clearing the reader", e)),
        // Nothing in progress, or the action already finished: nothing to clear.
        Err(_) => Ok(()),
    }
}
