//! A task's export (GetExportData): what recognition found, with the reviewers' edits over it
//! and who reviewed it, for the API, the review page and the webhooks alike.

use docket_domain::export::{average_confidence, chunks_from_recognition, ExportData};
use docket_domain::review;
use docket_domain::text::PageText;
use docket_domain::understanding::Understanding;
use docket_store::{Store, Task};

/// The export, and the recognised pages it was made from (empty before recognition).
/// `original_file_url`: the signed link to the task's original, when it has one.
pub async fn export_and_pages(
    store: &Store,
    task: Task,
    original_file_url: Option<String>,
) -> anyhow::Result<(ExportData, Vec<PageText>)> {
    let mut recognised = Vec::new();
    let chunks = match store.task_result(task.summary.id).await? {
        Some(result) => {
            let pages: Vec<PageText> = serde_json::from_str(&result.pages_json)?;
            let mut understanding: Understanding =
                serde_json::from_str(&result.understanding_json)?;
            // What reviewers changed, over what recognition found.
            let edits = store.field_edits(task.summary.id).await?;
            let audits = review::apply(&mut understanding, &edits);
            let mut chunks = chunks_from_recognition(&pages, &understanding, result.recognized_at);
            review::stamp(&mut chunks, &audits);
            recognised = pages;
            chunks
        }
        None => Vec::new(),
    };
    let checkout = store.checkout(task.summary.id).await?;
    let export = ExportData {
        task_id: task.summary.id,
        original_file_url,
        workspace_id: task.summary.workspace_id,
        batch_id: task.summary.batch_id,
        task_number: task.summary.task_number,
        external_id: task.summary.external_id,
        display_name: task.summary.display_name,
        description: task.summary.description,
        total_pages: task.summary.total_pages,
        last_checkout_by_user_name: checkout.as_ref().map(|c| c.user_name.clone()),
        last_checked_out_by: checkout.as_ref().and_then(|c| c.user_id),
        last_checked_out_until: checkout.map(|c| c.until),
        average_confidence: average_confidence(&chunks),
        chunks,
        last_integrated_by: None,
        last_integrated_by_user_name: None,
        last_integrated_on: task.last_integrated_at,
        metadata: task.metadata,
    };
    Ok((export, recognised))
}
