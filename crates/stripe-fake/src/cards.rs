//! Stripe's test cards and what an issuer's decline looks like: the one table that turns a
//! card number or a decline code into the outcome, error code and message Stripe reports.

use crate::control::TapOutcome;

/// Stripe's documented test card numbers and the outcome each one produces.
const CARDS: &[(&str, TapOutcome)] = &[
    ("4242424242424242", TapOutcome::Approve),
    ("4000000000000002", TapOutcome::Decline("generic_decline")),
    (
        "4000000000009995",
        TapOutcome::Decline("insufficient_funds"),
    ),
    ("4000000000009987", TapOutcome::Decline("lost_card")),
    ("4000000000009979", TapOutcome::Decline("stolen_card")),
    ("4000000000000069", TapOutcome::Decline("expired_card")),
    ("4000000000000127", TapOutcome::Decline("incorrect_cvc")),
    ("4000000000000119", TapOutcome::Decline("processing_error")),
];

/// The outcome of presenting `number`.
///
/// Chosen: a number that is not one of Stripe's decline test cards is approved, as any
/// other valid test number is on Stripe.
pub(crate) fn outcome_of(number: Option<&str>) -> TapOutcome {
    number
        .and_then(|n| CARDS.iter().find(|(card, _)| *card == n))
        .map_or(TapOutcome::Approve, |(_, outcome)| *outcome)
}

/// The last four digits of the test card that produces `outcome`.
pub(crate) fn last4_of(outcome: TapOutcome) -> &'static str {
    CARDS
        .iter()
        .find(|(_, o)| *o == outcome)
        .map_or("0000", |(number, _)| &number[number.len() - 4..])
}

/// How Stripe reports a decline: `(code, message)` for a `decline_code`.
///
/// Most declines carry `code: card_declined` and the issuer's reason in `decline_code`; a few
/// reasons have a code of their own. Lost and stolen cards get the generic message on purpose:
/// Stripe does not tell the customer that the card was reported.
pub(crate) fn decline(decline_code: &str) -> (&'static str, &'static str) {
    match decline_code {
        "insufficient_funds" => ("card_declined", "Your card has insufficient funds."),
        "expired_card" => ("expired_card", "Your card has expired."),
        "incorrect_cvc" => ("incorrect_cvc", "Your card's security code is incorrect."),
        "processing_error" => (
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        _ => ("card_declined", "Your card was declined."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_outcomes_and_back() {
        assert_eq!(
            outcome_of(Some("4000000000009995")),
            TapOutcome::Decline("insufficient_funds")
        );
        assert_eq!(outcome_of(None), TapOutcome::Approve);
        assert_eq!(last4_of(TapOutcome::Decline("generic_decline")), "0002");
        assert_eq!(last4_of(TapOutcome::Approve), "4242");
        assert_eq!(decline("lost_card").0, "card_declined");
    }
}
