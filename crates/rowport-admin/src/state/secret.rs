//! Random tokens, their digests, and password hashes.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::StateError;

/// Bytes of randomness in a token: 256 bits.
const TOKEN_BYTES: usize = 32;

/// A new random token: 64 lower-case hex digits from the operating system's CSPRNG
/// (through `rand`'s thread generator, which is seeded and reseeded from it).
pub(crate) fn token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// True when `text` has the shape of a token rowport makes (64 lower-case hex digits), so
/// that anything else — a path, a URL, an empty string — is refused before it reaches a
/// file name, a key or a query.
///
/// ```
/// use rowport_admin::state::is_token;
///
/// assert!(is_token(&"ab".repeat(32)));
/// assert!(!is_token("../../etc/passwd"));
/// assert!(!is_token(&"AB".repeat(32)));
/// ```
pub fn is_token(text: &str) -> bool {
    text.len() == TOKEN_BYTES * 2
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The SHA-256 of a secret token, in hex: what is stored for a session, so that a copy of
/// the state database or of Redis does not hold usable session ids.
pub(crate) fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The argon2id hash of a password, in PHC form (`$argon2id$v=19$…`), with a random salt.
pub(crate) fn hash_password(password: &str) -> Result<String, StateError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| StateError::Config(format!("cannot encode a password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StateError::Config(format!("cannot hash the password: {e}")))
}

/// Whether `password` matches `hash` (argon2's verify compares in constant time). A
/// malformed stored hash matches nothing.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, made once: a login for an unknown user is verified
/// against it, so that it costs what a wrong password costs and the timing does not tell
/// which user names exist.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&token()).unwrap_or_else(|_| {
            // Unreachable in practice (hashing fails only on bad parameters); a fixed,
            // well-formed hash with the default parameters keeps the cost the same.
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0p1kz2Xf5yQnS6kqG6p9gHk0yBvN3n5Xq8Cq6m2mY9E".to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let a = token();
        let b = token();
        assert!(is_token(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("s3cret"));
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("s3cret ", &hash));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn digests_are_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
