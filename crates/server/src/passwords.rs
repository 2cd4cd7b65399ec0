//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), run off the async
//! threads since each hash deliberately takes tens of milliseconds.

use anyhow::{Context, Result, anyhow};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted; long passphrases are encouraged, so the cap is generous.
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1024;

/// Why a new password is refused, in words for the person choosing it.
pub fn check_new(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!("a password needs at least {MIN_LEN} characters"));
    }
    if password.len() > MAX_LEN {
        return Err(format!("a password may have at most {MAX_LEN} bytes"));
    }
    Ok(())
}

/// The PHC string to store for a password.
pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        // 16 random bytes from the OS, as the PHC format recommends.
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness for a salt: {e}"))?;
        let salt = SaltString::encode_b64(&bytes).map_err(|e| anyhow!("bad salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow!("cannot hash the password: {e}"))
    })
    .await
    .context("the hashing thread failed")?
}

/// Whether the password matches a stored PHC string; a malformed stored string never matches.
pub async fn verify(password: &str, stored: &str) -> Result<bool> {
    if password.len() > MAX_LEN {
        return Ok(false);
    }
    let password = password.to_owned();
    let stored = stored.to_owned();
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .context("the hashing thread failed")
}

/// A hash of a random password, verified against when the user does not exist, so a wrong
/// name costs as long as a wrong password and names cannot be probed by timing.
pub async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash(&crate::ids::new_link_secret())
                .await
                .unwrap_or_default()
        })
        .await
}
