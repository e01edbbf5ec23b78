//! Kassa's wire types, shared by the server, the Rust client, the CLI and the tests. Field
//! names follow the Kustom IPP API (snake_case, with Kustom's own exceptions). Conversions
//! from domain types are explicit `From` impls next to each type.
#![forbid(unsafe_code)]

pub mod device;
pub mod error;
pub mod event;
pub mod keys;
pub mod order;
pub mod page;
pub mod portal;
pub mod processor;
pub mod schemas;
pub mod session;
pub mod time;
pub mod webhook;

pub use error::ErrorBody;
pub use page::PageBody;
