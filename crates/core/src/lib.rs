//! Kassa's domain core: identifiers, money and carts, the payment-session state machine,
//! orders and the events they emit. Nothing here performs I/O or reads a clock: callers pass
//! `now` in, so every rule is a pure function that tests can drive exhaustively.
#![forbid(unsafe_code)]

pub mod cart;
pub mod entities;
pub mod error;
pub mod event;
pub mod ids;
pub mod limits;
pub mod machine;
pub mod money;
pub mod order;
pub mod session;

pub use error::{DomainError, FieldError};
pub use ids::*;

/// All timestamps in Kassa are UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
