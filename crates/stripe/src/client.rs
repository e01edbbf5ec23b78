//! The transport: one [`Client`] holding a pooled `reqwest::Client` with the fixed headers,
//! the retry loop around each call, and the mapping of answers to objects or [`Error`].
//! The endpoint methods live in `calls`; this module knows nothing about resources.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;

use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT,
};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::config::{Call, StripeConfig};
use crate::error::{decode_error, parse_error_body, Error};
use crate::form::Form;
use crate::{retry, STRIPE_VERSION};

const KASSA_USER_AGENT: &str = concat!("kassa/", env!("CARGO_PKG_VERSION"));
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// A Stripe API client. Cheap to clone (the connection pool is shared); build one per
/// secret key and pass [`Call`] options per request.
///
/// Retries: GETs, and POSTs carrying an idempotency key, are repeated up to
/// `max_retries` times on timeouts, connection failures, 5xx, 429 and 409 `lock_timeout`,
/// with jittered exponential backoff; `Stripe-Should-Retry` overrides that guess. A POST
/// without a key is never repeated on a timeout (it may have been applied), so callers
/// should give every POST a key.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// Carries the `Authorization`, `Stripe-Version` and `User-Agent` headers.
    http: reqwest::Client,
    /// `api_base` without its trailing slash; paths start with `/v1/`.
    base: String,
    max_retries: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_base", &self.inner.base)
            .field("max_retries", &self.inner.max_retries)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Checks the config and builds the HTTP client. Fails on a base URL that is not
    /// http(s), an empty key or one that cannot be a header value, and a live key over
    /// plain http to anything but this machine (it would cross the network in clear; a
    /// loopback fake or proxy never leaves the host).
    pub fn new(config: StripeConfig) -> Result<Self, Error> {
        let base = config.api_base.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| Error::Config(format!("api_base {base:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(Error::Config(format!(
                "api_base {base:?} must be an http(s) URL with a host"
            )));
        }
        if config.secret_key.trim().is_empty() {
            return Err(Error::Config("the secret key is empty".into()));
        }
        let live = ["sk_live_", "rk_live_"]
            .iter()
            .any(|p| config.secret_key.starts_with(p));
        if live && url.scheme() != "https" && !is_loopback(&url) {
            return Err(Error::Config(format!(
                "a live secret key must only be sent over https, not to {base:?}"
            )));
        }

        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.secret_key))
            .map_err(|_| Error::Config("the secret key is not a valid header value".into()))?;
        // Marks the value so reqwest/hyper never print it (Debug, HTTP/2 HPACK indexing).
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert("stripe-version", HeaderValue::from_static(STRIPE_VERSION));
        headers.insert(USER_AGENT, HeaderValue::from_static(KASSA_USER_AGENT));

        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                max_retries: config.max_retries,
            }),
        })
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        call: &Call,
        path: &str,
    ) -> Result<T, Error> {
        self.execute(Method::GET, call, path, None).await
    }

    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        call: &Call,
        path: &str,
        form: Form,
    ) -> Result<T, Error> {
        self.execute(Method::POST, call, path, Some(form.encode()))
            .await
    }

    /// Sends the request, retrying where [`retry::should_retry`] allows, with the same
    /// headers (so the same idempotency key) on every attempt.
    #[tracing::instrument(name = "stripe", skip_all, fields(http.method = %method, stripe.path = path))]
    async fn execute<T: DeserializeOwned>(
        &self,
        method: Method,
        call: &Call,
        path: &str,
        body: Option<String>,
    ) -> Result<T, Error> {
        let is_get = method == Method::GET;
        if !is_get && call.idempotency_key.is_none() {
            tracing::warn!(
                "POST without an idempotency key: retried only if Stripe says it is safe"
            );
        }
        let idempotent = retry::is_idempotent(is_get, call.idempotency_key.is_some());
        let headers = call_headers(call, is_get)?;
        let url = format!("{}{path}", self.inner.base);

        let mut retries = 0;
        loop {
            let result = self
                .attempt(&method, &url, &headers, body.as_deref(), path)
                .await;
            match result {
                Err(err)
                    if retries < self.inner.max_retries
                        && retry::should_retry(&err, idempotent) =>
                {
                    retries += 1;
                    let delay = retry::backoff(retries, rand::random::<f64>());
                    tracing::info!(retry = retries, delay_ms = delay.as_millis() as u64, error = %err, "retrying Stripe request");
                    tokio::time::sleep(delay).await;
                }
                result => return result,
            }
        }
    }

    /// One HTTP exchange. Bodies are never logged: they can hold client secrets.
    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<&str>,
        path: &str,
    ) -> Result<T, Error> {
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .headers(headers.clone());
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
                .body(body.to_owned());
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let request_id = header_str(response.headers(), "request-id").map(str::to_owned);
        let should_retry = match header_str(response.headers(), "stripe-should-retry") {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        let bytes = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(
            status,
            request_id = request_id.as_deref(),
            "Stripe answered"
        );

        if (200..300).contains(&status) {
            serde_json::from_slice(&bytes)
                .map_err(|e| decode_error(&format!("{method} {path}"), &e))
        } else {
            Err(Error::Api {
                status,
                error: parse_error_body(status, &bytes),
                request_id,
                should_retry,
            })
        }
    }
}

/// `Stripe-Account` and (on POSTs) `Idempotency-Key`, checked once per call.
fn call_headers(call: &Call, is_get: bool) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::Config(format!("{name} is not a valid header value")))?;
        headers.insert(HeaderName::from_static(name), value);
        Ok::<(), Error>(())
    };
    if let Some(account) = &call.account {
        set("stripe-account", account)?;
    }
    if let (false, Some(key)) = (is_get, &call.idempotency_key) {
        set("idempotency-key", key)?;
    }
    Ok(headers)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A failed exchange: a timeout, or anything else that kept us from reading an answer.
/// The message walks the source chain ("connection refused" sits a few levels down).
fn transport_error(err: reqwest::Error) -> Error {
    if err.is_timeout() {
        return Error::Timeout;
    }
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Network(message)
}

/// True for a URL whose host is this machine: a loopback address, or `localhost`.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(key: &str, base: &str) -> Result<Client, Error> {
        Client::new(StripeConfig::new(key, base))
    }

    #[test]
    fn a_live_key_goes_over_http_only_to_this_machine() {
        for base in ["http://127.0.0.1:1", "http://[::1]:1", "http://localhost:1"] {
            assert!(build("sk_live_abc", base).is_ok(), "{base}");
        }
        for base in [
            "http://10.0.0.1",
            "http://127.0.0.1.example.com",
            "http://api.stripe.com",
        ] {
            assert!(build("rk_live_abc", base).is_err(), "{base}");
        }
    }

    #[test]
    fn rejects_bad_configs_without_echoing_the_key() {
        for (key, base) in [
            ("sk_test_abc", "not a url"),
            ("sk_test_abc", "ftp://127.0.0.1"),
            ("", "http://127.0.0.1:1"),
            ("sk_test_bad\nkey", "http://127.0.0.1:1"),
            ("sk_live_abc", "http://api.example.com"),
        ] {
            let err = build(key, base).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            if !key.is_empty() {
                assert!(!err.to_string().contains(key), "{err}");
            }
        }
    }

    #[test]
    fn accepts_a_trailing_slash_and_keeps_the_key_out_of_debug() {
        let client = build("sk_test_SHHH", "http://127.0.0.1:1/").unwrap();
        assert_eq!(client.inner.base, "http://127.0.0.1:1");
        assert!(!format!("{client:?}").contains("SHHH"));
        assert!(build("sk_live_abc", "https://api.stripe.com").is_ok());
    }

    #[test]
    fn call_futures_are_send_so_axum_handlers_can_await_them() {
        fn assert_send<T: Send>(_: &T) {}
        let client = build("sk_test_abc", "http://127.0.0.1:1").unwrap();
        let call = Call::new().key("k");
        assert_send(&client.retrieve_reader(&call, "tmr_1"));
        assert_send(&client.create_refund(&call, "pi_1", 1, &[("a", "b")]));
    }

    #[test]
    fn idempotency_key_goes_on_posts_only() {
        let call = Call::new().account(Some("acct_1".into())).key("k1");
        let post = call_headers(&call, false).unwrap();
        assert_eq!(post["idempotency-key"], "k1");
        assert_eq!(post["stripe-account"], "acct_1");
        let get = call_headers(&call, true).unwrap();
        assert!(get.get("idempotency-key").is_none());
        assert_eq!(get["stripe-account"], "acct_1");
        assert!(matches!(
            call_headers(&Call::new().key("bad\nkey"), false),
            Err(Error::Config(_))
        ));
    }
}
