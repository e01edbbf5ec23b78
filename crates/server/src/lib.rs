//! Kassa's service as a library: configuration, the HTTP API (merchant, POS, playground,
//! orders, operations), and the background workers. `kassa serve` and the tests build the
//! same `App`.
#![forbid(unsafe_code)]

pub mod app;
pub mod clock;
pub mod config;
pub mod gauges;
pub mod http;
pub mod hub;
pub mod listener;
pub mod processors;
pub mod push;
pub mod retention;
pub mod secrets;
pub mod seed;
pub mod state;
pub mod stream;
pub mod sweeper;
pub mod webhooks;

pub use app::App;
pub use config::{Config, ServerMode};
pub use state::AppState;
