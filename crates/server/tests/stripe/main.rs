//! Real money, against a fake Stripe: the phone flow, a lying device, readers, orders that
//! move money, Stripe's webhooks, reconciliation, outages and two nodes, each on SQLite and
//! PostgreSQL. `spec.rs` checks every request Kassa sent, and every answer the fake gave,
//! against Stripe's own OpenAPI description. `live.rs` runs against real Stripe test mode
//! when `KASSA_STRIPE_TEST_KEY` is set.

#[path = "../api/harness.rs"]
#[allow(dead_code)]
mod api;
mod harness;
mod hooks;
mod live;
mod money;
mod phones;
mod readers;
mod setup;
mod spec;

/// Declares `$name` once per backend; the body gets a fresh `StripeApp` as `$app`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::harness::StripeApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::harness::StripeApp::spawn(kassa_store::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::harness::StripeApp::spawn(kassa_store::Backend::Postgres).await).await
            }
        }
    };
}
