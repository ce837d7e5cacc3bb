//! A task's original file, by bearer token or by the signed link in `originalFileUrl`. It came
//! from a client, so it is only ever served as a download of the type pre-processing detected,
//! never rendered in docket's origin: an uploaded HTML page or SVG with a script must not run
//! with access to anything.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::input::Query;
use super::tasks::{find_task, path_task_id};
use super::AppState;
use docket_domain::Timestamp;
use docket_store::Task;

/// Signs and checks the links handed out as `originalFileUrl`: like SmartDocumentor's they work
/// without a bearer token, but each opens one task's original only, until it expires. The
/// signature is an HMAC-SHA256 of the task id and expiry under a key kept in the data directory.
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

    fn mac(&self, task_id: i64, expires: i64) -> ApiResult<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).map_err(anyhow::Error::from)?;
        mac.update(format!("original-file:{task_id}:{expires}").as_bytes());
        Ok(mac)
    }

    /// `{base}/files/original/{taskId}?expires={unix seconds}&signature={base64url}`.
    pub fn url(&self, base: &str, task_id: i64, now: Timestamp) -> ApiResult<String> {
        let expires = now.millis() / 1000 + self.ttl_seconds;
        let signature = URL_SAFE_NO_PAD.encode(self.mac(task_id, expires)?.finalize().into_bytes());
        Ok(format!(
            "{base}/files/original/{task_id}?expires={expires}&signature={signature}"
        ))
    }

    /// Whether the link is genuine and unexpired; signatures are compared in constant time.
    fn verify(
        &self,
        task_id: i64,
        expires: Option<&str>,
        signature: Option<&str>,
        now: Timestamp,
    ) -> ApiResult<bool> {
        let expires = expires.and_then(|e| e.parse::<i64>().ok());
        let signature = signature.and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
        let (Some(expires), Some(signature)) = (expires, signature) else {
            return Ok(false);
        };
        if expires <= now.millis() / 1000 {
            return Ok(false);
        }
        Ok(self.mac(task_id, expires)?.verify_slice(&signature).is_ok())
    }
}

/// The task's original file, as downloaded or uploaded.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/originalfile/{taskid}",
    tag = "Tasks",
    params(("taskid" = i64, Path, description = "Task id")),
    responses(
        (status = 200, description = "The file as an attachment, typed as pre-processing detected it (application/octet-stream until then or when it is not a readable document)", content_type = "application/octet-stream"),
        (status = 404, description = "No such task, or no file kept yet"),
    )
)]
pub async fn original_file(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(taskid): Path<String>,
) -> ApiResult<Response> {
    let task = find_task(&state, tenant, &path_task_id(&taskid)?).await?;
    serve_original(&state, task).await
}

/// A task's original file by the signed link of its export (`originalFileUrl`); no token.
#[utoipa::path(
    get,
    path = "/files/original/{taskId}",
    tag = "Tasks",
    params(
        ("taskId" = i64, Path, description = "Task id"),
        ("expires" = i64, Query, description = "Unix time the link stops working"),
        ("signature" = String, Query, description = "The link's signature"),
    ),
    responses(
        (status = 200, description = "The file, as from `originalfile/{taskid}`", content_type = "application/octet-stream"),
        (status = 403, description = "The link has expired or was altered"),
        (status = 404, description = "The file is gone"),
    ),
    security(())
)]
pub async fn signed_original_file(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let forbidden = || ApiError::Forbidden("the link has expired or is not valid".into());
    let task_id: i64 = task_id.parse().map_err(|_| forbidden())?;
    let now = Timestamp::now();
    if !state
        .links
        .verify(task_id, query.get("expires"), query.get("signature"), now)?
    {
        return Err(forbidden());
    }
    let task = state
        .store
        .task_by_id(task_id)
        .await?
        .ok_or(ApiError::NotFound("original file"))?;
    serve_original(&state, task).await
}

async fn serve_original(state: &AppState, task: Task) -> ApiResult<Response> {
    let gone = || ApiError::NotFound("original file");
    let file = task.original.ok_or_else(gone)?;
    let bytes = state.blobs.find(&file.key).await?.ok_or_else(gone)?;
    let name = file
        .file_name
        .unwrap_or_else(|| format!("task-{}", task.summary.id));
    Ok((
        [
            (header::CONTENT_TYPE, file.media_type),
            (header::CONTENT_DISPOSITION, attachment(&name)),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// RFC 5987 `attr-char`s stay as they are; everything else is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition: attachment` naming the file twice (RFC 6266): a plain ASCII fallback
/// with anything that could break the quoting replaced, and the exact UTF-8 name encoded.
fn attachment(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if !matches!(c, '"' | '\\' | '%') => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_until_they_expire() {
        let links = FileLinks::new([7; 32], 1);
        let now = Timestamp::from_millis(1_000_000_000_000);
        let url = links.url("http://d", 5, now).unwrap();
        let query = url.split_once('?').unwrap().1;
        let (expires, signature) = query.split_once('&').unwrap();
        let expires = expires.strip_prefix("expires=").unwrap();
        let signature = signature.strip_prefix("signature=").unwrap();
        assert_eq!(expires, "1000086400");
        let check = |id, e: &str, s: &str, at| links.verify(id, Some(e), Some(s), at).unwrap();
        assert!(check(5, expires, signature, now));
        assert!(!check(6, expires, signature, now), "another task");
        assert!(!check(5, "1000086401", signature, now), "another expiry");
        assert!(!check(5, expires, "AAAA", now), "another signature");
        assert!(
            !check(5, expires, signature, now.plus_seconds(86_400)),
            "expired"
        );
        assert!(!links.verify(5, None, Some(signature), now).unwrap());
        let other_key = FileLinks::new([8; 32], 1);
        assert!(!other_key
            .verify(5, Some(expires), Some(signature), now)
            .unwrap());
    }

    #[test]
    fn attachment_names_cannot_break_out() {
        assert_eq!(
            attachment("a.pdf"),
            "attachment; filename=\"a.pdf\"; filename*=UTF-8''a.pdf"
        );
        assert_eq!(
            attachment("relatório \"1\";\\x%.pdf"),
            "attachment; filename=\"relat_rio _1_;_x_.pdf\"; \
             filename*=UTF-8''relat%C3%B3rio%20%221%22%3B%5Cx%25.pdf"
        );
    }
}
