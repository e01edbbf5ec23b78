//! PostgreSQL nodes keep the API keys they have seen, because every merchant request starts
//! with one and a lookup is a round trip. Revocation must still take effect at once on every
//! node: `revoke_api_key` clears this node's cache and sends `NOTIFY` on `KEYS_CHANNEL` after
//! its commit, and every node's listener clears its own cache on it — and also whenever its
//! connection was lost, since a notice sent meanwhile is gone. An entry lives at most `TTL`
//! whatever happens. SQLite does not cache: its lookups cost no round trip.

use crate::model::{ApiKey, Merchant};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const KEYS_CHANNEL: &str = "kassa_keys";

/// The longest an entry is trusted without a look at the database.
const TTL: Duration = Duration::from_secs(60);
/// A full cache starts again empty rather than grow without bound.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct KeyCache(Mutex<Entries>);

/// `generation` counts clears: a lookup that began before a clear read what may be revoked
/// by now, so it must not fill the cache afterwards.
#[derive(Default)]
struct Entries {
    generation: u64,
    map: HashMap<String, Entry>,
}

struct Entry {
    key: ApiKey,
    merchant: Merchant,
    at: Instant,
}

impl KeyCache {
    /// The cached pair, or a miss with the generation to `put` the looked-up pair with.
    pub fn get(&self, key_hash: &str) -> Result<(ApiKey, Merchant), u64> {
        let entries = self.0.lock().expect("key cache lock");
        match entries.map.get(key_hash) {
            Some(e) if e.at.elapsed() < TTL => Ok((e.key.clone(), e.merchant.clone())),
            _ => Err(entries.generation),
        }
    }

    pub fn put(&self, key_hash: &str, key: &ApiKey, merchant: &Merchant, generation: u64) {
        let mut entries = self.0.lock().expect("key cache lock");
        if entries.generation != generation {
            return;
        }
        if entries.map.len() >= MAX_ENTRIES {
            entries.map.clear();
        }
        let entry = Entry {
            key: key.clone(),
            merchant: merchant.clone(),
            at: Instant::now(),
        };
        entries.map.insert(key_hash.to_string(), entry);
    }

    pub fn clear(&self) {
        let mut entries = self.0.lock().expect("key cache lock");
        entries.generation += 1;
        entries.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::entities::Mode;
    use kassa_core::{ApiKeyId, MerchantId};

    fn pair() -> (ApiKey, Merchant) {
        let now = chrono::Utc::now();
        let merchant = Merchant {
            id: MerchantId::new(),
            name: "Shop".into(),
            mode: Mode::Test,
            created_at: now,
        };
        let key = ApiKey {
            id: ApiKeyId::new(),
            merchant_id: merchant.id,
            key_hash: "h".into(),
            prefix: "kassa_test_abc".into(),
            last4: None,
            description: None,
            mode: Mode::Test,
            created_at: now,
            revoked_at: None,
        };
        (key, merchant)
    }

    #[test]
    fn entries_come_back_until_cleared_or_stale() {
        let cache = KeyCache::default();
        let (key, merchant) = pair();
        let generation = cache.get("h").unwrap_err();
        cache.put("h", &key, &merchant, generation);
        assert_eq!(cache.get("h").unwrap().1.id, merchant.id);
        cache.clear();
        let generation = cache.get("h").unwrap_err();
        cache.put("h", &key, &merchant, generation);
        cache.0.lock().unwrap().map.get_mut("h").unwrap().at = Instant::now() - TTL;
        assert!(
            cache.get("h").is_err(),
            "an entry past its TTL is not trusted"
        );
    }

    #[test]
    fn a_lookup_that_began_before_a_clear_does_not_fill_the_cache() {
        let cache = KeyCache::default();
        let (key, merchant) = pair();
        let before = cache.get("h").unwrap_err();
        cache.clear(); // a revocation committed while the lookup was in flight
        cache.put("h", &key, &merchant, before);
        assert!(cache.get("h").is_err());
    }
}
