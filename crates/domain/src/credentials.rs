//! API credentials: random client ids, secrets and bearer tokens, and the hashes the store keeps
//! instead of them. Secrets and tokens are 256-bit random values, so a plain SHA-256 is a safe
//! one-way hash for them (no password stretching needed).

use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a client secret lives (the spec: at most one year).
pub const SECRET_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn new_client_id() -> String {
    random_hex(16)
}

/// A secret or bearer token: shown once, stored only as its hash.
pub fn new_secret() -> String {
    random_hex(32)
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
