//! [`Error`], what one Stripe call can end in, and [`ApiErrorObject`], Stripe's own error
//! body. Also the parsing of error answers and the scrubbing of decode messages.
//!
//! No variant ever carries the secret key or an object's body: answers can contain
//! `client_secret`s and connection-token secrets, so decode failures keep serde's
//! description of *what* was wrong and drop quoted values.

use serde::{Deserialize, Serialize};

/// Stripe's error object (`{"error": {…}}` in an error answer, and a PaymentIntent's
/// `last_payment_error`). Every field is optional so an odd body still parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorObject {
    /// `api_error`, `card_error`, `idempotency_error` or `invalid_request_error`.
    #[serde(default)]
    pub r#type: Option<String>,
    /// Machine-readable reason, e.g. `resource_missing`, `terminal_reader_busy`.
    #[serde(default)]
    pub code: Option<String>,
    /// The issuer's reason for a card decline, e.g. `insufficient_funds`.
    #[serde(default)]
    pub decline_code: Option<String>,
    /// Human-readable, for logs; never shown to shoppers verbatim.
    #[serde(default)]
    pub message: Option<String>,
    /// The request parameter the error is about, if any.
    #[serde(default)]
    pub param: Option<String>,
}

impl ApiErrorObject {
    /// One line for `Display`: type, code, decline code and message when present.
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (label, value) in [
            ("type", &self.r#type),
            ("code", &self.code),
            ("decline_code", &self.decline_code),
            ("param", &self.param),
        ] {
            if let Some(value) = value {
                parts.push(format!("{label}={value}"));
            }
        }
        if let Some(message) = &self.message {
            parts.push(format!("message={message:?}"));
        }
        parts.join(" ")
    }
}

/// What a Stripe call can end in besides the expected object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Stripe answered with its error body: `{"error": {type, code, decline_code, message, param}}`.
    #[error("Stripe answered HTTP {status}: {} (request {})", error.summary(), request_id.as_deref().unwrap_or("unknown"))]
    Api {
        status: u16,
        error: ApiErrorObject,
        /// The `Request-Id` header: quote it to Stripe support.
        request_id: Option<String>,
        /// The `Stripe-Should-Retry` header, when Stripe sent one.
        should_retry: Option<bool>,
    },
    /// No answer within the timeout (after retries).
    #[error("Stripe did not answer within the timeout")]
    Timeout,
    /// Could not connect, or the connection broke (after retries).
    #[error("could not reach Stripe: {0}")]
    Network(String),
    /// A 2xx answer that is not the expected object.
    #[error("unexpected answer from Stripe: {0}")]
    Decode(String),
    /// Bad configuration or call options (base URL, header values). Never includes the key.
    #[error("bad Stripe client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `error.code`, e.g. `payment_intent_unexpected_state`, `resource_missing`,
    /// `terminal_reader_busy`, `terminal_reader_offline`.
    pub fn code(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.code.as_deref())
    }

    /// `error.decline_code` of a card decline.
    pub fn decline_code(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.decline_code.as_deref())
    }

    /// `error.type == "card_error"`: the card was declined or could not be charged.
    pub fn is_card_error(&self) -> bool {
        self.api_error()
            .is_some_and(|e| e.r#type.as_deref() == Some("card_error"))
    }

    /// Stripe did not answer usefully and nothing is known to have changed: a timeout, a
    /// network failure, a 5xx or a 429. The caller may try again later (same idempotency
    /// key) or reconcile by retrieving the object; it must not treat this as a refusal.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Timeout | Error::Network(_) => true,
            Error::Api { status, .. } => *status >= 500 || *status == 429,
            Error::Decode(_) | Error::Config(_) => false,
        }
    }

    fn api_error(&self) -> Option<&ApiErrorObject> {
        match self {
            Error::Api { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The error object from a non-2xx body. A body that is not Stripe's JSON (a proxy's HTML
/// page, an empty 502) still yields an error object, so callers branch on one shape.
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> ApiErrorObject {
    #[derive(Deserialize)]
    struct Envelope {
        error: ApiErrorObject,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) => envelope.error,
        Err(_) => ApiErrorObject {
            message: Some(format!(
                "HTTP {status} with a body that is not a Stripe error object"
            )),
            ..ApiErrorObject::default()
        },
    }
}

/// A decode failure described without the values it saw: serde quotes the offending
/// value (`invalid type: string "pi_…_secret_…"`), which could be a secret.
pub(crate) fn decode_error(what: &str, err: &serde_json::Error) -> Error {
    Error::Decode(format!("{what}: {}", scrub_quoted(&err.to_string())))
}

/// Replaces the contents of every `"…"` with `…`; backtick-quoted field names stay.
fn scrub_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    let mut escaped = false;
    for c in message.chars() {
        if inside {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                inside = false;
                out.push_str("…\"");
            }
        } else {
            out.push(c);
            inside = c == '"';
        }
    }
    if inside {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> Error {
        Error::Api {
            status,
            error: parse_error_body(status, body.as_bytes()),
            request_id: Some("req_1".into()),
            should_retry: None,
        }
    }

    #[test]
    fn parses_a_card_decline() {
        let err = api(
            402,
            r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
                "message":"Your card has insufficient funds.","param":"","doc_url":"https://x","payment_intent":{"id":"pi_1"}}}"#,
        );
        assert_eq!(err.status(), Some(402));
        assert_eq!(err.code(), Some("card_declined"));
        assert_eq!(err.decline_code(), Some("insufficient_funds"));
        assert!(err.is_card_error());
        assert!(!err.is_unavailable());
        let shown = err.to_string();
        assert!(
            shown.contains("402") && shown.contains("insufficient_funds"),
            "{shown}"
        );
        assert!(shown.contains("req_1"), "{shown}");
    }

    #[test]
    fn parses_an_invalid_request_with_missing_fields() {
        let err = api(
            404,
            r#"{"error":{"type":"invalid_request_error","code":"resource_missing"}}"#,
        );
        assert_eq!(err.code(), Some("resource_missing"));
        assert_eq!(err.decline_code(), None);
        assert!(!err.is_card_error());
    }

    #[test]
    fn a_non_json_body_still_gives_an_api_error_with_a_generic_message() {
        let error = parse_error_body(502, b"<html>Bad gateway</html>");
        assert_eq!(error.r#type, None);
        assert!(error.message.unwrap().contains("502"));
        let error = parse_error_body(500, b"");
        assert!(error.message.is_some());
        // JSON, but not Stripe's envelope.
        assert_eq!(parse_error_body(400, br#"{"message":"x"}"#).code, None);
    }

    #[test]
    fn unavailable_means_timeout_network_5xx_or_429() {
        assert!(Error::Timeout.is_unavailable());
        assert!(Error::Network("reset".into()).is_unavailable());
        assert!(api(500, "").is_unavailable());
        assert!(api(503, "").is_unavailable());
        assert!(api(429, "").is_unavailable());
        assert!(!api(400, "").is_unavailable());
        assert!(!api(409, "").is_unavailable());
        assert!(!Error::Decode("x".into()).is_unavailable());
        assert!(!Error::Config("x".into()).is_unavailable());
        assert_eq!(Error::Timeout.status(), None);
        assert_eq!(Error::Timeout.code(), None);
    }

    #[test]
    fn decode_errors_drop_quoted_values_but_keep_field_names() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Token {
            secret: i64,
        }
        let err = serde_json::from_str::<Token>(r#"{"secret":"pst_test_TOPSECRET"}"#).unwrap_err();
        let shown = decode_error("ConnectionToken", &err).to_string();
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(
            shown.contains("ConnectionToken") && shown.contains("invalid type"),
            "{shown}"
        );

        let err = serde_json::from_str::<Token>("{}").unwrap_err();
        assert!(decode_error("T", &err).to_string().contains("`secret`"));
    }

    #[test]
    fn scrubbing_handles_escapes_and_unterminated_quotes() {
        assert_eq!(scrub_quoted(r#"a "x\"y" b"#), "a \"…\" b");
        assert_eq!(scrub_quoted(r#"a "open"#), "a \"…");
        assert_eq!(scrub_quoted("no quotes `f`"), "no quotes `f`");
    }
}
