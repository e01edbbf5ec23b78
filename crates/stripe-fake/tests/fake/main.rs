//! Tests of the fake Stripe over real HTTP on 127.0.0.1, each ending with every request,
//! answer and event held against Stripe's published description (`Harness::finish`).
//!
//! One test binary (not one per file) so the 2-core CI links it once.

mod common;
mod payments;
mod protocol;
mod spec;
mod terminal;
mod webhooks;
