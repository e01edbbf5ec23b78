//! Secrets Kassa hands out (API keys, device tokens, pairing codes, portal session tokens)
//! and how it stores them: as SHA-256 hashes. The secrets are long random strings, so a fast
//! hash is enough (a slow password hash protects low-entropy input, see
//! `http/portal/password.rs`) and lets lookups use an index.

use kassa_store::Mode;
use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// No 0/O/1/I: a clerk types these from a screen.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// 10 symbols of 32 = 50 bits; with registration rate-limited, guessing one of many live codes
/// in its 2-hour life is out of reach.
const CODE_LEN: usize = 10;

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `kassa_test_…` / `kassa_live_…` with 190 random bits.
pub fn new_api_key(mode: Mode) -> String {
    format!("kassa_{}_{}", mode.as_str(), random_from(BASE62, 32))
}

/// What `admin key revoke` and the portal show to tell keys apart.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(18).collect()
}

/// The key's last four characters, shown beside the prefix. With the prefix's seven random
/// characters that reveals 11 of 32: the other 21 still carry about 125 bits.
pub fn key_last4(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

pub fn new_device_token() -> String {
    format!("kdt_{}", random_from(BASE62, 40))
}

/// A portal session token (the cookie) or CSRF token: 32 random bytes, base64url, 43 chars.
pub fn new_portal_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = OsRng.gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A generated portal password (`admin user create` without one, the playground demo):
/// 20 base62 characters, about 119 bits, so that it is never the weak link.
pub fn new_password() -> String {
    random_from(BASE62, 20)
}

/// A pairing code shown as `ABCDE-FGHJK`.
pub fn new_enrollment_code() -> String {
    let raw = random_from(CODE_ALPHABET, CODE_LEN);
    format!("{}-{}", &raw[..5], &raw[5..])
}

/// Codes are accepted with or without the dash, in any case, with stray spaces.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_avoid_ambiguous_characters_and_normalize() {
        for _ in 0..200 {
            let code = new_enrollment_code();
            assert_eq!(code.len(), 11);
            assert!(!code.contains(['0', 'O', '1', 'I']));
            let typed = code.to_lowercase().replace('-', " ");
            assert_eq!(normalize_code(&typed), code.replace('-', ""));
        }
    }

    #[test]
    fn portal_tokens_are_43_url_safe_characters_and_differ() {
        let a = new_portal_token();
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(a, new_portal_token());
        assert_eq!(new_password().len(), 20);
    }

    #[test]
    fn keys_carry_their_mode_and_differ() {
        let a = new_api_key(Mode::Test);
        assert!(a.starts_with("kassa_test_"));
        assert_ne!(a, new_api_key(Mode::Test));
        assert!(new_api_key(Mode::Live).starts_with("kassa_live_"));
        assert_eq!(key_last4(&a), a[a.len() - 4..]);
        assert_eq!(key_last4("abc"), "abc");
        assert_eq!(hash("x").len(), 64);
    }
}
