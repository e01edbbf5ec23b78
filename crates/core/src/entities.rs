//! The merchant's other objects: merchants and keys, locations, pairing codes and devices.
//! They carry little logic; they live here so every layer shares one definition.

use crate::session::Platform;
use crate::{ApiKeyId, DeviceId, EnrollmentId, LocationId, MerchantId, Timestamp};
use std::collections::BTreeMap;

pub type Metadata = BTreeMap<String, String>;

/// Whether a merchant (and its keys) is for the playground or for real money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "test" => Some(Self::Test),
            "live" => Some(Self::Live),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub mode: Mode,
    pub created_at: Timestamp,
}

/// An API key as stored: only its SHA-256 hash and a short prefix to recognise it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub merchant_id: MerchantId,
    pub key_hash: String,
    pub prefix: String,
    /// The key's last four characters, so a list can tell keys apart without the key. `None`
    /// for keys issued before Kassa kept them.
    pub last4: Option<String>,
    /// The merchant's own note on what the key is for.
    pub description: Option<String>,
    pub mode: Mode,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: LocationId,
    pub merchant_id: MerchantId,
    pub name: String,
    pub street_address: Option<String>,
    pub street_address2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentStatus {
    Pending,
    Consumed,
    Expired,
    Cancelled,
}

impl EnrollmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Consumed => "CONSUMED",
            Self::Expired => "EXPIRED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Consumed,
            Self::Expired,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A pairing code. Only the code's hash is kept; the code itself is shown once, on creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub id: EnrollmentId,
    pub merchant_id: MerchantId,
    pub code_hash: String,
    pub status: EnrollmentStatus,
    pub metadata: Metadata,
    pub location_id: Option<LocationId>,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

impl Enrollment {
    /// A pending code past its deadline reads as `EXPIRED` without anyone having to write it.
    pub fn status_at(&self, now: Timestamp) -> EnrollmentStatus {
        match self.status {
            EnrollmentStatus::Pending if now >= self.expires_at => EnrollmentStatus::Expired,
            s => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub merchant_id: MerchantId,
    pub location_id: Option<LocationId>,
    pub name: Option<String>,
    pub platform: Platform,
    pub hardware_id: Option<String>,
    pub metadata: Metadata,
    pub push_token: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    /// A card reader that its processor drives (Stripe: `tmr_…`); such a device has no app
    /// and no token anyone holds. `None` for POS apps.
    pub processor_reader: Option<String>,
}

/// What a POS app sends to register; the enrollment supplies merchant, location and metadata.
#[derive(Debug, Clone)]
pub struct DeviceRegistration {
    pub id: DeviceId,
    pub code_hash: String,
    pub token_hash: String,
    pub platform: Platform,
    pub name: Option<String>,
    pub hardware_id: Option<String>,
    pub push_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DevicePatch {
    pub name: Option<String>,
    pub metadata: Option<Metadata>,
    pub location_id: Option<LocationId>,
}
