//! API keys across nodes: PostgreSQL nodes cache keys, so a revocation on one node must
//! reach the others (through `NOTIFY`); SQLite reads the file every time.

use crate::fixtures::*;
use kassa_core::*;
use kassa_store::*;
use std::time::{Duration, Instant};

async fn revoked_on_one_node_is_refused_on_another(backend: Backend) {
    let url = kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap();
    let (a, b) = (
        kassa_store::connect(&url).await.unwrap(),
        kassa_store::connect(&url).await.unwrap(),
    );
    let m = merchant(&a).await;
    let key = ApiKey {
        id: ApiKeyId::new(),
        merchant_id: m,
        key_hash: "hash-of-the-key".into(),
        prefix: "kassa_test_abcdefg".into(),
        mode: Mode::Test,
        created_at: t0(),
        revoked_at: None,
    };
    a.create_api_key(&key).await.unwrap();
    for _ in 0..2 {
        let (found, merchant) = b.find_api_key(&key.key_hash).await.unwrap().unwrap();
        assert_eq!((found.id, merchant.id), (key.id, m));
    }
    assert!(a.revoke_api_key(&key.prefix, t0()).await.unwrap());
    assert!(a.find_api_key(&key.key_hash).await.unwrap().is_none());
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.find_api_key(&key.key_hash).await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "the other node still accepts the revoked key"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    revoked_on_one_node_is_refused_on_another(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    revoked_on_one_node_is_refused_on_another(Backend::Postgres).await
}
