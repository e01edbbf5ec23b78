//! Query types shared by the list methods; the records themselves are `kassa_core::entities`.

pub use kassa_core::entities::*;
use kassa_core::session::SessionStatus;
use kassa_core::{DeviceId, LocationId, MerchantId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 0-based.
    pub number: i64,
    /// 1..=100.
    pub size: i64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            number: 0,
            size: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    pub location_id: Option<LocationId>,
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct EnrollmentFilter {
    pub location_id: Option<LocationId>,
    pub metadata: Vec<(String, String)>,
    pub include_consumed: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub statuses: Vec<SessionStatus>,
    pub device_id: Option<DeviceId>,
    pub location_id: Option<LocationId>,
    pub merchant_reference1: Option<String>,
    pub created_after: Option<Timestamp>,
}

/// Whose view a session is read or changed through: a merchant sees its own sessions, a
/// device only those dispatched to it. Anything else is "not found".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Merchant(MerchantId),
    Device(DeviceId),
}
