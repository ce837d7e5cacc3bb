//! `PATCH /sdtask/externalIntegrationStatus` (seed 000) and `GET /sdtask/status` (seed 001).

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::server::{start_with, TestServer};

async fn patch(server: &TestServer, path: &str, body: &str) -> u16 {
    let response = server
        .call(Method::PATCH, path)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

async fn listed_with(server: &TestServer, status: &str) -> Vec<i64> {
    server
        .listed_ids(&format!(
            "startDate=2000-01-01T00:00:00Z&externalIntegrationStatus={status}"
        ))
        .await
}

#[tokio::test]
async fn external_integration_status_is_set_and_filterable() {
    let server = start_with(false, |s| s).await;
    let task = server
        .create_task(json!({"externalId": "e-1", "context": {"url": "https://example.com/a.pdf"}}))
        .await;
    let id = task["taskId"].as_i64().unwrap();
    let other = server.create_url_task("https://example.com/b.pdf").await;
    assert_eq!(
        listed_with(&server, "never").await,
        [id, other],
        "the default is never"
    );

    // The docs' own curl example: no /external, trailing comma in the body.
    let path = format!("/api/v1.0/sdtask/externalIntegrationStatus?taskId={id}");
    assert_eq!(
        patch(
            &server,
            &path,
            "{\n    \"externalIntegrationStatus\": \"my-custom-status\",\n}"
        )
        .await,
        200
    );
    assert_eq!(listed_with(&server, "my-custom-status").await, [id]);
    assert_eq!(listed_with(&server, "never").await, [other]);
    assert_eq!(
        listed_with(&server, "My-Custom-STATUS").await,
        [id],
        "the filter ignores case"
    );
    let page = server
        .get_ok("/api/v1.0/external/sdtask/statuslistpaginated?startDate=2000-01-01T00:00:00Z&externalIntegrationStatus=NEVER")
        .await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["items"][0]["taskId"], other);

    let by_external = "/api/v1.0/external/sdtask/externalIntegrationStatus?externalId=e-1";
    let max = "x".repeat(32);
    assert_eq!(
        patch(
            &server,
            by_external,
            &json!({"externalIntegrationStatus": max}).to_string()
        )
        .await,
        200
    );
    assert_eq!(listed_with(&server, &max).await, [id]);
    // The response has no body.
    let response = server
        .call(Method::PATCH, by_external)
        .json(&json!({"externalIntegrationStatus": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn external_integration_status_errors() {
    let server = start_with(false, |s| s).await;
    let id = server.create_url_task("https://example.com/a.pdf").await;
    let path = format!("/api/v1.0/external/sdtask/externalIntegrationStatus?taskId={id}");
    for body in [
        json!({"externalIntegrationStatus": "x".repeat(33)}).to_string(),
        json!({"externalIntegrationStatus": "   "}).to_string(),
        json!({"externalIntegrationStatus": ""}).to_string(),
        json!({"externalIntegrationStatus": null}).to_string(),
        json!({"externalIntegrationStatus": 7}).to_string(),
        json!({}).to_string(),
        String::new(),
        "nope".to_owned(),
    ] {
        assert_eq!(patch(&server, &path, &body).await, 400, "{body}");
    }
    let ok = json!({"externalIntegrationStatus": "ok"}).to_string();
    assert_eq!(
        patch(
            &server,
            "/api/v1.0/external/sdtask/externalIntegrationStatus",
            &ok
        )
        .await,
        400
    );
    assert_eq!(
        patch(
            &server,
            "/api/v1.0/external/sdtask/externalIntegrationStatus?taskId=x",
            &ok
        )
        .await,
        400
    );
    assert_eq!(
        patch(
            &server,
            "/api/v1.0/external/sdtask/externalIntegrationStatus?taskId=999",
            &ok
        )
        .await,
        404
    );
    assert_eq!(
        patch(
            &server,
            "/api/v1.0/external/sdtask/externalIntegrationStatus?externalId=zz",
            &ok
        )
        .await,
        404
    );
    assert_eq!(listed_with(&server, "never").await, [id], "nothing changed");
}

#[tokio::test]
async fn status_by_id_or_external_id_in_any_case() {
    let server = start_with(false, |s| s).await;
    let task = server
        .create_task(
            json!({"externalId": "ext/1 ä", "context": {"url": "https://example.com/a.pdf"}}),
        )
        .await;
    let id = task["taskId"].as_i64().unwrap();
    let found = |path: String| {
        let request = server.get(&path);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for path in [
        format!("/api/v1.0/external/sdtask/status?taskid={id}"),
        format!("/api/v1.0/external/sdtask/status?taskId={id}"),
        format!("/api/v1.0/external/sdtask/status?TASKID={id}"),
        "/api/v1.0/external/sdtask/status?externalId=ext%2F1%20%C3%A4".to_owned(),
        "/api/v1.0/external/sdtask/status?externalid=ext%2F1%20%C3%A4".to_owned(),
        format!("/api/v1.0/external/sdtask/status?taskId={id}&externalId=ext%2F1%20%C3%A4"),
    ] {
        let (status, body) = found(path.clone()).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, task, "{path}");
    }
    for (path, expected) in [
        ("/api/v1.0/external/sdtask/status".to_owned(), 400),
        ("/api/v1.0/external/sdtask/status?taskId=".to_owned(), 400),
        (
            "/api/v1.0/external/sdtask/status?taskId=abc".to_owned(),
            400,
        ),
        (
            "/api/v1.0/external/sdtask/status?taskId=99999999999999999999".to_owned(),
            400,
        ),
        (
            "/api/v1.0/external/sdtask/status?taskId=999".to_owned(),
            404,
        ),
        (
            "/api/v1.0/external/sdtask/status?externalId=nope".to_owned(),
            404,
        ),
        (
            format!("/api/v1.0/external/sdtask/status?taskId={id}&externalId=other"),
            404,
        ),
    ] {
        assert_eq!(found(path.clone()).await.0, expected, "{path}");
    }
}
