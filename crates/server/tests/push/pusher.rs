//! Routing by platform, clearing stale tokens in a real store, and `[push]` in kassa.toml.

use crate::fake_apns::{FakeApns, UNREGISTERED_TOKEN};
use crate::fake_fcm::FakeFcm;
use crate::{clock, device, KEYS, KEY_ID, TEAM_ID, TOPIC};
use kassa_core::session::Platform;
use kassa_core::SessionId;
use kassa_server::push::{NativePush, PushConfig, PushOutcome, Pusher};
use kassa_server::Config;
use kassa_store::{Backend, DeviceStore, MerchantStore, Mode};
use std::path::PathBuf;

const IOS_TOKEN: &str = "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad";
const ANDROID_TOKEN: &str = "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1";

async fn both(apns: &FakeApns, fcm: &FakeFcm) -> Pusher {
    let config = PushConfig {
        apns: Some(crate::apns::config(&apns.url)),
        fcm: Some(crate::fcm::config(fcm)),
    };
    Pusher::from_config(&config, clock()).unwrap()
}

#[tokio::test]
async fn each_platform_goes_to_its_own_service() {
    let clock = clock();
    let (apns, fcm) = (
        FakeApns::start(clock.clone()).await,
        FakeFcm::start(clock.clone()).await,
    );
    let pusher = both(&apns, &fcm).await;
    assert!(pusher.is_enabled());
    let session = SessionId::new();

    let ios = device(Platform::Ios, Some(IOS_TOKEN));
    assert_eq!(
        pusher.notify(&ios, session).await.unwrap(),
        PushOutcome::Delivered
    );
    let android = device(Platform::Android, Some(ANDROID_TOKEN));
    assert_eq!(
        pusher.notify(&android, session).await.unwrap(),
        PushOutcome::Delivered
    );
    assert_eq!(apns.accepted().len(), 1);
    assert_eq!(fcm.messages().len(), 1);

    for nothing in [
        device(Platform::Web, Some(IOS_TOKEN)),
        device(Platform::Terminal, Some(ANDROID_TOKEN)),
        device(Platform::Ios, None),
        device(Platform::Android, Some("")),
    ] {
        assert!(!pusher.reaches(&nothing));
        let outcome = pusher.notify(&nothing, session).await.unwrap();
        assert_eq!(outcome, PushOutcome::NoChannel, "{nothing:?}");
    }
    assert_eq!(apns.requests(), 1);
    assert_eq!(fcm.messages().len(), 1);

    // Only FCM configured: iOS devices have no channel.
    let only_fcm = PushConfig {
        apns: None,
        fcm: Some(crate::fcm::config(&fcm)),
    };
    let pusher = Pusher::from_config(&only_fcm, clock).unwrap();
    assert_eq!(
        pusher.notify(&ios, session).await.unwrap(),
        PushOutcome::NoChannel
    );
    let disabled = Pusher::disabled();
    assert!(!disabled.is_enabled());
    assert_eq!(
        disabled.notify(&android, session).await.unwrap(),
        PushOutcome::NoChannel
    );
}

async fn stale_tokens_are_cleared(backend: Backend) {
    let url = kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap();
    let store = kassa_store::connect(&url).await.unwrap();
    let merchant = kassa_store::Merchant {
        id: kassa_core::MerchantId::new(),
        name: "Push shop".into(),
        mode: Mode::Test,
        created_at: chrono::Utc::now(),
    };
    store.create_merchant(&merchant).await.unwrap();
    let mut stale = device(Platform::Ios, Some(UNREGISTERED_TOKEN));
    stale.merchant_id = merchant.id;
    store.create_device(&stale, "hash-stale").await.unwrap();
    let mut live = device(Platform::Ios, Some(IOS_TOKEN));
    live.merchant_id = merchant.id;
    store.create_device(&live, "hash-live").await.unwrap();

    let clock = clock();
    let (apns, fcm) = (
        FakeApns::start(clock.clone()).await,
        FakeFcm::start(clock).await,
    );
    let pusher = both(&apns, &fcm).await;
    let session = SessionId::new();
    let outcome = pusher
        .notify_and_prune(store.as_ref(), &stale, session)
        .await
        .unwrap();
    assert_eq!(outcome, PushOutcome::TokenStale);
    let outcome = pusher
        .notify_and_prune(store.as_ref(), &live, session)
        .await
        .unwrap();
    assert_eq!(outcome, PushOutcome::Delivered);

    let read = |id| {
        let store = store.clone();
        async move { store.get_device(merchant.id, id).await.unwrap().unwrap() }
    };
    assert_eq!(read(stale.id).await.push_token, None);
    assert_eq!(read(live.id).await.push_token.as_deref(), Some(IOS_TOKEN));
    // A late report about an old token leaves a newer one alone.
    assert!(!store.clear_push_token(live.id, "0ld70ken").await.unwrap());
    assert_eq!(read(live.id).await.push_token.as_deref(), Some(IOS_TOKEN));
    assert!(store.clear_push_token(live.id, IOS_TOKEN).await.unwrap());
    assert_eq!(read(live.id).await.push_token, None);
}

#[tokio::test]
async fn stale_tokens_are_cleared_sqlite() {
    stale_tokens_are_cleared(Backend::Sqlite).await;
}

#[tokio::test]
async fn stale_tokens_are_cleared_postgres() {
    stale_tokens_are_cleared(Backend::Postgres).await;
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kassa-push-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn kassa_toml_push_section_builds_working_adapters() {
    let clock = clock();
    let (apns, fcm) = (
        FakeApns::start(clock.clone()).await,
        FakeFcm::start(clock.clone()).await,
    );
    let dir = temp_dir();
    let key_path = dir.join(format!("AuthKey_{KEY_ID}.p8"));
    std::fs::write(&key_path, &KEYS.apns_pem).unwrap();
    let account_path = dir.join("service-account.json");
    std::fs::write(&account_path, fcm.service_account_json(crate::CLIENT_EMAIL)).unwrap();
    let toml = format!(
        r#"
[push.apns]
key_path = "{key}"
key_id = "{KEY_ID}"
team_id = "{TEAM_ID}"
topic = "{TOPIC}"
environment = "sandbox"
base_url = "{apns_url}"

[push.fcm]
service_account_path = "{account}"
base_url = "{fcm_url}"
"#,
        key = key_path.display(),
        account = account_path.display(),
        apns_url = apns.url,
        fcm_url = fcm.url,
    );
    let file = dir.join("kassa.toml");
    std::fs::write(&file, toml).unwrap();

    let config = Config::load(Some(&file)).unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("PRIVATE KEY"), "{printed}");
    let pusher = Pusher::from_config(&config.push, clock).unwrap();
    let session = SessionId::new();
    let ios = device(Platform::Ios, Some(IOS_TOKEN));
    assert_eq!(
        pusher.notify(&ios, session).await.unwrap(),
        PushOutcome::Delivered
    );
    let android = device(Platform::Android, Some(ANDROID_TOKEN));
    assert_eq!(
        pusher.notify(&android, session).await.unwrap(),
        PushOutcome::Delivered
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn push_is_off_without_the_section_and_checked_with_it() {
    let config = Config::defaults();
    assert_eq!(config.push, PushConfig::default());
    assert!(!Pusher::from_config(&config.push, clock())
        .unwrap()
        .is_enabled());

    let dir = temp_dir();
    let file = dir.join("kassa.toml");
    let cases = [
        // Both key sources.
        "[push.apns]\nkey_path = \"k.p8\"\nkey_pem = \"x\"\nkey_id = \"K\"\nteam_id = \"T\"\ntopic = \"a.b\"\n",
        // Neither.
        "[push.apns]\nkey_id = \"K\"\nteam_id = \"T\"\ntopic = \"a.b\"\n",
        "[push.apns]\nkey_pem = \"x\"\nkey_id = \"K\"\nteam_id = \"T\"\ntopic = \"a.b\"\nenvironment = \"staging\"\n",
        "[push.fcm]\n",
        "[push.fcm]\nservice_account_path = \"sa.json\"\nttl = \"later\"\n",
        "[push.gcm]\n",
    ];
    for case in cases {
        std::fs::write(&file, case).unwrap();
        assert!(Config::load(Some(&file)).is_err(), "accepted:\n{case}");
    }
    // Well-formed but the key file is missing: start-up fails naming the setting.
    std::fs::write(
        &file,
        "[push.apns]\nkey_path = \"/nonexistent/k.p8\"\nkey_id = \"K\"\nteam_id = \"T\"\ntopic = \"a.b\"\n",
    )
    .unwrap();
    let config = Config::load(Some(&file)).unwrap();
    let err = Pusher::from_config(&config.push, clock()).err().unwrap();
    assert!(err.to_string().contains("push.apns.key_path"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
