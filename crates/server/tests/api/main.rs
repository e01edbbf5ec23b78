//! The HTTP API end to end: a real server on port 0 per test, its own database on each
//! backend, and real clients: `kassa-client` for the contract (typed calls, typed answers),
//! raw `reqwest` where a test sends deliberately bad input or checks what the typed client
//! hides (headers, bytes, exact success statuses: `statuses.rs`).

mod auth;
mod bad_input;
mod conflicts;
mod devices;
mod harness;
mod idempotent_effects;
mod keys;
mod limits;
mod locations;
mod metrics;
mod portal_auth;
mod processors;
mod rate_limits;
mod refusals;
mod sessions;
mod slow_clients;
mod statuses;
mod stream;
mod tenancy;

/// Declares `$name` once per backend; the body gets a fresh running app as `$app`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::harness::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::harness::TestApp::spawn(kassa_store::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::harness::TestApp::spawn(kassa_store::Backend::Postgres).await).await
            }
        }
    };
}
