//! Signed links to a task's files (`originalFileUrl`, and `exportedFileUrl` in URL-to-file
//! webhooks): like SmartDocumentor's they work without a bearer token, but each opens one
//! file of one task only, until it expires. The signature is an HMAC-SHA256 of the kind of
//! file, the task id and the expiry under a key kept with docket's data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Timestamp;

/// Which file of a task a link opens; a link for one never opens the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkedFile {
    Original,
    Exported,
}

impl LinkedFile {
    /// The link's path segment, after `/files/`.
    pub fn path(self) -> &'static str {
        match self {
            LinkedFile::Original => "original",
            LinkedFile::Exported => "exported",
        }
    }
}

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

    fn mac(&self, file: LinkedFile, task_id: i64, expires: i64) -> Hmac<Sha256> {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(format!("{}-file:{task_id}:{expires}", file.path()).as_bytes());
        mac
    }

    /// The original's link, for the configured lifetime:
    /// `{base}/files/original/{taskId}?expires={unix seconds}&signature={base64url}`.
    pub fn url(&self, base: &str, task_id: i64, now: Timestamp) -> String {
        let expires = now.plus_seconds(self.ttl_seconds);
        self.url_until(LinkedFile::Original, base, task_id, expires)
    }

    /// A link to the file that works until `expires`.
    pub fn url_until(
        &self,
        file: LinkedFile,
        base: &str,
        task_id: i64,
        expires: Timestamp,
    ) -> String {
        let expires = expires.millis() / 1000;
        let mac = self.mac(file, task_id, expires);
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let path = file.path();
        format!("{base}/files/{path}/{task_id}?expires={expires}&signature={signature}")
    }

    /// Whether the link to the file is genuine and unexpired; signatures are compared in
    /// constant time.
    pub fn verify(
        &self,
        file: LinkedFile,
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
        expires > now.millis() / 1000
            && self
                .mac(file, task_id, expires)
                .verify_slice(&signature)
                .is_ok()
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
        let check =
            |id, e: &str, s: &str, at| links.verify(LinkedFile::Original, id, Some(e), Some(s), at);
        assert!(check(5, expires, signature, now));
        assert!(!check(6, expires, signature, now), "another task");
        assert!(!check(5, "1000086401", signature, now), "another expiry");
        assert!(!check(5, expires, "AAAA", now), "another signature");
        assert!(
            !check(5, expires, signature, now.plus_seconds(86_400)),
            "expired"
        );
        assert!(!links.verify(LinkedFile::Original, 5, None, Some(signature), now));
        let other_key = FileLinks::new([8; 32], 1);
        let original = LinkedFile::Original;
        assert!(!other_key.verify(original, 5, Some(expires), Some(signature), now));
        let exported = LinkedFile::Exported;
        assert!(
            !links.verify(exported, 5, Some(expires), Some(signature), now),
            "a link to the original does not open the exported file"
        );
        let url = links.url_until(exported, "http://d", 5, now.plus_seconds(60));
        assert!(
            url.starts_with("http://d/files/exported/5?expires=1000000060&"),
            "{url}"
        );
    }
}
