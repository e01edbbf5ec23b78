//! Locations (`/ipp/v1/locations`) and enrollments, the pairing codes that register a POS
//! device (`/ipp/v1/enrollments`).

use crate::call::{self, Call};
use crate::error::Result;
use crate::pages::{metadata_query, List};
use crate::transport::{push_opt, Transport};
use kassa_api::device::{CreateEnrollment, CreateLocation, Enrollment, Location};
use reqwest::Method;
use std::sync::Arc;
use uuid::Uuid;

/// Locations. From [`Client::locations`](crate::Client::locations).
#[derive(Debug, Clone)]
pub struct Locations {
    transport: Arc<Transport>,
}

impl Locations {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// Creates a location (`201`).
    ///
    /// ```no_run
    /// use kassa_client::api::device::CreateLocation;
    /// # async fn run(client: kassa_client::Client) -> kassa_client::Result<()> {
    /// let shop = client
    ///     .locations()
    ///     .create(&CreateLocation {
    ///         name: "Söder".into(),
    ///         street_address: Some("Götgatan 1".into()),
    ///         street_address2: None,
    ///         postal_code: Some("116 46".into()),
    ///         city: Some("Stockholm".into()),
    ///         country: Some("SE".into()),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, req: &CreateLocation) -> Call<Location> {
        call::json(&self.transport, Method::POST, "/ipp/v1/locations".into()).body(req)
    }

    pub async fn get(&self, id: Uuid) -> Result<Location> {
        self.transport.get(&path(id), &[]).await
    }

    /// Every location, newest first.
    pub fn list(&self) -> List<Location> {
        List::new(&self.transport, "/ipp/v1/locations".into(), Vec::new())
    }

    /// Replaces the location's fields with `req`'s (omitted optional fields become empty).
    pub fn update(&self, id: Uuid, req: &CreateLocation) -> Call<Location> {
        call::json(&self.transport, Method::PUT, path(id)).body(req)
    }

    /// Deletes the location (`204`); `409 NOT_ALLOWED` while devices are assigned to it.
    pub fn delete(&self, id: Uuid) -> Call<()> {
        call::empty(&self.transport, Method::DELETE, path(id))
    }
}

fn path(id: Uuid) -> String {
    format!("/ipp/v1/locations/{id}")
}

/// Enrollments (pairing codes). From [`Client::enrollments`](crate::Client::enrollments).
#[derive(Debug, Clone)]
pub struct Enrollments {
    transport: Arc<Transport>,
}

impl Enrollments {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// Creates a single-use pairing code (`201`); `enrollment_code` is only in this answer.
    /// The POS app registers with it: [`DeviceClient::register`](crate::DeviceClient::register).
    pub fn create(&self, req: &CreateEnrollment) -> Call<Enrollment> {
        call::json(&self.transport, Method::POST, "/ipp/v1/enrollments".into()).body(req)
    }

    /// Pending and expired codes matching `filter`, newest first (cancelled ones never).
    pub fn list(&self, filter: &EnrollmentFilter) -> List<Enrollment> {
        let mut query = Vec::new();
        push_opt(&mut query, "location_id", filter.location_id);
        metadata_query(&mut query, &filter.metadata);
        if filter.include_consumed {
            query.push(("include_consumed", "true".into()));
        }
        List::new(&self.transport, "/ipp/v1/enrollments".into(), query)
    }

    /// Cancels the code (`204`; it shows as `CANCELLED` and can no longer be used).
    pub fn delete(&self, id: Uuid) -> Call<()> {
        call::empty(
            &self.transport,
            Method::DELETE,
            format!("/ipp/v1/enrollments/{id}"),
        )
    }
}

/// Filters of [`Enrollments::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrollmentFilter {
    pub location_id: Option<Uuid>,
    /// `(key, value)` pairs the metadata must all have; at most five.
    pub metadata: Vec<(String, String)>,
    /// Also list codes already used by a device.
    pub include_consumed: bool,
}
