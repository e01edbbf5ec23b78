//! One method per Stripe endpoint Kassa uses, each building its form body. Parameter names
//! and values follow Stripe's OpenAPI description for [`crate::STRIPE_VERSION`].

use crate::client::Client;
use crate::config::Call;
use crate::error::Error;
use crate::form::Form;
use crate::objects::{ConnectionToken, PaymentIntent, Reader, Refund, TerminalLocation};

/// Parameters of a card-present PaymentIntent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreatePaymentIntent {
    /// In the currency's smallest unit.
    pub amount: i64,
    /// ISO code in any case; sent lower-case, as Stripe requires.
    pub currency: String,
    pub metadata: Vec<(String, String)>,
    pub description: Option<String>,
}

/// Parameters of a Terminal location. Stripe requires only `address[country]` of the
/// address; Kassa also always sends `line1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateLocation {
    pub display_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// Two-letter country code.
    pub country: String,
    pub metadata: Vec<(String, String)>,
}

impl Client {
    /// `POST /v1/terminal/connection_tokens`, scoped to `location` when given.
    pub async fn create_connection_token(
        &self,
        call: &Call,
        location: Option<&str>,
    ) -> Result<ConnectionToken, Error> {
        let form = Form::new().opt("location", location);
        self.post(call, "/v1/terminal/connection_tokens", form)
            .await
    }

    /// `POST /v1/payment_intents`: a manual-capture, card-present intent. Manual capture
    /// because Kassa confirms the sale (and may capture less) only after the reader succeeds.
    pub async fn create_payment_intent(
        &self,
        call: &Call,
        params: &CreatePaymentIntent,
    ) -> Result<PaymentIntent, Error> {
        let form = Form::new()
            .field("amount", params.amount)
            .field("currency", params.currency.to_ascii_lowercase())
            .list("payment_method_types", ["card_present"])
            .field("capture_method", "manual")
            .map("metadata", pairs(&params.metadata))
            .opt("description", params.description.as_deref());
        self.post(call, "/v1/payment_intents", form).await
    }

    /// `GET /v1/payment_intents/{id}`.
    pub async fn retrieve_payment_intent(
        &self,
        call: &Call,
        id: &str,
    ) -> Result<PaymentIntent, Error> {
        self.get(call, &format!("/v1/payment_intents/{}", segment(id)))
            .await
    }

    /// `POST /v1/payment_intents/{id}/capture`, of `amount_to_capture` or everything
    /// capturable; Stripe releases the rest of the authorisation.
    pub async fn capture_payment_intent(
        &self,
        call: &Call,
        id: &str,
        amount_to_capture: Option<i64>,
    ) -> Result<PaymentIntent, Error> {
        let form = Form::new().opt("amount_to_capture", amount_to_capture);
        let path = format!("/v1/payment_intents/{}/capture", segment(id));
        self.post(call, &path, form).await
    }

    /// `POST /v1/payment_intents/{id}/cancel`.
    pub async fn cancel_payment_intent(
        &self,
        call: &Call,
        id: &str,
    ) -> Result<PaymentIntent, Error> {
        let path = format!("/v1/payment_intents/{}/cancel", segment(id));
        self.post(call, &path, Form::new()).await
    }

    /// `POST /v1/refunds` of `amount` from the intent's charge.
    pub async fn create_refund(
        &self,
        call: &Call,
        payment_intent: &str,
        amount: i64,
        metadata: &[(&str, &str)],
    ) -> Result<Refund, Error> {
        let form = Form::new()
            .field("payment_intent", payment_intent)
            .field("amount", amount)
            .map("metadata", metadata.iter().copied());
        self.post(call, "/v1/refunds", form).await
    }

    /// `GET /v1/refunds?payment_intent=…&limit=100`: the intent's refunds, newest first,
    /// however they were made (Kassa, the dashboard). One page: a card payment with more
    /// than 100 refunds is not a case Kassa meets.
    pub async fn list_refunds(
        &self,
        call: &Call,
        payment_intent: &str,
    ) -> Result<crate::objects::List<Refund>, Error> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("payment_intent", payment_intent)
            .append_pair("limit", "100")
            .finish();
        self.get(call, &format!("/v1/refunds?{query}")).await
    }

    /// `POST /v1/terminal/locations`.
    pub async fn create_location(
        &self,
        call: &Call,
        params: &CreateLocation,
    ) -> Result<TerminalLocation, Error> {
        let form = Form::new()
            .field("display_name", &params.display_name)
            .nested("address", "line1", &params.line1)
            .nested_opt("address", "line2", params.line2.as_deref())
            .nested_opt("address", "city", params.city.as_deref())
            .nested_opt("address", "postal_code", params.postal_code.as_deref())
            .nested("address", "country", &params.country)
            .map("metadata", pairs(&params.metadata));
        self.post(call, "/v1/terminal/locations", form).await
    }

    /// `POST /v1/terminal/readers`: registers a reader by the code it displays.
    pub async fn create_reader(
        &self,
        call: &Call,
        registration_code: &str,
        label: Option<&str>,
        location: &str,
    ) -> Result<Reader, Error> {
        let form = Form::new()
            .field("registration_code", registration_code)
            .opt("label", label)
            .field("location", location);
        self.post(call, "/v1/terminal/readers", form).await
    }

    /// `GET /v1/terminal/readers/{id}`.
    pub async fn retrieve_reader(&self, call: &Call, id: &str) -> Result<Reader, Error> {
        self.get(call, &format!("/v1/terminal/readers/{}", segment(id)))
            .await
    }

    /// `POST /v1/terminal/readers/{reader}/process_payment_intent`: the reader starts
    /// collecting the card; the outcome arrives later on the reader's `action`.
    pub async fn process_payment_intent(
        &self,
        call: &Call,
        reader: &str,
        payment_intent: &str,
    ) -> Result<Reader, Error> {
        let form = Form::new().field("payment_intent", payment_intent);
        let path = format!(
            "/v1/terminal/readers/{}/process_payment_intent",
            segment(reader)
        );
        self.post(call, &path, form).await
    }

    /// `POST /v1/terminal/readers/{reader}/cancel_action`.
    pub async fn cancel_reader_action(&self, call: &Call, reader: &str) -> Result<Reader, Error> {
        let path = format!("/v1/terminal/readers/{}/cancel_action", segment(reader));
        self.post(call, &path, Form::new()).await
    }
}

fn pairs(entries: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Percent-encodes an id for use as one path segment. Ids come from our callers (and,
/// through them, from devices); without this an id like `x/../../v1/refunds` would
/// address a different endpoint with our key.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(segment("pi_3Nx-AbC~9"), "pi_3Nx-AbC~9");
        assert_eq!(segment("x/../refunds"), "x%2F%2E%2E%2Frefunds");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
        assert_eq!(segment("é"), "%C3%A9");
    }
}
