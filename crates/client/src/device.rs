//! [`DeviceClient`]: the POS side, authenticated with the device's token (`Authorization:
//! Bearer kdt_…`). A device sees only the sessions dispatched to it; it chooses the payment
//! method, finalizes with the processor's result, and listens on its push stream.

use crate::error::{Error, Result};
use crate::sessions;
use crate::stream::DeviceStream;
use crate::transport::{Transport, DEFAULT_TIMEOUT};
use kassa_api::device::{ConnectionToken, Device, RegisterDevice};
use kassa_api::session::{ChoosePayment, Finalize, FinalizeResponse, Session, Timeline};
use kassa_api::PageBody;
use kassa_core::session::SessionStatus;
use reqwest::header::AUTHORIZATION;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use uuid::Uuid;

/// A POS device's client. Cheap to clone.
///
/// ```no_run
/// use futures::TryStreamExt;
/// use kassa_client::{DeviceClient, PushFrame};
/// # async fn run(token: &str) -> kassa_client::Result<()> {
/// let device = DeviceClient::new("http://127.0.0.1:8080", token)?;
/// let mut stream = device.stream().await?;
/// while let Some(frame) = stream.try_next().await? {
///     if let PushFrame::SessionCreated { session_id } = frame {
///         let session = device.session(session_id).await?;
///         println!("charge {} {}", session.order_amount, session.purchase_currency);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DeviceClient {
    transport: Arc<Transport>,
}

impl DeviceClient {
    /// A client for the device whose token is `token` (`kdt_…`).
    pub fn new(base_url: &str, token: &str) -> Result<Self> {
        Self::build(None, base_url, token)
    }

    pub(crate) fn with_http(http: reqwest::Client, base_url: &str, token: &str) -> Result<Self> {
        Self::build(Some(http), base_url, token)
    }

    fn build(http: Option<reqwest::Client>, base_url: &str, token: &str) -> Result<Self> {
        let authorization = Some(format!("Bearer {token}"));
        let transport = Transport::new(http, base_url, authorization, Vec::new(), DEFAULT_TIMEOUT)?;
        Ok(Self {
            transport: Arc::new(transport),
        })
    }

    /// Registers a POS app with a pairing code from
    /// [`Enrollments::create`](crate::Enrollments::create) (`POST /ipp/v1/devices`, no
    /// credentials needed) and returns the new device with a client for its token. The token
    /// is shown this once (`device.credentials`): store it. An unknown, used or expired code
    /// is `400 BAD_VALUE`.
    pub async fn register(base_url: &str, req: &RegisterDevice) -> Result<(Self, Device)> {
        let anonymous = Transport::new(None, base_url, None, Vec::new(), DEFAULT_TIMEOUT)?;
        let request = anonymous.request(Method::POST, "/ipp/v1/devices").json(req);
        let device: Device = anonymous.send(request).await?.json()?;
        let Some(credentials) = &device.credentials else {
            let missing = serde::de::Error::custom("the answer has no credentials");
            return Err(Error::decode(missing, b""));
        };
        let client = Self::build(
            Some(anonymous.http().clone()),
            base_url,
            &credentials.bearer_token,
        )?;
        Ok((client, device))
    }

    /// The device's sessions in `statuses` (empty: the open ones, `CREATED` and `ACTIVE`),
    /// newest first; what to show after reconnecting.
    pub async fn sessions(&self, statuses: &[SessionStatus]) -> Result<Vec<Session>> {
        let mut query = Vec::new();
        if !statuses.is_empty() {
            let names: Vec<_> = statuses.iter().map(|s| s.as_str()).collect();
            query.push(("status", names.join(",")));
        }
        let page: PageBody<Session> = self
            .transport
            .get("/ipp/v1/device/sessions", &query)
            .await?;
        Ok(page.content)
    }

    /// One of the device's sessions (another device's is `404`). With a real processor it
    /// carries `processor.client_secret` for the SDK.
    pub async fn session(&self, id: Uuid) -> Result<Session> {
        self.transport.get(&sessions::path(id), &[]).await
    }

    /// Chooses how the customer pays (`CARD_TAP`, `KLARNA`, `SWISH` or `VIPPS`): `CREATED` →
    /// `ACTIVE`. Again while `ACTIVE` it switches the method.
    pub async fn choose_payment(&self, id: Uuid, payment_method: &str) -> Result<Session> {
        let body = ChoosePayment {
            payment_method: payment_method.into(),
        };
        let path = format!("{}/payment", sessions::path(id));
        self.send(Method::PUT, &path, Some(&body)).await
    }

    /// Reports the payment attempt's result. Repeating the same `attempt_id` returns the
    /// first answer, so a retried call never charges twice; the server verifies a real
    /// processor's result with the processor.
    pub async fn finalize(&self, id: Uuid, req: &Finalize) -> Result<FinalizeResponse> {
        let path = format!("{}/finalize", sessions::path(id));
        self.send(Method::POST, &path, Some(req)).await
    }

    /// The clerk cancels: same rules as the merchant's cancel.
    pub async fn cancel(&self, id: Uuid) -> Result<Session> {
        let path = format!("{}/cancel", sessions::path(id));
        self.send(Method::PUT, &path, None::<&()>).await
    }

    /// The session's timeline, oldest first.
    pub async fn timeline(&self, id: Uuid) -> Result<Timeline> {
        let path = format!("{}/events", sessions::path(id));
        self.transport.get(&path, &[]).await
    }

    /// The processor SDK's connection token (Stripe Terminal); `409 NOT_ALLOWED` on a server
    /// without a card processor for this device.
    pub async fn connection_token(&self) -> Result<ConnectionToken> {
        let path = "/ipp/v1/device/connection-token";
        self.send(Method::POST, path, None::<&()>).await
    }

    /// Opens the device's push stream (`GET /ipp/v1/device/stream`, a WebSocket with the
    /// token in the handshake's `Authorization` header). A bad token fails here with
    /// `401 UNAUTHORIZED`.
    pub async fn stream(&self) -> Result<DeviceStream> {
        let authorization = self
            .transport
            .headers()
            .get(AUTHORIZATION)
            .cloned()
            .ok_or_else(|| Error::Config("no device token".into()))?;
        DeviceStream::connect(self.transport.base(), authorization).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let mut request = self.transport.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.transport.send(request).await?.json()
    }
}
