//! A fake Stripe for tests (being written).
#![forbid(unsafe_code)]
