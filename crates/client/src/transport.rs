//! The HTTP plumbing every call shares: the base URL, the credentials header, sending, and
//! turning an answer into a value or an [`ApiError`]. The merchant [`Client`](crate::Client)
//! and the [`DeviceClient`](crate::DeviceClient) each own one, with their own credentials.

use crate::error::{ApiError, Error, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

/// Calls without a long-poll give up after this long unless the builder says otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// What a long-poll may take beyond its `wait`: the server's answer and the network.
const LONG_POLL_MARGIN: Duration = Duration::from_secs(15);
const USER_AGENT: &str = concat!("kassa-client/", env!("CARGO_PKG_VERSION"));

pub(crate) struct Transport {
    http: reqwest::Client,
    /// Without a trailing slash; paths start with one.
    base: String,
    /// Sent on every request; marked sensitive so it never shows in `Debug` output.
    headers: HeaderMap,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// `authorization` is the whole header value (`Basic …` or `Bearer …`), if any.
    pub fn new(
        http: Option<reqwest::Client>,
        base_url: &str,
        authorization: Option<String>,
        extra: Vec<(HeaderName, String)>,
        timeout: Duration,
    ) -> Result<Self> {
        let url = reqwest::Url::parse(base_url)
            .map_err(|e| Error::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base URL {base_url:?}: the scheme must be http or https"
            )));
        }
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| Error::Config("the credential is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in extra {
            let value = HeaderValue::from_str(&value)
                .map_err(|_| Error::Config(format!("{name} is not a valid header value")))?;
            headers.insert(name, value);
        }
        let http = match http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .timeout(timeout)
                .connect_timeout(Duration::from_secs(10))
                .build()?,
        };
        Ok(Self {
            http,
            base: url.as_str().trim_end_matches('/').to_string(),
            headers,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A request to `path` (which starts with `/`) with the credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .headers(self.headers.clone())
    }

    /// Sends and reads the whole answer; an error status becomes [`Error::Api`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        if !(200..300).contains(&status) {
            return Err(ApiError::from_parts(status, &headers, &body).into());
        }
        Ok(Answer { headers, body })
    }

    /// `GET path?query` decoded as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        self.send(self.request(Method::GET, path).query(query))
            .await?
            .json()
    }

    /// A `GET` that the server may hold for up to `wait`: its timeout leaves room for that.
    pub async fn long_poll<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        wait: Duration,
    ) -> Result<T> {
        let request = self
            .request(Method::GET, path)
            .query(query)
            .timeout(wait + LONG_POLL_MARGIN);
        self.send(request).await?.json()
    }
}

/// A successful answer, read in full.
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::decode(e, &self.body))
    }

    /// `Idempotent-Replayed: true`: the server replayed the first answer to this key.
    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Whole seconds for a `wait` parameter, at most `max` (the server refuses more).
pub(crate) fn wait_secs(wait: Duration, max: u64) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.min(max)
}

/// `?a=1&b=2` pairs from optional values: absent ones are left out.
pub(crate) fn push_opt(
    query: &mut Vec<(&'static str, String)>,
    name: &'static str,
    value: Option<impl ToString>,
) {
    if let Some(v) = value {
        query.push((name, v.to_string()));
    }
}

/// `text` as one path segment: anything but unreserved characters percent-encoded, so an id
/// from elsewhere cannot reach another path.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
