//! `PATCH /sdtask/restartprocessing` (seed 003): a destructive restart from the original.

use reqwest::Method;
use serde_json::json;

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{start, start_with, FileServer, TestServer};

async fn restart(server: &TestServer, query: &str) -> u16 {
    let path = format!("/api/v1.0/external/sdtask/restartprocessing?{query}");
    server
        .call(Method::PATCH, &path)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn set_external_status(server: &TestServer, id: i64, status: &str) {
    let path = format!("/api/v1.0/external/sdtask/externalIntegrationStatus?taskId={id}");
    let response = server
        .call(Method::PATCH, &path)
        .json(&json!({"externalIntegrationStatus": status}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn external_status_of(server: &TestServer, id: i64) -> String {
    for candidate in ["never", "integrated"] {
        let query = format!("startDate=2000-01-01T00:00:00Z&externalIntegrationStatus={candidate}");
        if server.listed_ids(&query).await.contains(&id) {
            return candidate.to_owned();
        }
    }
    panic!("task {id} has neither status");
}

#[tokio::test]
async fn reprocessing_drops_results_resets_statuses_and_rebuilds() {
    let mut server = start().await;
    let files = FileServer::start().await;
    let url = files.add(
        "doc.pdf",
        text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Reprocess me")]]),
    );
    let id = server
        .create_task(json!({"externalId": "r-1", "context": {"url": url}}))
        .await["taskId"]
        .as_i64()
        .unwrap();
    let first = server.wait_for(id, &[3]).await;
    let first_export = server.export(id).await;
    assert_eq!(
        first_export["chunks"][0]["entities"][0]["keyValues"][0]["content"],
        "Reprocess"
    );
    set_external_status(&server, id, "integrated").await;
    assert_eq!(external_status_of(&server, id).await, "integrated");

    // Without workers, the state right after the restart stays observable.
    server.stop_workers().await;
    assert_eq!(restart(&server, &format!("taskId={id}")).await, 200);
    let restarted = server.status(id).await;
    assert_eq!(restarted["taskStatus"], 30);
    assert_eq!(restarted["restartCount"], 1);
    assert_eq!(restarted["integrationStatus"], 1);
    assert_eq!(external_status_of(&server, id).await, "never");
    assert_eq!(
        server.export(id).await["chunks"],
        json!([]),
        "results dropped"
    );
    let history = server.history(id).await;
    assert_eq!(history.last().unwrap()["taskStatus"], 30);
    assert_eq!(history.last().unwrap()["reason"], "reprocessing requested");

    server.start_workers();
    let done = server.wait_for(id, &[3]).await;
    assert_eq!(done["restartCount"], 1);
    assert!(
        done["preProcessingStartedOn"].as_str().unwrap()
            >= first["preProcessingStartedOn"].as_str().unwrap()
    );
    // Rebuilt from the kept original: the same words, recognised anew.
    let rebuilt = server.export(id).await;
    assert_eq!(
        rebuilt["chunks"][0]["entities"],
        first_export["chunks"][0]["entities"]
    );
    assert_eq!(
        files.hits("doc.pdf"),
        1,
        "the original was not downloaded again"
    );
}

#[tokio::test]
async fn reprocessing_counts_and_errors() {
    let server = start_with(false, |s| s).await;
    let id = server
        .create_task(json!({"externalId": "c-1", "context": {"url": "https://example.com/a.pdf"}}))
        .await["taskId"]
        .as_i64()
        .unwrap();
    assert_eq!(restart(&server, "externalId=c-1").await, 200);
    assert_eq!(restart(&server, &format!("taskid={id}")).await, 200);
    assert_eq!(server.status(id).await["restartCount"], 2);
    assert_eq!(restart(&server, "").await, 400);
    assert_eq!(restart(&server, "taskId=abc").await, 400);
    assert_eq!(restart(&server, "taskId=999").await, 404);
    assert_eq!(restart(&server, "externalId=none").await, 404);
}
