//! Creating merchants, keys and portal users (for `kassa admin`) and the playground's demo
//! data.

use crate::secrets;
use chrono::{DateTime, Utc};
use kassa_core::session::Platform;
use kassa_core::{ApiKeyId, DeviceId, LocationId, MerchantId};
use kassa_store::{ApiKey, Device, Location, Merchant, Metadata, Mode, Store, StoreError};

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
    let (_, key) = issue_key(store, merchant, None, now).await?;
    Ok(key)
}

/// Creates an API key of the merchant's mode and returns its stored record and the key
/// itself, which exists only in this answer (the store keeps its hash).
pub async fn issue_key(
    store: &dyn Store,
    merchant: &Merchant,
    description: Option<String>,
    now: DateTime<Utc>,
) -> Result<(ApiKey, String), StoreError> {
    let key = secrets::new_api_key(merchant.mode);
    let record = ApiKey {
        id: ApiKeyId::new(),
        merchant_id: merchant.id,
        key_hash: secrets::hash(&key),
        prefix: secrets::key_prefix(&key),
        last4: Some(secrets::key_last4(&key)),
        description,
        mode: merchant.mode,
        created_at: now,
        revoked_at: None,
    };
    store.create_api_key(&record).await?;
    Ok((record, key))
}

/// What the playground prints on its first start.
pub struct Demo {
    pub merchant: Merchant,
    pub api_key: String,
    pub location: Location,
    pub device: Device,
    pub device_token: String,
    /// The demo portal admin's email and password.
    pub portal_email: String,
    pub portal_password: String,
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
    let role = kassa_store::PortalRole::Admin;
    let (user, portal_password) =
        create_portal_user(store, merchant.id, DEMO_EMAIL, role, None, now).await?;
    Ok(Some(Demo {
        merchant,
        api_key,
        location,
        device,
        device_token,
        portal_email: user.email,
        portal_password: portal_password.unwrap_or_default(),
    }))
}

/// The playground's demo portal login (`.local` is reserved: it can be nobody's address).
pub const DEMO_EMAIL: &str = "demo@kassa.local";

/// Creates a portal user of `merchant`. With `password` `None` a strong one is generated
/// and returned, the only time it exists in clear; a given one must pass
/// `password::check_new`. Emails are unique across merchants (sign-in asks for no
/// merchant), compared in any case.
pub async fn create_portal_user(
    store: &dyn Store,
    merchant: MerchantId,
    email: &str,
    role: kassa_store::PortalRole,
    password: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<(kassa_store::PortalUser, Option<String>)> {
    use crate::http::portal::password as pw;
    let email = check_email(email)?;
    if let Some(given) = password {
        pw::check_new(given).map_err(anyhow::Error::msg)?;
    }
    let generated = password.is_none().then(secrets::new_password);
    let clear = password.map(str::to_string).or_else(|| generated.clone());
    let clear = clear.unwrap_or_default();
    // Tens of milliseconds of CPU: off the async workers.
    let phc = tokio::task::spawn_blocking(move || pw::hash(&clear)).await??;
    let user = kassa_store::PortalUser {
        id: kassa_store::PortalUserId::new(),
        merchant_id: merchant,
        email,
        role,
        created_at: now,
    };
    store
        .create_portal_user(&user, &phc)
        .await
        .map_err(|e| match e {
            kassa_store::StoreError::Duplicate(kassa_store::Duplicate::Email) => {
                anyhow::anyhow!("a portal user with this email exists")
            }
            kassa_store::StoreError::BadReference { .. } => {
                anyhow::anyhow!("no merchant {merchant}")
            }
            other => other.into(),
        })?;
    Ok((user, generated))
}

/// A plausible address, lower-cased: one `@` between non-empty parts, a dot in the
/// domain, no spaces or control characters, at most 254 characters (SMTP's limit).
pub fn check_email(email: &str) -> anyhow::Result<String> {
    let email = kassa_store::normalize_email(email);
    let plausible = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !plausible {
        anyhow::bail!("{email:?} is not an email address");
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::check_email;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            check_email(" Ann@Shop.Example ").unwrap(),
            "ann@shop.example"
        );
        assert_eq!(check_email("demo@kassa.local").unwrap(), "demo@kassa.local");
        for bad in [
            "",
            "ann",
            "@shop.example",
            "ann@",
            "ann@shop",
            "a b@shop.example",
            "a@b@c.d",
            "ann@.example",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
