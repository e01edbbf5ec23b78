//! The payment session: what the merchant asked to be paid, and how far the payment got.

use crate::cart::Cart;
use crate::{DeviceId, LocationId, MerchantId, OrderId, SessionId, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Created,
    Active,
    Finalized,
    Cancelled,
    Expired,
    Failed,
}

impl SessionStatus {
    pub const ALL: [Self; 6] = [
        Self::Created,
        Self::Active,
        Self::Finalized,
        Self::Cancelled,
        Self::Expired,
        Self::Failed,
    ];

    /// Open sessions occupy their device and can still change.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Created | Self::Active)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Active => "ACTIVE",
            Self::Finalized => "FINALIZED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),* }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// How the customer pays, chosen by the clerk on the POS.
    PaymentMethod { CardTap = "CARD_TAP", Klarna = "KLARNA", Swish = "SWISH", Vipps = "VIPPS" }
);

string_enum!(
    /// Who caused a transition; shown in the session timeline.
    Actor {
        Merchant = "MERCHANT",
        Device = "DEVICE",
        Expiry = "EXPIRY",
        Simulator = "SIMULATOR",
        Processor = "PROCESSOR",
    }
);

string_enum!(
    /// The result of one payment attempt as the processor reported it.
    PaymentOutcome {
        Success = "SUCCESS",
        DeclinedGeneric = "DECLINED_GENERIC",
        InsufficientFunds = "INSUFFICIENT_FUNDS",
        LostCard = "LOST_CARD",
        StolenCard = "STOLEN_CARD",
        ExpiredCard = "EXPIRED_CARD",
        IncorrectCvc = "INCORRECT_CVC",
        ProcessingError = "PROCESSING_ERROR",
        IncorrectNumber = "INCORRECT_NUMBER",
        CardVelocityExceeded = "CARD_VELOCITY_EXCEEDED",
    }
);

string_enum!(
    /// The kind of device a POS app runs on; decides which push channel reaches it.
    Platform { Ios = "IOS", Android = "ANDROID", Terminal = "TERMINAL", Web = "WEB" }
);

impl PaymentOutcome {
    pub fn is_success(self) -> bool {
        self == Self::Success
    }
}

/// A payment session. Only `machine::evolve` changes its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub merchant_id: MerchantId,
    pub device_id: DeviceId,
    pub location_id: Option<LocationId>,
    pub status: SessionStatus,
    pub cart: Cart,
    pub purchase_started_at: Option<Timestamp>,
    pub purchase_completed_at: Option<Timestamp>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    pub payment_method: Option<PaymentMethod>,
    pub attempts: i64,
    pub failure_reason: Option<PaymentOutcome>,
    pub order_id: Option<OrderId>,
    pub auto_capture: bool,
    /// How many timeline entries the session has; the next entry gets `last_sequence + 1`.
    pub last_sequence: i64,
    /// The card processor's payment behind this session (Stripe: its PaymentIntent), once
    /// one was prepared. Not a transition: `machine` never changes it.
    #[serde(default)]
    pub payment: Option<PaymentRef>,
    /// The secret a processor's device SDK needs to collect this payment (Stripe: the
    /// PaymentIntent's `client_secret`). Shown only to the session's own device.
    #[serde(default)]
    pub payment_secret: Option<String>,
}

impl Session {
    /// True once the deadline has passed for a session that is still open.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.status.is_open() && now >= self.expires_at
    }

    /// The payment's processor name, when a real processor holds money for this session.
    pub fn processor(&self) -> Option<&str> {
        self.payment.as_ref().map(|p| p.processor.as_str())
    }
}

/// A payment at a card processor: which processor, and its id there (Stripe: `pi_…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRef {
    pub processor: String,
    pub reference: String,
}

/// What a merchant's create call supplies, already validated.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub merchant_id: MerchantId,
    pub device_id: DeviceId,
    pub location_id: Option<LocationId>,
    pub cart: Cart,
    pub purchase_started_at: Option<Timestamp>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub ttl: chrono::Duration,
    pub auto_capture: bool,
}
