//! One conformance suite over the `Store` trait, run against a fresh SQLite file and a fresh
//! PostgreSQL database per test. Both backends must give the same answers.

mod device_removal;
mod duplicates;
mod fixtures;
mod idempotent_effects;
mod keys;
mod places;
mod portal;
mod processor_records;
mod processors;
mod races;
mod sessions;
mod stats;
mod tenancy;
mod tls;
mod transitions;
mod webhooks;

/// Declares `$name` once per backend; the body gets a fresh store as `$store`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($store: std::sync::Arc<kassa_store::SqlStore>) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                run($crate::fixtures::store(kassa_store::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                run($crate::fixtures::store(kassa_store::Backend::Postgres).await).await
            }
        }
    };
}
