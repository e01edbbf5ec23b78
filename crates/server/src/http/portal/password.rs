//! Portal passwords: argon2id hashes in PHC strings (`$argon2id$v=19$m=…`).
//!
//! Parameters are the `argon2` crate's defaults, m = 19 MiB, t = 2, p = 1: OWASP's
//! recommended argon2id setting, tens of milliseconds on one core, so a stolen database costs
//! an attacker that much per guess per password while a sign-in barely notices. The PHC
//! string carries its parameters, so raising them later still verifies older hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use rand::Rng;

/// Shortest password accepted when one is given (`admin user create` on stdin).
pub const MIN_CHARS: usize = 12;
/// Longest password accepted anywhere: a longer one is no stronger, only slower to hash.
pub const MAX_BYTES: usize = 1024;

/// The rules a new password must meet; the message names what is wrong.
pub fn check_new(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_CHARS {
        return Err(format!(
            "the password must have at least {MIN_CHARS} characters"
        ));
    }
    if password.len() > MAX_BYTES {
        return Err(format!("the password must be at most {MAX_BYTES} bytes"));
    }
    Ok(())
}

/// Hashes with a fresh 128-bit salt. CPU-bound for tens of milliseconds: call it from a
/// blocking thread in the server.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt: [u8; 16] = OsRng.gen();
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let hashed = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hashed.to_string())
}

/// True if `password` matches the stored PHC string. The final comparison is constant-time
/// (the crate compares outputs with `subtle`); a malformed stored hash matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// The hash of a random password that was thrown away, with the parameters `hash` uses (a
/// test keeps them in step). Checked for emails nobody has.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$rZF8E8spKbXv/bmSl+uy2g$\
    olb2PYbYDz5dnw4z0GTtgz7hzxbFem4n/d5e09UIqrs";

/// Verifies against `phc`, or, for an email nobody has, against `DUMMY`, so the answer
/// takes as long either way and timing does not tell which emails exist. Always false for
/// an unknown email, whatever the password.
pub fn verify_or_dummy(password: &str, phc: Option<&str>) -> bool {
    match phc {
        Some(phc) => verify(password, phc),
        None => {
            let _ = verify(password, DUMMY);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(phc, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn unknown_users_never_verify_and_cost_the_same() {
        assert!(!verify_or_dummy("anything at all", None));
        let phc = hash("anything at all").unwrap();
        let params = |h: &str| h.rsplitn(3, '$').nth(2).unwrap().to_string();
        assert_eq!(
            params(DUMMY),
            params(&phc),
            "the dummy must cost what a real check costs"
        );
        assert!(PasswordHash::new(DUMMY).is_ok());
    }

    #[test]
    fn new_passwords_need_twelve_characters() {
        assert!(check_new("elevenchars").is_err());
        assert!(check_new("twelve chars").is_ok());
        assert!(check_new("åäöåäöåäöåäö").is_ok(), "characters, not bytes");
        assert!(check_new(&"x".repeat(MAX_BYTES + 1)).is_err());
    }
}
