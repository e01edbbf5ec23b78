//! PostgreSQL over TLS (issue 11 item 9), against the local server, which Debian sets up with
//! `ssl = on` and a self-signed certificate for `localhost` (its own CA). `sslmode` and
//! `sslrootcert` in the database URL are honoured as libpq does; SQLite has no connection to
//! encrypt, so these run on PostgreSQL only.

use sqlx::{Connection, PgConnection};

/// A fresh database's URL on `localhost` (the name the server's certificate carries).
async fn url_on_localhost() -> String {
    let url = kassa_store::testing::fresh_database_url(kassa_store::Backend::Postgres)
        .await
        .unwrap();
    url.replacen("127.0.0.1", "localhost", 1)
}

/// The server's certificate file: with a self-signed certificate it is its own CA.
async fn server_certificate(url: &str) -> String {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let (path,): (String,) = sqlx::query_as("SHOW ssl_cert_file")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    path
}

async fn encrypted(url: &str) -> bool {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let (ssl,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    ssl
}

#[tokio::test]
async fn sslmode_require_encrypts_the_connection() {
    let url = url_on_localhost().await;
    assert!(encrypted(&format!("{url}?sslmode=require")).await);
    assert!(!encrypted(&format!("{url}?sslmode=disable")).await);
}

#[tokio::test]
async fn verify_full_with_the_ca_file_runs_the_whole_store() {
    let url = url_on_localhost().await;
    let ca = server_certificate(&url).await;
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={ca}");
    assert!(encrypted(&verified).await);
    // Migrations, the notice listener and a query, all over verified TLS.
    let store = kassa_store::connect(&verified).await.unwrap();
    let merchant = crate::fixtures::merchant(&store).await;
    assert!(
        kassa_store::MerchantStore::get_merchant(store.as_ref(), merchant)
            .await
            .unwrap()
            .is_some()
    );
    store.join(&verified).await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_name() {
    let url = url_on_localhost().await;
    let ca = server_certificate(&url).await;
    // The certificate names `localhost`, not the address.
    let by_address = url.replacen("localhost", "127.0.0.1", 1);
    let err = PgConnection::connect(&format!(
        "{by_address}?sslmode=verify-full&sslrootcert={ca}"
    ))
    .await
    .unwrap_err();
    assert!(format!("{err:?}").contains("NotValidForName"), "{err:?}");
}

#[tokio::test]
async fn verify_ca_refuses_a_server_signed_by_another_ca() {
    let url = url_on_localhost().await;
    // Mozilla's roots (no CA file given) never signed a self-signed certificate.
    let err = PgConnection::connect(&format!("{url}?sslmode=verify-ca"))
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
}
