//! A task's life after its work: deleting and cancelling it, and the sweeper (run here with a
//! moved clock) putting back what is stuck and removing deleted tasks' files.

use reqwest::Method;
use serde_json::Value;

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{start, FileServer, TestServer};
use docket::domain::lifecycle::LifecyclePolicy;
use docket::domain::Timestamp;
use docket::pipeline::sweeper;

async fn upload_to_review(server: &TestServer) -> i64 {
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Delete me")]]);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf).file_name("a.pdf"),
    );
    let task = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    server.wait_for(task, &[3]).await;
    task
}

async fn step(server: &TestServer, method: Method, path: &str) -> (u16, Value) {
    let response = server.call(method, path).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// One sweep as if `days` had passed.
async fn sweep_after(server: &TestServer, seconds: i64) -> sweeper::Swept {
    let state = &server.docket.state;
    let later = Timestamp::now().plus_seconds(seconds);
    sweeper::sweep(
        &state.store,
        &state.blobs,
        &LifecyclePolicy::default(),
        later,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_deleted_task_loses_its_results_at_once_and_its_file_after_retention() {
    let server = start().await;
    let task = upload_to_review(&server).await;
    let key = server
        .docket
        .store()
        .task_by_id(task)
        .await
        .unwrap()
        .unwrap()
        .original
        .unwrap()
        .key;
    let (status, _) = step(
        &server,
        Method::DELETE,
        &format!("/api/v1.0/external/sdtask/{task}"),
    )
    .await;
    assert_eq!(status, 200);
    let deleted = server.status(task).await;
    assert_eq!(deleted["taskStatusText"], "Deleted");
    assert!(
        deleted["inHistorySince"].is_string(),
        "moved to history: {deleted}"
    );
    let listed = |in_history: bool| {
        let server = &server;
        async move {
            let path = format!(
                "/api/v1.0/external/sdtask/statuslist?startDate=2000-01-01&inHistory={in_history}"
            );
            let (status, list) = step(server, Method::GET, &path).await;
            assert_eq!(status, 200, "{list}");
            list.as_array().unwrap().len()
        }
    };
    assert_eq!((listed(true).await, listed(false).await), (1, 0));
    let statuses: Vec<i64> = server
        .history(task)
        .await
        .iter()
        .map(|e| e["taskStatus"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses[statuses.len() - 2..], [19, 20]);
    assert_eq!(server.export(task).await["chunks"], serde_json::json!([]));
    let (status, _) = step(&server, Method::DELETE, "/api/v1.0/external/sdtask/999999").await;
    assert_eq!(status, 404);

    let blobs = &server.docket.state.blobs;
    assert_eq!(
        sweep_after(&server, 3600).await.files_removed,
        0,
        "kept during retention"
    );
    assert!(blobs.find(&key).await.unwrap().is_some());
    assert_eq!(sweep_after(&server, 31 * 24 * 3600).await.files_removed, 1);
    assert!(
        blobs.find(&key).await.unwrap().is_none(),
        "removed after retention"
    );
}

#[tokio::test]
async fn a_running_task_can_be_cancelled_and_nothing_else() {
    let server = start().await;
    let files = FileServer::start().await;
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Slow")]]);
    let task = server
        .create_url_task(&files.add_gated("slow.pdf", pdf))
        .await;
    server.wait_for(task, &[31]).await;
    let cancel = format!("/api/v1.0/external/sdtask/{task}/cancel");
    let (status, _) = step(&server, Method::POST, &cancel).await;
    assert_eq!(status, 200);
    files.open_gate();
    let last = server.history(task).await.pop().unwrap();
    assert_eq!(
        (&last["taskStatus"], &last["reason"]),
        (&Value::from(32), &Value::from("cancelled"))
    );
    let (status, problem) = step(&server, Method::POST, &cancel).await;
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test]
async fn a_task_left_in_review_goes_back_flagged() {
    let server = start().await;
    let task = upload_to_review(&server).await;
    let (status, _) = step(
        &server,
        Method::POST,
        &format!("/api/v1.0/external/sdtask/{task}/checkout"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sweep_after(&server, 600).await.reverted,
        0,
        "the checkout still holds"
    );
    assert_eq!(sweep_after(&server, 2 * 3600).await.reverted, 1);
    assert_eq!(server.status(task).await["taskStatus"], 3);
    let last = server.history(task).await.pop().unwrap();
    let reason = last["reason"].as_str().unwrap();
    assert!(reason.contains("put back from InReview (4)"), "{reason}");
    assert_eq!(
        server.status(task).await["flag"],
        reason,
        "the API shows the flag"
    );
    let flagged = server
        .call(
            Method::GET,
            "/api/v1.0/external/sdtask/statuslist?startDate=2000-01-01&Flagged=TRUE",
        )
        .send()
        .await
        .unwrap();
    let flagged: Value = flagged.json().await.unwrap();
    assert_eq!(flagged.as_array().unwrap().len(), 1, "{flagged}");
    assert_eq!(flagged[0]["taskId"], task);
}
