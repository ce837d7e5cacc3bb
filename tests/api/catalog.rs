//! `/sdworkspace/CurrentWorkspaces` and `/sdbatch`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::server::{start_with, TestServer};

async fn create_batch(server: &TestServer, body: Value) -> (u16, Value) {
    let response = server
        .call(Method::POST, "/api/v1.0/external/sdbatch")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn workspaces_list_the_organisations_own() {
    let server = start_with(false, |s| s).await;
    let org = server.credentials.organization.id;
    server
        .docket
        .store()
        .create_workspace(
            org,
            "Faturas",
            Some("PT invoices"),
            "InvoicesPortugal",
            "por",
        )
        .await
        .unwrap();
    let workspaces: Value = server
        .get_json("/api/v1.0/external/sdworkspace/CurrentWorkspaces")
        .await
        .1;
    assert_eq!(
        workspaces,
        json!([
            {
                "workspaceId": 1, "tenantId": org, "workspaceName": "Default", "workspaceDescription": null,
                "isDefault": true, "taskType": 10, "taskTypeText": "Document",
                "workspaceType": 1, "workspaceTypeText": "Standard",
                "templateType": 4, "templateTypeText": "Layout", "workspaceTemplateName": "Layout"
            },
            {
                "workspaceId": 2, "tenantId": org, "workspaceName": "Faturas", "workspaceDescription": "PT invoices",
                "isDefault": false, "taskType": 10, "taskTypeText": "Document",
                "workspaceType": 1, "workspaceTypeText": "Standard",
                "templateType": 1, "templateTypeText": "InvoicesPortugal",
                "workspaceTemplateName": "Invoices (Portugal)"
            }
        ])
    );
}

#[tokio::test]
async fn batches_are_created_read_and_counted() {
    let server = start_with(false, |s| s).await;
    let (status, batch) = create_batch(
        &server,
        json!({"displayName": "March", "description": "invoices"}),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    let id = batch["batchId"].as_i64().unwrap();
    assert_eq!(batch["workspaceId"], 1);
    assert_eq!(batch["displayName"], "March");
    assert_eq!(batch["description"], "invoices");
    assert_eq!(batch["totalTasks"], 0);
    assert_eq!(batch["totalTasksInHistory"], 0);
    // Seven fractional digits, as the docs show for batches (tasks have none).
    let created = batch["createdOn"].as_str().unwrap();
    assert_eq!(created.len(), 28, "{created}");
    assert_eq!(&created[19..20], ".", "{created}");
    assert!(
        created[20..27].chars().all(|c| c.is_ascii_digit()),
        "{created}"
    );
    assert!(
        created.ends_with("0000Z"),
        "milliseconds are kept: {created}"
    );

    for _ in 0..2 {
        let task = server
            .create_task(json!({"batchId": id, "context": {"url": "https://example.com/a.pdf"}}))
            .await;
        assert_eq!(task["batchId"], id);
    }
    server
        .create_url_task("https://example.com/not-in-batch.pdf")
        .await;
    let read: Value = server
        .get_json(&format!("/api/v1.0/external/sdbatch?batchId={id}"))
        .await
        .1;
    assert_eq!(read["totalTasks"], 2);
    assert_eq!(read["batchId"], id);
    let read_lower: Value = server
        .get_json(&format!("/api/v1.0/external/sdbatch?batchid={id}"))
        .await
        .1;
    assert_eq!(read_lower, read);

    for (path, expected) in [
        ("/api/v1.0/external/sdbatch".to_owned(), 400),
        ("/api/v1.0/external/sdbatch?batchId=x".to_owned(), 400),
        ("/api/v1.0/external/sdbatch?batchId=999".to_owned(), 404),
    ] {
        assert_eq!(
            server.get(&path).send().await.unwrap().status(),
            expected,
            "{path}"
        );
    }
    for body in [
        json!({}),
        json!({"displayName": "  "}),
        json!({"displayName": 5}),
        json!({"displayName": "x", "workspaceId": 99}),
    ] {
        assert_eq!(create_batch(&server, body.clone()).await.0, 400, "{body}");
    }
}

#[tokio::test]
async fn batches_paginate_and_filter() {
    let server = start_with(false, |s| s).await;
    let org = server.credentials.organization.id;
    let second = server
        .docket
        .store()
        .create_workspace(org, "Second", None, "Layout", "eng")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            create_batch(&server, json!({"displayName": format!("b{n}")}))
                .await
                .1["batchId"]
                .as_i64()
                .unwrap(),
        );
    }
    let other = create_batch(
        &server,
        json!({"displayName": "z", "workspaceId": second.id}),
    )
    .await
    .1;
    let page = |query: &str| {
        let request = server.get(&format!("/api/v1.0/external/sdbatch/paginated?{query}"));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let all = page("").await;
    assert_eq!(all["totalCount"], 4);
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    let first = page("pageSize=2&sort=-batchId").await;
    assert_eq!(first["items"][0]["batchId"], other["batchId"]);
    assert_eq!(first["totalPages"], 2);
    assert_eq!(first["hasNextPage"], true);
    let beyond = page("pageSize=2&pageNumber=9").await;
    assert_eq!(
        (beyond["items"].clone(), beyond["totalCount"].clone()),
        (json!([]), json!(4))
    );
    let in_default = page("workspaceId=1").await;
    let listed: Vec<i64> = in_default["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["batchId"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(
        page("startDate=2999-01-01T00:00:00Z").await["totalCount"],
        0
    );
    for query in ["startDate=bad", "sort=nope", "pageSize=0", "workspaceId=x"] {
        let response = server
            .get(&format!("/api/v1.0/external/sdbatch/paginated?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
    }
}
