//! Devices as the merchant manages them (`/ipp/v1/devices`), card readers the processor
//! drives, and the playground's simulated devices and taps (`/ipp/v1/dev`).

use crate::call::{self, Call};
use crate::error::Result;
use crate::pages::{metadata_query, List};
use crate::transport::{push_opt, Transport};
use kassa_api::device::{CreateSimulatedDevice, Device, RegisterReader, UpdateDevice};
use kassa_api::session::FinalizeResponse;
use reqwest::Method;
use std::sync::Arc;
use uuid::Uuid;

/// Devices. From [`Client::devices`](crate::Client::devices).
#[derive(Debug, Clone)]
pub struct Devices {
    transport: Arc<Transport>,
}

impl Devices {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// Devices matching `filter`, newest first, with `online` presence.
    pub fn list(&self, filter: &DeviceFilter) -> List<Device> {
        let mut query = Vec::new();
        push_opt(&mut query, "location_id", filter.location_id);
        metadata_query(&mut query, &filter.metadata);
        List::new(&self.transport, "/ipp/v1/devices".into(), query)
    }

    pub async fn get(&self, id: Uuid) -> Result<Device> {
        self.transport.get(&path(id), &[]).await
    }

    /// Changes the fields `req` sets: a new name, a whole new metadata map, another location.
    pub fn update(&self, id: Uuid, req: &UpdateDevice) -> Call<Device> {
        call::json(&self.transport, Method::PUT, path(id)).body(req)
    }

    /// Deletes the device and revokes its token (`204`); its streams close with code 4401.
    /// `409 NOT_ALLOWED` while it has an open session.
    pub fn delete(&self, id: Uuid) -> Call<()> {
        call::empty(&self.transport, Method::DELETE, path(id))
    }

    /// Registers a card reader that the processor drives from the server (Stripe smart
    /// readers, `201`, `platform: "TERMINAL"`). Needs a processor configured on the server.
    pub fn register_reader(&self, req: &RegisterReader) -> Call<Device> {
        call::json(
            &self.transport,
            Method::POST,
            "/ipp/v1/devices/readers".into(),
        )
        .body(req)
    }
}

fn path(id: Uuid) -> String {
    format!("/ipp/v1/devices/{id}")
}

/// Filters of [`Devices::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    pub location_id: Option<Uuid>,
    /// `(key, value)` pairs the metadata must all have; at most five.
    pub metadata: Vec<(String, String)>,
}

/// The playground's testing calls. From [`Client::playground`](crate::Client::playground);
/// a live server answers them `404`.
#[derive(Debug, Clone)]
pub struct Playground {
    transport: Arc<Transport>,
}

impl Playground {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// A simulated POS device (`201`), with its `credentials.bearer_token` for a
    /// [`DeviceClient`](crate::DeviceClient); its metadata gets `simulated: "true"`.
    ///
    /// ```no_run
    /// use kassa_client::api::device::CreateSimulatedDevice;
    /// # async fn run(client: kassa_client::Client) -> kassa_client::Result<()> {
    /// let till = client
    ///     .playground()
    ///     .create_device(&CreateSimulatedDevice { name: "Till 1".into(), ..Default::default() })
    ///     .await?;
    /// let token = till.credentials.expect("shown at creation").bearer_token;
    /// let device = client.device(&token)?;
    /// # Ok(()) }
    /// ```
    pub fn create_device(&self, req: &CreateSimulatedDevice) -> Call<Device> {
        call::json(&self.transport, Method::POST, "/ipp/v1/dev/devices".into()).body(req)
    }

    /// Acts as the session's device: chooses `CARD_TAP` if the session is `CREATED`, then
    /// finalizes with `outcome` (`None`: `SUCCESS`; or a decline such as
    /// `INSUFFICIENT_FUNDS`). Returns the finalize answer.
    pub fn simulate_tap(&self, session_id: Uuid, outcome: Option<&str>) -> Call<FinalizeResponse> {
        call::json(
            &self.transport,
            Method::POST,
            format!("/ipp/v1/dev/sessions/{session_id}/simulate-tap"),
        )
        .query("outcome", outcome)
    }
}
