//! `kassa-client` against a real Kassa server started in-process: its own database per
//! test (SQLite everywhere, PostgreSQL where it is cheap), bound to 127.0.0.1 on port 0.

mod device;
mod errors;
mod feeds;
mod flow;
mod harness;
mod orders;
mod resources;

/// Declares `$name` once per backend; the body gets a fresh running server as `$server`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$server:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($server: $crate::harness::TestServer) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::harness::TestServer::spawn(kassa_store::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::harness::TestServer::spawn(kassa_store::Backend::Postgres).await).await
            }
        }
    };
}

/// Declares `$name` on SQLite only: behaviour of the client, not of a backend.
#[macro_export]
macro_rules! sqlite {
    ($name:ident, |$server:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let $server = $crate::harness::TestServer::spawn(kassa_store::Backend::Sqlite).await;
            $body
        }
    };
}
