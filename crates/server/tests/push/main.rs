//! The native push adapters against local fake APNs and FCM servers that check each request
//! the way Apple and Google document it: path, headers, JWT header and claims, signatures
//! (verified with the public key by an independent implementation: RustCrypto, where the
//! adapters sign with ring), payload. Keys are generated when the tests start; none is
//! committed.

mod apns;
mod fake_apns;
mod fake_fcm;
mod fcm;
mod pusher;
mod wiring;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use kassa_core::session::Platform;
use kassa_core::{DeviceId, MerchantId};
use kassa_server::clock::ManualClock;
use kassa_store::{Device, Metadata};
use std::sync::{Arc, LazyLock};

pub const KEY_ID: &str = "ABC123DEFG";
pub const TEAM_ID: &str = "DEF123GHIJ";
pub const TOPIC: &str = "com.example.kassa.pos";
pub const PROJECT_ID: &str = "kassa-test-project";
pub const CLIENT_EMAIL: &str = "kassa-push@kassa-test-project.iam.gserviceaccount.com";
pub const PRIVATE_KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// Test-only keys, made once per run.
pub struct Keys {
    pub apns_pem: String,
    pub apns_public: p256::ecdsa::VerifyingKey,
    pub fcm_pem: String,
    pub fcm_public: rsa::RsaPublicKey,
}

pub static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let mut rng = rand::rngs::OsRng;
    let ec = p256::SecretKey::random(&mut rng);
    let rsa = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    Keys {
        apns_pem: ec.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        apns_public: p256::ecdsa::VerifyingKey::from(ec.public_key()),
        fcm_pem: rsa.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        fcm_public: rsa.to_public_key(),
    }
});

/// A clock at a whole second of the real time, moved by the tests (token ages).
pub fn clock() -> Arc<ManualClock> {
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    Arc::new(ManualClock::new(now))
}

pub fn device(platform: Platform, push_token: Option<&str>) -> Device {
    Device {
        id: DeviceId::new(),
        merchant_id: MerchantId::new(),
        location_id: None,
        name: Some("Till 1".into()),
        platform,
        hardware_id: None,
        metadata: Metadata::new(),
        push_token: push_token.map(str::to_owned),
        created_at: Utc::now(),
        last_seen_at: None,
        processor_reader: None,
    }
}

/// A compact JWS split into its decoded header, decoded claims, signing input and signature.
pub struct Jws {
    pub header: serde_json::Value,
    pub claims: serde_json::Value,
    pub signing_input: String,
    pub signature: Vec<u8>,
}

pub fn parse_jws(jwt: &str) -> Result<Jws, String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(format!("not a compact JWS: {} parts", parts.len()));
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| format!("not base64url without padding: {e}"))
    };
    let json = |part: &str| -> Result<serde_json::Value, String> {
        serde_json::from_slice(&decode(part)?).map_err(|e| format!("not JSON: {e}"))
    };
    Ok(Jws {
        header: json(header)?,
        claims: json(claims)?,
        signing_input: format!("{header}.{claims}"),
        signature: decode(signature)?,
    })
}

/// Serves `router` on a free local port (HTTP/1.1 and cleartext HTTP/2); returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}
