//! Reading requests the way SmartDocumentor clients send them: query names in any case
//! (`taskid`/`taskId`), repeated query keys, JSON property names in any case (ASP.NET binds them
//! case-insensitively) and the trailing commas of the docs' own curl examples.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use docket_domain::{ExternalId, IntegrationStatus, TaskStatus, Timestamp};
use docket_store::{Page, TaskRef};

/// The query string as (name, value) pairs, names compared case-insensitively.
pub struct Query(Vec<(String, String)>);

/// The longest text a list can be searched for (an externalId's own limit).
pub const MAX_SEARCH_CHARS: usize = 256;

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let raw = parts.uri.query().unwrap_or_default();
        Ok(Query(
            form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

impl Query {
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of a single-valued parameter; empty counts as absent.
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .last()
    }

    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        self.get(name).map(|v| parse_int(name, v)).transpose()
    }

    /// `true` or `false` in any case, as ASP.NET binds a bool.
    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::BadRequest(format!(
                    "{name} must be true or false, not {v:?}"
                ))),
            })
            .transpose()
    }

    /// A text to search for: at most `MAX_SEARCH_CHARS` characters.
    pub fn search(&self, name: &str) -> ApiResult<Option<String>> {
        match self.get(name) {
            Some(v) if v.chars().count() > MAX_SEARCH_CHARS => Err(ApiError::BadRequest(format!(
                "{name} must be at most {MAX_SEARCH_CHARS} characters"
            ))),
            v => Ok(v.map(str::to_owned)),
        }
    }

    pub fn ints(&self, name: &str) -> ApiResult<Vec<i64>> {
        self.all(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| parse_int(name, v))
            .collect()
    }

    pub fn timestamp(&self, name: &str) -> ApiResult<Option<Timestamp>> {
        Ok(self
            .get(name)
            .map(|v| Timestamp::parse(name, v))
            .transpose()?)
    }

    /// `taskId` and/or `externalId`; at least one is required.
    pub fn task_ref(&self) -> ApiResult<TaskRef> {
        let id = self.int("taskId")?;
        let external = self.get("externalId").map(ExternalId::parse).transpose()?;
        match (id, external) {
            (Some(id), Some(external)) => Ok(TaskRef::Both(id, external)),
            (Some(id), None) => Ok(TaskRef::Id(id)),
            (None, Some(external)) => Ok(TaskRef::External(external)),
            (None, None) => Err(ApiError::BadRequest(
                "taskId or externalId must be specified".into(),
            )),
        }
    }

    /// Repeated `taskStatus`: numeric codes or names.
    pub fn task_statuses(&self) -> ApiResult<Vec<TaskStatus>> {
        self.all("taskStatus")
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                let v = v.trim();
                v.parse()
                    .ok()
                    .and_then(TaskStatus::from_code)
                    .or_else(|| {
                        TaskStatus::ALL
                            .iter()
                            .copied()
                            .find(|s| s.name().eq_ignore_ascii_case(v))
                    })
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!("taskStatus {v:?} is not a task status"))
                    })
            })
            .collect()
    }

    /// Repeated `integrationStatus`: numeric codes or names.
    pub fn integration_statuses(&self) -> ApiResult<Vec<IntegrationStatus>> {
        self.all("integrationStatus")
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                let v = v.trim();
                v.parse()
                    .ok()
                    .and_then(IntegrationStatus::from_code)
                    .or_else(|| {
                        IntegrationStatus::ALL
                            .iter()
                            .copied()
                            .find(|s| s.name().eq_ignore_ascii_case(v))
                    })
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "integrationStatus {v:?} is not an integration status"
                        ))
                    })
            })
            .collect()
    }

    /// `sort`: a property name from `names`, `-` in front for descending. Returns None when absent.
    pub fn sort<F: Copy>(&self, names: &[(&str, F)]) -> ApiResult<Option<(F, bool)>> {
        let Some(value) = self.get("sort") else {
            return Ok(None);
        };
        let (name, descending) = match value.strip_prefix('-') {
            Some(name) => (name, true),
            None => (value.strip_prefix('+').unwrap_or(value), false),
        };
        let field = names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, f)| *f);
        match field {
            Some(field) => Ok(Some((field, descending))),
            None => {
                let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                Err(ApiError::BadRequest(format!(
                    "cannot sort by {name:?}; use one of {}",
                    known.join(", ")
                )))
            }
        }
    }

    /// `pageNumber` (from 1, default 1) and `pageSize` (1..=1000, default 10).
    pub fn page(&self) -> ApiResult<Page> {
        const MAX_PAGE_SIZE: i64 = 1000;
        let number = self.int("pageNumber")?.unwrap_or(1);
        let size = self.int("pageSize")?.unwrap_or(10);
        if !(1..=i64::from(u32::MAX)).contains(&number) {
            return Err(ApiError::BadRequest("pageNumber must be 1 or more".into()));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(ApiError::BadRequest(format!(
                "pageSize must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        Ok(Page {
            number: number as u32,
            size: size as u32,
        })
    }
}

fn parse_int(name: &str, value: &str) -> ApiResult<i64> {
    value
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{name} must be an integer, not {value:?}")))
}

/// For `#[serde(default, deserialize_with = "int_or_string")]` on every integer of a JSON body:
/// a number, or a string holding one (`"workspaceId": "2"`), as ASP.NET's web defaults read
/// them. Anything else, a non-numeric string included, is refused.
pub fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Value::deserialize(d)?;
    let parsed = match &value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected an integer, not {value}")))
}

/// Parses a JSON body leniently (see the module doc) into `T`, whose camelCase property names
/// are listed in `names` so that any-case spellings map to them.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], names: &[&str]) -> ApiResult<T> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest("a JSON body is required".into()));
    }
    from_json_value(parse_lenient(text)?, names)
}

/// JSON text, tolerating trailing commas.
pub fn parse_lenient(text: &str) -> ApiResult<Value> {
    serde_json::from_str(&strip_trailing_commas(text))
        .map_err(|e| ApiError::BadRequest(format!("not valid JSON: {e}")))
}

/// `T` from a JSON object whose keys may be spelled in any case.
pub fn from_json_value<T: DeserializeOwned>(mut value: Value, names: &[&str]) -> ApiResult<T> {
    canonical_keys(&mut value, names);
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
}

/// Renames the object's keys that match one of `names` ignoring case to that spelling.
pub fn canonical_keys(value: &mut Value, names: &[&str]) {
    if let Value::Object(map) = value {
        let renames: Vec<(String, &str)> = map
            .keys()
            .filter_map(|k| {
                names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(k) && **n != k)
                    .map(|n| (k.clone(), *n))
            })
            .collect();
        for (from, to) in renames {
            if let Some(v) = map.remove(&from) {
                map.insert(to.to_owned(), v);
            }
        }
    }
}

/// Drops commas that directly precede `}` or `]` outside strings.
fn strip_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut pending_comma: Option<usize> = None;
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '}' | ']' => {
                if let Some(at) = pending_comma.take() {
                    out.remove(at);
                }
            }
            c if c.is_whitespace() => {
                out.push(c);
                continue;
            }
            _ => pending_comma = None,
        }
        if c == ',' {
            pending_comma = Some(out.len());
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_are_dropped_outside_strings() {
        assert_eq!(
            strip_trailing_commas("{\"a\": \"x,}\",\n}"),
            "{\"a\": \"x,}\"\n}"
        );
        assert_eq!(strip_trailing_commas("[1, 2, ]"), "[1, 2 ]");
        assert_eq!(
            strip_trailing_commas("{\"a\": 1, \"b\": [1,2]}"),
            "{\"a\": 1, \"b\": [1,2]}"
        );
        assert_eq!(
            strip_trailing_commas("{\"a\": \"q\\\",\",}"),
            "{\"a\": \"q\\\",\"}"
        );
    }

    #[test]
    fn integers_may_come_as_strings() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "int_or_string")]
            n: Option<i64>,
        }
        let n = |json: &str| json_body::<Body>(json.as_bytes(), &["n"]).map(|b| b.n);
        assert_eq!(n(r#"{"n": 2}"#).unwrap(), Some(2));
        assert_eq!(n(r#"{"n": " -3 "}"#).unwrap(), Some(-3));
        assert_eq!(n(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(n("{}").unwrap(), None);
        for bad in [r#""two""#, r#""""#, "1.5", "true", "[1]", r#""1e3""#] {
            assert!(n(&format!(r#"{{"n": {bad}}}"#)).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_match_in_any_case() {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            external_integration_status: String,
        }
        let body: Body = json_body(
            br#"{"ExternalIntegrationStatus": "done",}"#,
            &["externalIntegrationStatus"],
        )
        .unwrap();
        assert_eq!(body.external_integration_status, "done");
    }
}
