//! Signed links to a task's files (`originalFileUrl`): like SmartDocumentor's they work without
//! a bearer token, but each opens one task's file only, until it expires. The signature is an
//! HMAC-SHA256 of the task id and expiry under a key kept with docket's data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Timestamp;

#[derive(Clone)]
pub struct FileLinks {
    key: [u8; 32],
    ttl_seconds: i64,
}

impl FileLinks {
    pub fn new(key: [u8; 32], ttl_days: i64) -> Self {
        FileLinks {
            key,
            ttl_seconds: ttl_days.saturating_mul(24 * 3600),
        }
    }

    fn mac(&self, task_id: i64, expires: i64) -> Hmac<Sha256> {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(format!("original-file:{task_id}:{expires}").as_bytes());
        mac
    }

    /// `{base}/files/original/{taskId}?expires={unix seconds}&signature={base64url}`.
    pub fn url(&self, base: &str, task_id: i64, now: Timestamp) -> String {
        let expires = now.millis() / 1000 + self.ttl_seconds;
        let signature = URL_SAFE_NO_PAD.encode(self.mac(task_id, expires).finalize().into_bytes());
        format!("{base}/files/original/{task_id}?expires={expires}&signature={signature}")
    }

    /// Whether the link is genuine and unexpired; signatures are compared in constant time.
    pub fn verify(
        &self,
        task_id: i64,
        expires: Option<&str>,
        signature: Option<&str>,
        now: Timestamp,
    ) -> bool {
        let expires = expires.and_then(|e| e.parse::<i64>().ok());
        let signature = signature.and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
        let (Some(expires), Some(signature)) = (expires, signature) else {
            return false;
        };
        expires > now.millis() / 1000 && self.mac(task_id, expires).verify_slice(&signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_until_they_expire() {
        let links = FileLinks::new([7; 32], 1);
        let now = Timestamp::from_millis(1_000_000_000_000);
        let url = links.url("http://d", 5, now);
        let query = url.split_once('?').unwrap().1;
        let (expires, signature) = query.split_once('&').unwrap();
        let expires = expires.strip_prefix("expires=").unwrap();
        let signature = signature.strip_prefix("signature=").unwrap();
        assert_eq!(expires, "1000086400");
        let check = |id, e: &str, s: &str, at| links.verify(id, Some(e), Some(s), at);
        assert!(check(5, expires, signature, now));
        assert!(!check(6, expires, signature, now), "another task");
        assert!(!check(5, "1000086401", signature, now), "another expiry");
        assert!(!check(5, expires, "AAAA", now), "another signature");
        assert!(
            !check(5, expires, signature, now.plus_seconds(86_400)),
            "expired"
        );
        assert!(!links.verify(5, None, Some(signature), now));
        let other_key = FileLinks::new([8; 32], 1);
        assert!(!other_key.verify(5, Some(expires), Some(signature), now));
    }
}
