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
        last4: Some("wxyz".into()),
        description: Some("till backend".into()),
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

fn key_of(merchant: MerchantId, name: &str, at: Timestamp) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        merchant_id: merchant,
        key_hash: format!("hash-{name}"),
        prefix: format!("kassa_test_{name}"),
        last4: Some("abcd".into()),
        description: Some(name.into()),
        mode: Mode::Test,
        created_at: at,
        revoked_at: None,
    }
}

crate::both_backends!(a_merchant_pages_and_revokes_only_its_own_keys, |store| {
    let (m, other) = (merchant(&store).await, merchant(&store).await);
    let keys: Vec<ApiKey> = (0..3)
        .map(|i| key_of(m, &format!("k{i}"), t0() + chrono::Duration::minutes(i)))
        .collect();
    let theirs = key_of(other, "theirs", t0());
    for k in keys.iter().chain([&theirs]) {
        store.create_api_key(k).await.unwrap();
    }
    let page = PageRequest { number: 0, size: 2 };
    let first = store.page_api_keys(m, page).await.unwrap();
    assert_eq!(first.total, 3);
    assert_eq!(
        first.items,
        [keys[2].clone(), keys[1].clone()],
        "newest first, as stored"
    );

    let later = t0() + chrono::Duration::hours(1);
    let revoke = |who, id| store.revoke_merchant_api_key(who, id, later);
    assert!(
        !revoke(m, theirs.id).await.unwrap(),
        "another merchant's key"
    );
    assert!(!revoke(m, ApiKeyId::new()).await.unwrap());
    assert!(store
        .find_api_key(&theirs.key_hash)
        .await
        .unwrap()
        .is_some());
    assert!(revoke(m, keys[0].id).await.unwrap());
    assert!(store
        .find_api_key(&keys[0].key_hash)
        .await
        .unwrap()
        .is_none());
    let again = t0() + chrono::Duration::hours(2);
    assert!(store
        .revoke_merchant_api_key(m, keys[0].id, again)
        .await
        .unwrap());
    let all = store
        .page_api_keys(m, PageRequest::default())
        .await
        .unwrap();
    let revoked: Vec<_> = all.items.iter().map(|k| k.revoked_at).collect();
    assert_eq!(
        revoked,
        [None, None, Some(later)],
        "a repeat keeps the first time"
    );
    assert!(store
        .find_api_key(&keys[1].key_hash)
        .await
        .unwrap()
        .is_some());
});

/// The merchant-scoped revoke clears other nodes' caches like the operator's does.
async fn revoked_by_its_merchant_on_one_node_is_refused_on_another(backend: Backend) {
    let url = kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap();
    let (a, b) = (
        kassa_store::connect(&url).await.unwrap(),
        kassa_store::connect(&url).await.unwrap(),
    );
    let m = merchant(&a).await;
    let key = key_of(m, "cached", t0());
    a.create_api_key(&key).await.unwrap();
    for _ in 0..2 {
        assert!(b.find_api_key(&key.key_hash).await.unwrap().is_some());
    }
    assert!(a.revoke_merchant_api_key(m, key.id, t0()).await.unwrap());
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
async fn merchant_revoke_sqlite() {
    revoked_by_its_merchant_on_one_node_is_refused_on_another(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_revoke_postgres() {
    revoked_by_its_merchant_on_one_node_is_refused_on_another(Backend::Postgres).await
}
