//! Signed webhooks, as the Standard Webhooks specification has them: a workspace's endpoint and
//! its `whsec_` secret, a message's id and signature, the schedule of its attempts, and what
//! an answer means for the message.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;

use super::{Invalid, Timestamp};

const SECRET_PREFIX: &str = "whsec_";
/// Key bytes of a generated secret (the specification allows 24 to 64).
const SECRET_BYTES: usize = 32;

/// The key a workspace's messages are signed with, written `whsec_` + base64.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut key);
        WebhookSecret(key)
    }

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let key = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|key| (24..=64).contains(&key.len()))
            .ok_or_else(|| {
                Invalid("a webhook secret is whsec_ and 24 to 64 bytes in base64".into())
            })?;
        Ok(WebhookSecret(key))
    }

    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(format!("{message_id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// A new message id, `msg_` and 128 random bits: the same on every attempt of the message, so
/// receivers can drop repeats.
pub fn new_message_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("msg_{}", hex::encode(bytes))
}

/// The waits before each retry after a failed attempt; a message is given up after the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<u32>);

impl Default for RetrySchedule {
    /// Standard Webhooks' example: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (eight attempts
    /// over about 27 hours).
    fn default() -> Self {
        RetrySchedule(vec![5, 300, 1800, 7200, 18000, 36000, 36000])
    }
}

impl RetrySchedule {
    /// At most this many retries.
    const MAX_RETRIES: usize = 20;

    /// `5s,5m,30m,2h`: waits with a unit (s, m, h); empty for no retries.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bad = |part: &str| {
            Invalid(format!(
                "{part:?} is not a wait such as 30s, 5m or 2h (a retry schedule is a comma-separated list of them)"
            ))
        };
        let mut waits = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let split = part.len() - 1;
            let (number, unit) = part.split_at(split);
            let scale = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => return Err(bad(part)),
            };
            let number: u32 = number.parse().map_err(|_| bad(part))?;
            let wait = number
                .checked_mul(scale)
                .filter(|w| *w <= 7 * 24 * 3600)
                .ok_or_else(|| bad(part))?;
            waits.push(wait);
        }
        if waits.len() > Self::MAX_RETRIES {
            return Err(Invalid(format!("at most {} retries", Self::MAX_RETRIES)));
        }
        Ok(RetrySchedule(waits))
    }

    pub fn waits(&self) -> &[u32] {
        &self.0
    }

    /// When to try again after `attempts` failed attempts, or None when they are used up. The
    /// wait varies by up to a tenth either way, so endpoints that come back are not hit by every
    /// waiting message at once.
    pub fn next_attempt(&self, attempts: u32, now: Timestamp) -> Option<Timestamp> {
        let wait = *self.0.get(attempts.checked_sub(1)? as usize)?;
        let jitter = rand::rng().random_range(0.9..=1.1);
        let millis = (f64::from(wait) * 1000.0 * jitter).round() as i64;
        Some(Timestamp::from_millis(now.millis() + millis))
    }
}

impl std::fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|w| match w {
                w if w % 3600 == 0 && *w > 0 => format!("{}h", w / 3600),
                w if w % 60 == 0 && *w > 0 => format!("{}m", w / 60),
                w => format!("{w}s"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// What a workspace's messages carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookBody {
    /// The task's export (GetExportData).
    ExportData,
    /// URL-to-file: `{taskId, taskNumber, workspaceId, displayName, totalPages,
    /// exportedFileUrl}`, the link signed to work for this many hours (at most 168).
    FileUrl { link_hours: u32 },
}

impl WebhookBody {
    pub const MAX_LINK_HOURS: u32 = 168;

    pub fn name(self) -> &'static str {
        match self {
            WebhookBody::ExportData => "exportData",
            WebhookBody::FileUrl { .. } => "fileUrl",
        }
    }
}

/// A workspace's webhook: where its reviewed tasks are sent, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: String,
    pub body: WebhookBody,
    pub secret: WebhookSecret,
    pub enabled: bool,
    pub schedule: RetrySchedule,
    /// How long an attempt waits for the answer.
    pub timeout_seconds: u32,
    /// Why docket turned the endpoint off (it answered 410 Gone).
    pub disabled_reason: Option<String>,
}

/// A change to a workspace's webhook, as the API and the command line take it: what is None
/// stays as it was.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    /// `exportData` or `fileUrl`.
    pub body: Option<String>,
    /// For `fileUrl`: how long its links work, 1 to 168 hours (default 168).
    pub file_link_hours: Option<u32>,
    pub enabled: Option<bool>,
    /// Waits before each retry, as `RetrySchedule::parse` reads them.
    pub schedule: Option<String>,
    pub timeout_seconds: Option<u32>,
}

impl WebhookChange {
    /// The webhook after the change: `current`'s, or a new one with a new secret.
    pub fn apply(self, current: Option<WebhookSettings>) -> Result<WebhookSettings, Invalid> {
        let mut webhook = match (current, &self.url) {
            (Some(webhook), _) => webhook,
            (None, Some(_)) => WebhookSettings::new(String::new()),
            (None, None) => return Err(Invalid("a webhook needs a url".into())),
        };
        if let Some(url) = self.url {
            webhook.url = url::Url::parse(url.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| Invalid(format!("{url:?} is not an http or https URL")))?
                .to_string();
        }
        if let Some(enabled) = self.enabled {
            webhook.enabled = enabled;
        }
        let link_hours = match (self.body.as_deref(), webhook.body) {
            (Some("exportData"), _) => None,
            (Some("fileUrl"), _) => Some(WebhookBody::MAX_LINK_HOURS),
            (Some(other), _) => {
                return Err(Invalid(format!(
                    "body is exportData or fileUrl, not {other:?}"
                )))
            }
            (None, WebhookBody::FileUrl { link_hours }) => Some(link_hours),
            (None, WebhookBody::ExportData) => None,
        };
        webhook.body = match (link_hours, self.file_link_hours) {
            (None, Some(_)) => {
                return Err(Invalid("fileLinkHours is for a fileUrl body".into()));
            }
            (None, None) => WebhookBody::ExportData,
            (Some(default), hours) => {
                let link_hours = hours.unwrap_or(default);
                if !(1..=WebhookBody::MAX_LINK_HOURS).contains(&link_hours) {
                    return Err(Invalid(format!(
                        "fileLinkHours must be from 1 to {}",
                        WebhookBody::MAX_LINK_HOURS
                    )));
                }
                WebhookBody::FileUrl { link_hours }
            }
        };
        // Turned on again: whatever turned it off is past.
        if webhook.enabled {
            webhook.disabled_reason = None;
        }
        if let Some(schedule) = &self.schedule {
            webhook.schedule = RetrySchedule::parse(schedule)?;
        }
        if let Some(timeout) = self.timeout_seconds {
            if !(1..=WebhookSettings::MAX_TIMEOUT_SECONDS).contains(&timeout) {
                return Err(Invalid(format!(
                    "timeoutSeconds must be from 1 to {}",
                    WebhookSettings::MAX_TIMEOUT_SECONDS
                )));
            }
            webhook.timeout_seconds = timeout;
        }
        Ok(webhook)
    }
}

impl WebhookSettings {
    pub const DEFAULT_TIMEOUT_SECONDS: u32 = 15;
    /// The longest an attempt may wait for an answer.
    pub const MAX_TIMEOUT_SECONDS: u32 = 300;

    pub fn new(url: String) -> Self {
        WebhookSettings {
            url,
            body: WebhookBody::ExportData,
            secret: WebhookSecret::generate(),
            enabled: true,
            schedule: RetrySchedule::default(),
            timeout_seconds: Self::DEFAULT_TIMEOUT_SECONDS,
            disabled_reason: None,
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The endpoint answered with this status.
    Status(u16),
    /// No answer: refused, unreachable, timed out, or cut off.
    NoAnswer(String),
}

/// What to do with the message after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    Delivered,
    RetryAt(Timestamp),
    /// The attempts are used up: the task goes back to review, its integration failed.
    GiveUp(String),
    /// 410 Gone: the endpoint is turned off, and the message given up.
    EndpointGone(String),
}

/// A message taken for one attempt: its id, its task, and where and how to send it.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    pub id: String,
    pub task_id: i64,
    pub org_id: i64,
    pub workspace_id: i64,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub webhook: WebhookSettings,
}

/// One attempt as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub attempt: u32,
    pub started_at: Timestamp,
    /// None when no answer came.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The start of the answer's body, or why there was none.
    pub response: String,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    Pending,
    Delivered,
    Failed,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Delivered => "delivered",
            MessageState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A message of a task and its attempts so far: the task's delivery log.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message_id: String,
    pub created_at: Timestamp,
    pub state: MessageState,
    pub next_attempt_at: Option<Timestamp>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// The longest part of an answer's body kept with the attempt and as the failure reason.
pub const EXCERPT_CHARS: usize = 1000;

/// The next step after attempt number `attempts` (from 1) got `answer`, whose body began with
/// `excerpt`.
pub fn next_step(
    answer: &Answer,
    excerpt: &str,
    attempts: u32,
    schedule: &RetrySchedule,
    now: Timestamp,
) -> NextStep {
    let why = match answer {
        Answer::Status(status) if (200..300).contains(status) => return NextStep::Delivered,
        Answer::Status(410) => {
            return NextStep::EndpointGone(format!("the endpoint answered 410 Gone: {excerpt}"))
        }
        Answer::Status(status) => format!("the endpoint answered {status}: {excerpt}"),
        Answer::NoAnswer(why) => format!("no answer: {why}"),
    };
    match schedule.next_attempt(attempts, now) {
        Some(at) => NextStep::RetryAt(at),
        None => NextStep::GiveUp(format!("{why} (after {attempts} attempts)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_the_specification_example() {
        // From the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_refused() {
        let secret = WebhookSecret::generate();
        assert_eq!(WebhookSecret::parse(&secret.to_text()).unwrap(), secret);
        for bad in [
            "",
            "whsec_",
            "whsec_c2hvcnQ=",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert!(WebhookSecret::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{secret:?}").contains(&secret.to_text()[6..]));
    }

    #[test]
    fn schedules_parse_print_and_end() {
        let schedule = RetrySchedule::parse("1s, 2m,3h").unwrap();
        assert_eq!(schedule.waits(), [1, 120, 10800]);
        assert_eq!(schedule.to_string(), "1s,2m,3h");
        assert_eq!(
            RetrySchedule::default().to_string(),
            "5s,5m,30m,2h,5h,10h,10h"
        );
        assert_eq!(RetrySchedule::parse("").unwrap().waits(), [] as [u32; 0]);
        for bad in ["5", "5d", "-1s", "x", "999h"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
        let now = Timestamp::from_millis(1_000_000);
        let second = schedule.next_attempt(2, now).unwrap().millis() - now.millis();
        assert!((108_000..=132_000).contains(&second), "{second}");
        assert_eq!(schedule.next_attempt(4, now), None);
    }

    #[test]
    fn answers_decide_the_next_step() {
        let schedule = RetrySchedule::parse("1s").unwrap();
        let now = Timestamp::from_millis(0);
        let step = |answer: Answer, attempts| next_step(&answer, "body", attempts, &schedule, now);
        assert_eq!(step(Answer::Status(204), 1), NextStep::Delivered);
        assert!(matches!(step(Answer::Status(500), 1), NextStep::RetryAt(_)));
        assert!(matches!(
            step(Answer::NoAnswer("timed out".into()), 1),
            NextStep::RetryAt(_)
        ));
        match step(Answer::Status(500), 2) {
            NextStep::GiveUp(why) => {
                assert_eq!(why, "the endpoint answered 500: body (after 2 attempts)")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            step(Answer::Status(410), 1),
            NextStep::EndpointGone(_)
        ));
    }
}
