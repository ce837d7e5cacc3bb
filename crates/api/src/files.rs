//! A task's original file, by bearer token or by the signed link in `originalFileUrl`
//! (`docket_domain::links`). It came from a client, so it is only ever served as a download of
//! the type pre-processing detected, never rendered in docket's origin: an uploaded HTML page
//! or SVG with a script must not run with access to anything.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::input::Query;
use super::tasks::{find_task, path_task_id};
use super::AppState;
use docket_domain::links::LinkedFile;
use docket_domain::Timestamp;
use docket_store::Task;

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
    serve_linked(&state, LinkedFile::Original, &task_id, &query).await
}

/// The exported file of a task by the signed link of a URL-to-file webhook
/// (`exportedFileUrl`); no token. The exported file is the document as the client sent it
/// (docket's choice until exports render files of their own).
#[utoipa::path(
    get,
    path = "/files/exported/{taskId}",
    tag = "Webhooks",
    params(
        ("taskId" = i64, Path, description = "Task id"),
        ("expires" = i64, Query, description = "Unix time the link stops working"),
        ("signature" = String, Query, description = "The link's signature"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, description = "The link has expired or was altered"),
        (status = 404, description = "The file is gone"),
    ),
    security(())
)]
pub async fn signed_exported_file(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    serve_linked(&state, LinkedFile::Exported, &task_id, &query).await
}

/// Serves the file a signed link opens: 403 for a link expired or altered, 404 once the file
/// is gone.
async fn serve_linked(
    state: &AppState,
    file: LinkedFile,
    task_id: &str,
    query: &Query,
) -> ApiResult<Response> {
    let forbidden = || ApiError::Forbidden("the link has expired or is not valid".into());
    let task_id: i64 = task_id.parse().map_err(|_| forbidden())?;
    let (expires, signature) = (query.get("expires"), query.get("signature"));
    if !state
        .links
        .verify(file, task_id, expires, signature, Timestamp::now())
    {
        return Err(forbidden());
    }
    let task = state
        .store
        .task_by_id(task_id)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    serve_original(state, task).await
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
