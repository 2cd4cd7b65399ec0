//! Random public identifiers and secrets.
//!
//! Ids shown to users are unguessable (80 random bits) and never derived from content, so
//! knowing a file does not let anyone find it on the server.

use sha2::{Digest, Sha256};

/// Lower-case, unambiguous alphabet (Crockford base32 without i, l, o, u).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS random source failing is not something a server can carry on from.
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A new public id: 16 characters, 80 random bits.
pub fn new_id() -> String {
    base32(&random_bytes::<10>())
}

/// A new API token secret: 256 random bits with a recognisable prefix.
pub fn new_token() -> String {
    format!("dly_{}", base32(&random_bytes::<32>()))
}

/// A new secret for a link (a web-seed URL): 160 random bits, 32 URL-safe characters.
pub fn new_link_secret() -> String {
    base32(&random_bytes::<20>())
}

/// Whether a string has the shape of [`new_link_secret`]; anything else is refused unread.
pub fn is_valid_link_secret(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| ALPHABET.contains(&b))
}

/// Tokens are stored only as this hash; a leaked database reveals no usable token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a string has the shape of an id we hand out; checked before it goes near a path.
pub fn is_valid_id(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_valid() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert!(is_valid_id(&a));
        assert!(!is_valid_id("../etc/passwd...."));
        assert!(!is_valid_id("ABCDEFGHJKMNPQRS"));
    }

    #[test]
    fn token_hash_is_stable() {
        assert_eq!(token_hash("x"), token_hash("x"));
        assert_ne!(token_hash("x"), token_hash("y"));
        assert!(new_token().starts_with("dly_"));
    }
}
