//! Locations, enrollments (pairing codes) and devices.

use chrono::{DateTime, Utc};
use kassa_core::entities;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateLocation {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub street_address: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub street_address2: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub postal_code: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `SE`.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub name: String,
    pub street_address: Option<String>,
    pub street_address2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl From<&entities::Location> for Location {
    fn from(l: &entities::Location) -> Self {
        Self {
            id: l.id.0,
            merchant_id: l.merchant_id.0,
            name: l.name.clone(),
            street_address: l.street_address.clone(),
            street_address2: l.street_address2.clone(),
            postal_code: l.postal_code.clone(),
            city: l.city.clone(),
            country: l.country.clone(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateEnrollment {
    /// Up to 50 keys; keys 1 to 40 characters, values up to 500.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Milliseconds the code stays valid: 60 s .. 7 days, default 2 h.
    #[serde(default)]
    #[schema(minimum = 60_000, maximum = 604_800_000)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub location_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Enrollment {
    pub enrollment_id: Uuid,
    /// Shown only in the create response: Kassa stores only its hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_code: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub expires_at: DateTime<Utc>,
    /// `PENDING`, `CONSUMED`, `EXPIRED` or `CANCELLED`.
    pub status: String,
    pub metadata: BTreeMap<String, String>,
    pub location_id: Option<Uuid>,
}

impl Enrollment {
    pub fn new(e: &entities::Enrollment, now: DateTime<Utc>, code: Option<String>) -> Self {
        Self {
            enrollment_id: e.id.0,
            enrollment_code: code,
            expires_at: e.expires_at,
            status: e.status_at(now).as_str().into(),
            metadata: e.metadata.clone(),
            location_id: e.location_id.map(|l| l.0),
        }
    }
}

/// `POST /ipp/v1/devices`, sent by the POS app with a pairing code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterDevice {
    pub enrollment_code: String,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub hardware_id: Option<String>,
    /// `IOS`, `ANDROID`, `TERMINAL` or `WEB`.
    #[schema(schema_with = crate::schemas::platform)]
    pub platform: String,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// APNs device token or FCM registration token, for native push.
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub push_token: Option<String>,
}

/// The device's bearer token; shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Credentials {
    pub bearer_token: String,
    #[serde(rename = "issuedAt", serialize_with = "crate::time::serialize")]
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: Uuid,
    pub hardware_id: Option<String>,
    pub merchant_id: Uuid,
    pub location_id: Option<Uuid>,
    pub name: Option<String>,
    /// `IOS`, `ANDROID`, `TERMINAL` or `WEB`.
    pub platform: String,
    pub metadata: BTreeMap<String, String>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::option::serialize")]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// True while the device's stream is connected and heard from in the last 30 s.
    pub online: bool,
    /// A card reader its processor drives (Stripe: `tmr_…`), registered with
    /// `POST /ipp/v1/devices/readers`. Absent for POS apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_reader: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
}

impl Device {
    pub fn new(d: &entities::Device, online: bool, credentials: Option<Credentials>) -> Self {
        Self {
            id: d.id.0,
            hardware_id: d.hardware_id.clone(),
            merchant_id: d.merchant_id.0,
            location_id: d.location_id.map(|l| l.0),
            name: d.name.clone(),
            platform: d.platform.as_str().into(),
            metadata: d.metadata.clone(),
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
            online,
            processor_reader: d.processor_reader.clone(),
            credentials,
        }
    }
}

/// `POST /ipp/v1/devices/readers`: a card reader that the processor drives from the
/// server. Exactly one of `registration_code` (the code the reader shows) and `reader_id`
/// (one registered at the processor already).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterReader {
    /// `stripe`.
    #[schema(schema_with = crate::schemas::reader_processor)]
    pub processor: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255)]
    pub registration_code: Option<String>,
    /// Stripe: `tmr_…`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255)]
    pub reader_id: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// Required: readers belong to a location (Stripe mirrors it).
    pub location_id: Uuid,
    /// Up to 50 keys; keys 1 to 40 characters, values up to 500.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// `POST /ipp/v1/device/connection-token`: the secret the POS app's processor SDK
/// connects with (Stripe Terminal's connection token).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectionToken {
    pub secret: String,
    /// The processor's location that mirrors the device's Kassa location (Stripe: `tml_…`),
    /// to connect Tap to Pay or a Bluetooth reader at; null for a device without a location.
    pub location: Option<String>,
}

/// `PUT /ipp/v1/devices/{id}`: only the fields sent change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateDevice {
    #[serde(default)]
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// Replaces the whole metadata map. Up to 50 keys; keys 1 to 40 characters, values up
    /// to 500.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub location_id: Option<Uuid>,
}

/// `POST /ipp/v1/dev/devices` (playground only).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateSimulatedDevice {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    #[serde(default)]
    pub location_id: Option<Uuid>,
    /// Up to 49 keys (Kassa adds `simulated`); keys 1 to 40 characters, values up to 500.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
}
