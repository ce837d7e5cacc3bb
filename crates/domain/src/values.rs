//! Validated request values: each type can only hold what the API accepts, so handlers and the
//! store never re-check them.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Why a value was refused; becomes a 400 with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// `externalIntegrationStatus`: not empty, not whitespace, at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIntegrationStatus(String);

impl ExternalIntegrationStatus {
    pub const MAX_CHARS: usize = 32;

    pub fn never() -> Self {
        ExternalIntegrationStatus("never".to_owned())
    }

    pub fn parse(value: &str) -> Result<Self, Invalid> {
        if value.trim().is_empty() {
            return Err(Invalid(
                "externalIntegrationStatus must not be empty or whitespace".into(),
            ));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!(
                "externalIntegrationStatus must not be longer than {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(ExternalIntegrationStatus(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's own identifier for a task, unique within its organisation. Creation and every
/// look-up parse it here, so `" X "` and `"X"` are the same id everywhere: trimmed, not empty,
/// no control characters, at most 256 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid("externalId must not be empty or whitespace".into()));
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid(
                "externalId must not contain control characters".into(),
            ));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!(
                "externalId must not be longer than {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(ExternalId(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Task priority: the API takes 1 for low and anything above for high; there are two levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    #[default]
    Low,
    High,
}

impl Priority {
    pub fn parse(value: i64) -> Result<Self, Invalid> {
        match value {
            1 => Ok(Priority::Low),
            v if v > 1 => Ok(Priority::High),
            _ => Err(Invalid("priority must be 1 (low) or more (high)".into())),
        }
    }

    /// Stored value; higher runs first.
    pub fn code(self) -> i64 {
        match self {
            Priority::Low => 1,
            Priority::High => 2,
        }
    }
}

/// A non-empty display name of bounded length.
pub fn display_name(field: &str, value: &str) -> Result<String, Invalid> {
    const MAX_CHARS: usize = 256;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > MAX_CHARS {
        return Err(Invalid(format!(
            "{field} must not be longer than {MAX_CHARS} characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Bounds of a task's `metadata`, which is stored with the task and returned in every export.
pub const MAX_METADATA_KEYS: usize = 50;
pub const MAX_METADATA_KEY_CHARS: usize = 128;
pub const MAX_METADATA_VALUE_CHARS: usize = 2048;

/// A task's `metadata` within the bounds above.
pub fn metadata(map: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Invalid> {
    if map.len() > MAX_METADATA_KEYS {
        return Err(Invalid(format!(
            "metadata must not have more than {MAX_METADATA_KEYS} keys"
        )));
    }
    for (key, value) in &map {
        if key.chars().count() > MAX_METADATA_KEY_CHARS {
            return Err(Invalid(format!(
                "metadata keys must not be longer than {MAX_METADATA_KEY_CHARS} characters"
            )));
        }
        if value.chars().count() > MAX_METADATA_VALUE_CHARS {
            return Err(Invalid(format!(
                "metadata value of {key:?} must not be longer than {MAX_METADATA_VALUE_CHARS} characters"
            )));
        }
    }
    Ok(map)
}

/// The last component of a client-supplied file name, without control characters, so a hostile
/// name cannot point anywhere else; None when nothing usable is left.
pub fn base_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let base: String = base.chars().filter(|c| !c.is_control()).collect();
    let base = base.trim();
    (!base.is_empty() && base != "." && base != "..").then(|| base.to_owned())
}

/// A moment in UTC, kept as Unix milliseconds (what the store keeps) and written as the API's
/// `2022-03-16T16:59:55Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    fn from_datetime(dt: OffsetDateTime) -> Self {
        Timestamp((dt.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Accepts RFC 3339 with any fractional precision and offset, and, as clients often send
    /// them, a date-time without offset (taken as UTC) or a bare date (midnight UTC).
    pub fn parse(field: &str, value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if let Ok(dt) = OffsetDateTime::parse(value, &Rfc3339) {
            return Ok(Self::from_datetime(dt));
        }
        let local = format_description!(
            version = 2,
            "[year]-[month]-[day][first [T] [ ]][hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
        );
        if let Ok(dt) = PrimitiveDateTime::parse(value, &local) {
            return Ok(Self::from_datetime(dt.assume_offset(UtcOffset::UTC)));
        }
        if let Ok(date) = time::Date::parse(value, format_description!("[year]-[month]-[day]")) {
            return Ok(Self::from_datetime(date.midnight().assume_utc()));
        }
        Err(Invalid(format!(
            "{field} is not a valid date-time (expected e.g. 2022-03-16T16:59:55Z): {value:?}"
        )))
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn to_api_string(self) -> String {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        self.datetime().format(&format).unwrap_or_default()
    }

    /// `2022-03-16T16:59:55.1230000Z`: .NET's seven fractional digits, as the docs show for
    /// batches (docket keeps milliseconds, so the last four are zero).
    pub fn to_api_string_fractional(self) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
        );
        self.datetime().format(&format).unwrap_or_default()
    }

    /// For `#[serde(serialize_with = ...)]` where the docs show fractional seconds.
    pub fn serialize_fractional<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_api_string_fractional())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_api_string())
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .examples(["2022-03-16T16:59:55Z"])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_integration_status_rules() {
        assert!(ExternalIntegrationStatus::parse("integrated").is_ok());
        assert!(ExternalIntegrationStatus::parse(&"x".repeat(32)).is_ok());
        assert!(ExternalIntegrationStatus::parse(&"x".repeat(33)).is_err());
        assert!(ExternalIntegrationStatus::parse("   ").is_err());
        assert!(ExternalIntegrationStatus::parse("").is_err());
    }

    #[test]
    fn external_ids_are_trimmed_and_bounded() {
        assert_eq!(ExternalId::parse(" X\t").unwrap().as_str(), "X");
        assert_eq!(ExternalId::parse("ext/1 ä").unwrap().as_str(), "ext/1 ä");
        assert!(ExternalId::parse(&"é".repeat(256)).is_ok());
        for bad in ["", "  ", "a\nb", "a\u{0}b", "a\u{7f}"] {
            assert!(ExternalId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ExternalId::parse(&"x".repeat(257)).is_err());
    }

    #[test]
    fn timestamps_parse_many_forms_and_print_one() {
        let expected = "2022-03-16T16:59:55Z";
        for input in [
            "2022-03-16T16:59:55Z",
            "2022-03-16T16:59:55.1234567Z",
            "2022-03-16T17:59:55+01:00",
            "2022-03-16T16:59:55",
            "2022-03-16 16:59:55.5",
        ] {
            let ts = Timestamp::parse("startDate", input).unwrap();
            assert_eq!(ts.to_api_string(), expected, "{input}");
        }
        assert_eq!(
            Timestamp::parse("d", "2022-03-16").unwrap().to_api_string(),
            "2022-03-16T00:00:00Z"
        );
        let precise = Timestamp::parse("d", "2022-03-16T16:59:55.1234567Z").unwrap();
        assert_eq!(
            precise.to_api_string_fractional(),
            "2022-03-16T16:59:55.1230000Z"
        );
        for bad in [
            "",
            "yesterday",
            "2022-13-01T00:00:00Z",
            "2022-03-16T25:00:00Z",
        ] {
            assert!(Timestamp::parse("d", bad).is_err(), "{bad}");
        }
    }
}
