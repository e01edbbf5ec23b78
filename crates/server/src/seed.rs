//! Creating merchants and keys (for `kassa admin`) and the playground's demo data.

use crate::secrets;
use chrono::{DateTime, Utc};
use kassa_core::session::Platform;
use kassa_core::{ApiKeyId, DeviceId, LocationId, MerchantId};
use kassa_store::{ApiKey, Device, Location, Merchant, Metadata, Mode, Store};

/// Creates a merchant with one API key and returns both; the key is never stored.
pub async fn create_merchant(
    store: &dyn Store,
    name: &str,
    mode: Mode,
    now: DateTime<Utc>,
) -> anyhow::Result<(Merchant, String)> {
    let merchant = Merchant {
        id: MerchantId::new(),
        name: name.to_string(),
        mode,
        created_at: now,
    };
    store.create_merchant(&merchant).await?;
    let key = create_key(store, &merchant, now).await?;
    Ok((merchant, key))
}

pub async fn create_key(
    store: &dyn Store,
    merchant: &Merchant,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let key = secrets::new_api_key(merchant.mode);
    let record = ApiKey {
        id: ApiKeyId::new(),
        merchant_id: merchant.id,
        key_hash: secrets::hash(&key),
        prefix: secrets::key_prefix(&key),
        mode: merchant.mode,
        created_at: now,
        revoked_at: None,
    };
    store.create_api_key(&record).await?;
    Ok(key)
}

/// What the playground prints on its first start.
pub struct Demo {
    pub merchant: Merchant,
    pub api_key: String,
    pub location: Location,
    pub device: Device,
    pub device_token: String,
}

/// On an empty database, creates a demo merchant, key, location and simulated device.
pub async fn demo_if_empty(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<Option<Demo>> {
    if !store.list_merchants().await?.is_empty() {
        return Ok(None);
    }
    let (merchant, api_key) = create_merchant(store, "Demo Shop", Mode::Test, now).await?;
    let location = Location {
        id: LocationId::new(),
        merchant_id: merchant.id,
        name: "Demo Store".into(),
        street_address: Some("Drottninggatan 1".into()),
        street_address2: None,
        postal_code: Some("111 51".into()),
        city: Some("Stockholm".into()),
        country: Some("SE".into()),
        created_at: now,
        updated_at: now,
    };
    store.create_location(&location).await?;
    let device_token = secrets::new_device_token();
    let device = Device {
        id: DeviceId::new(),
        merchant_id: merchant.id,
        location_id: Some(location.id),
        name: Some("Demo Till".into()),
        platform: Platform::Terminal,
        hardware_id: None,
        metadata: Metadata::from([("simulated".to_string(), "true".to_string())]),
        push_token: None,
        created_at: now,
        last_seen_at: None,
        processor_reader: None,
    };
    store
        .create_device(&device, &secrets::hash(&device_token))
        .await?;
    Ok(Some(Demo {
        merchant,
        api_key,
        location,
        device,
        device_token,
    }))
}
