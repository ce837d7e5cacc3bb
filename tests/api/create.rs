//! `POST /sdtask/process`: what a new task looks like and every way a request can be refused.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::server::{start_with, TestServer};

const PROCESS: &str = "/api/v1.0/external/sdtask/process";

async fn post_json(server: &TestServer, body: &Value) -> reqwest::Response {
    server
        .call(Method::POST, PROCESS)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn post_raw(server: &TestServer, body: &str) -> (u16, Value) {
    let response = server
        .call(Method::POST, PROCESS)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn a_new_task_is_queued_with_the_documented_fields() {
    let server = start_with(false, |s| s).await;
    let task = server
        .create_task(json!({
            "displayName": "Invoice 17",
            "description": "March",
            "externalId": "erp-17",
            "priority": 2,
            "context": {"url": "https://example.com/invoice.pdf"},
            "metadata": {"costCenter": "42"},
            "customFormValues": {"any": ["thing"]},
            "taskAssignment": {"reviewers": []},
        }))
        .await;
    let keys: Vec<&str> = task
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "taskId",
        "workspaceId",
        "batchId",
        "taskNumber",
        "externalId",
        "displayName",
        "description",
        "createdOn",
        "taskStatus",
        "integrationStatus",
        "taskStatusText",
        "integrationStatusText",
        "totalPages",
        "preProcessingStartedOn",
    ];
    expected.sort();
    let mut keys = keys.clone();
    keys.sort();
    assert_eq!(
        keys, expected,
        "restartCount is absent until the task is reprocessed"
    );
    assert_eq!(task["taskStatus"], 30);
    assert_eq!(task["taskStatusText"], "QueuedForPreProcessing");
    assert_eq!(task["integrationStatus"], 1);
    assert_eq!(task["integrationStatusText"], "Never");
    assert_eq!(task["externalId"], "erp-17");
    assert_eq!(task["displayName"], "Invoice 17");
    assert_eq!(task["description"], "March");
    assert_eq!(task["batchId"], Value::Null);
    assert_eq!(task["taskNumber"], 1);
    assert_eq!(task["totalPages"], 0);
    assert_eq!(task["preProcessingStartedOn"], Value::Null);
    let created = task["createdOn"].as_str().unwrap();
    assert_eq!(created.len(), 20, "{created}");
    assert!(created.ends_with('Z'));

    // Task numbers are sequential per workspace; names are generated when absent.
    let second = server
        .create_task(json!({"context": {"url": "https://example.com/b.pdf"}}))
        .await;
    assert_eq!(second["taskNumber"], 2);
    assert_eq!(second["displayName"], "Task 2");
    assert_eq!(second["externalId"], Value::Null);
    assert_eq!(second["description"], Value::Null);
}

#[tokio::test]
async fn property_names_in_any_case_and_trailing_commas_are_accepted() {
    let server = start_with(false, |s| s).await;
    let (status, body) = post_raw(
        &server,
        r#"{"DisplayName": "x", "Context": {"URL": "https://example.com/a.pdf"},}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "x");
}

#[tokio::test]
async fn bad_requests_are_400_with_a_reason() {
    let server = start_with(false, |s| s).await;
    let cases = [
        "",
        "not json",
        "[1, 2]",
        r#"{"displayName": "no context"}"#,
        r#"{"context": {}}"#,
        r#"{"context": "https://example.com/a.pdf"}"#,
        r#"{"context": {"url": 42}}"#,
        r#"{"context": {"url": "not a url"}}"#,
        r#"{"context": {"url": "ftp://example.com/a.pdf"}}"#,
        r#"{"context": {"url": "file:///etc/passwd"}}"#,
        r#"{"workspaceId": "one", "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"workspaceId": 1.5, "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"workspaceId": true, "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"priority": "high", "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"batchId": "", "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"workspaceId": 999, "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"batchId": 999, "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"priority": 0, "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"externalId": "   ", "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"displayName": "", "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"metadata": {"a": 1}, "context": {"url": "https://example.com/a.pdf"}}"#,
        r#"{"metadata": ["a"], "context": {"url": "https://example.com/a.pdf"}}"#,
    ];
    for body in cases {
        let (status, problem) = post_raw(&server, body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(problem["status"], 400, "{body}");
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{body}");
    }
}

#[tokio::test]
async fn external_ids_are_unique_per_organisation() {
    let server = start_with(false, |s| s).await;
    let body = json!({"externalId": "dup", "context": {"url": "https://example.com/a.pdf"}});
    server.create_task(body.clone()).await;
    let response = post_json(&server, &body).await;
    assert_eq!(response.status(), 409);
}

#[tokio::test]
async fn a_batch_must_belong_to_the_workspace() {
    let server = start_with(false, |s| s).await;
    let org = server.credentials.organization.id;
    let other = server
        .docket
        .store()
        .create_workspace(org, "Second", None, "Layout", "eng")
        .await
        .unwrap();
    let batch = server
        .docket
        .store()
        .create_batch(org, other.id, "b", None)
        .await
        .unwrap();
    let url = json!({"url": "https://example.com/a.pdf"});
    let response = server
        .call(Method::POST, PROCESS)
        .json(&json!({"batchId": batch.id, "context": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        400,
        "the batch is not in the default workspace"
    );
    let task = server
        .create_task(json!({"workspaceId": other.id, "batchId": batch.id, "context": url}))
        .await;
    assert_eq!(task["batchId"], batch.id);
    assert_eq!(task["workspaceId"], other.id);
    assert_eq!(task["taskNumber"], 1, "numbering is per workspace");
}

#[tokio::test]
async fn multipart_requests_need_a_file_and_respect_the_size_limit() {
    let server = start_with(false, |s| s.max_file_bytes(1024)).await;
    let form = reqwest::multipart::Form::new().text("displayName", "no file");
    let response = server
        .call(Method::POST, PROCESS)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let form = reqwest::multipart::Form::new()
        .text("workspaceId", "abc")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![1u8; 10]).file_name("a.pdf"),
        );
    let response = server
        .call(Method::POST, PROCESS)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![1u8; 200 * 1024]).file_name("big.pdf"),
    );
    let response = server
        .call(Method::POST, PROCESS)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![2u8; 1000]).file_name("fits.pdf"),
    );
    server.create_multipart(form).await;
    // Uploads are spooled to disk on the way in, and the spool is emptied either way.
    let spool = server.data_dir().join("files/spool");
    assert_eq!(std::fs::read_dir(spool).unwrap().count(), 0);
}

#[tokio::test]
async fn json_bodies_are_capped_at_1_mib_whatever_the_file_limit() {
    let server = start_with(false, |s| s).await;
    let url = json!({"url": "https://example.com/a.pdf"});
    let fits = json!({"context": url, "description": "x".repeat(1000 * 1024)});
    assert_eq!(post_json(&server, &fits).await.status(), 200);
    let big = json!({"context": url, "description": "x".repeat(1024 * 1024)});
    let response = post_json(&server, &big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn metadata_is_bounded() {
    let server = start_with(false, |s| s).await;
    let url = json!({"url": "https://example.com/a.pdf"});
    let largest: serde_json::Map<String, Value> = (0..50)
        .map(|i| (format!("{i:0>128}"), json!("v".repeat(2048))))
        .collect();
    let task = server
        .create_task(json!({"context": url, "metadata": largest}))
        .await;
    assert_eq!(
        server.export(task["taskId"].as_i64().unwrap()).await["metadata"],
        Value::Object(largest.clone())
    );
    let mut too_many = largest.clone();
    too_many.insert("one more".into(), json!("v"));
    for metadata in [
        Value::Object(too_many),
        json!({"k".repeat(129): "v"}),
        json!({"k": "v".repeat(2049)}),
    ] {
        let response = post_json(&server, &json!({"context": url, "metadata": metadata})).await;
        assert_eq!(response.status(), 400);
    }
}

#[tokio::test]
async fn only_task_creation_takes_large_bodies() {
    let server = start_with(false, |s| s).await;
    let big = vec![b'x'; 2 * 1024 * 1024];
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(big.clone()).file_name("big.pdf"),
    );
    let task = server.create_multipart(form).await;
    assert_eq!(task["taskStatus"], 30, "a 2 MiB upload is accepted");
    let path = format!(
        "/api/v1.0/external/sdtask/externalIntegrationStatus?taskId={}",
        task["taskId"]
    );
    let patch = server
        .call(Method::PATCH, &path)
        .header("content-type", "application/json")
        .body(big.clone());
    assert_eq!(patch.send().await.unwrap().status(), 413);
    let token = server
        .http
        .post(server.url("/connect/token"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 413);
    let batch = server
        .call(Method::POST, "/api/v1.0/external/sdbatch")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 413);
}

#[tokio::test]
async fn external_ids_are_trimmed_and_looked_up_the_same_way() {
    let server = start_with(false, |s| s).await;
    let url = json!({"url": "https://example.com/a.pdf"});
    let padded = server
        .create_task(json!({"externalId": " X ", "context": url}))
        .await;
    assert_eq!(padded["externalId"], "X");
    let duplicate = post_json(&server, &json!({"externalId": "X", "context": url})).await;
    assert_eq!(duplicate.status(), 409, "a duplicate after trimming");
    let found = server
        .get_ok("/api/v1.0/external/sdtask/status?externalId=%20X%20")
        .await;
    assert_eq!(found["taskId"], padded["taskId"]);

    let longest = "é".repeat(256);
    let task = server
        .create_task(json!({"externalId": longest, "context": url}))
        .await;
    assert_eq!(task["externalId"], longest.as_str());
    for bad in ["a\nb", "tab\there", "bell\u{7}", &"x".repeat(257)] {
        let response = post_json(&server, &json!({"externalId": bad, "context": url})).await;
        assert_eq!(response.status(), 400, "{bad:?}");
    }
    let (status, _) = server
        .get_json("/api/v1.0/external/sdtask/status?externalId=a%0Ab")
        .await;
    assert_eq!(status, 400, "look-ups refuse what creation refuses");
}

#[tokio::test]
async fn integers_may_come_as_strings() {
    let server = start_with(false, |s| s).await;
    let (status, batch) = post_batch(&server, r#"{"displayName": "b", "workspaceId": "1"}"#).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["workspaceId"], 1);
    let batch_id = batch["batchId"].to_string();
    let task = server
        .create_task(json!({
            "workspaceId": "1", "batchId": &batch_id, "priority": " 2 ",
            "context": {"url": "https://example.com/a.pdf"},
        }))
        .await;
    assert_eq!(task["workspaceId"], 1);
    assert_eq!(task["batchId"], batch["batchId"]);
    // Multipart form fields are text anyway and follow the same rule.
    let form = reqwest::multipart::Form::new()
        .text("workspaceId", " 1 ")
        .text("batchId", batch_id)
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![1u8; 10]).file_name("a.pdf"),
        );
    assert_eq!(
        server.create_multipart(form).await["batchId"],
        batch["batchId"]
    );
    let (status, _) = post_batch(&server, r#"{"displayName": "b", "workspaceId": "x"}"#).await;
    assert_eq!(status, 400);
}

async fn post_batch(server: &TestServer, body: &str) -> (u16, Value) {
    let response = server
        .call(Method::POST, "/api/v1.0/external/sdbatch")
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
