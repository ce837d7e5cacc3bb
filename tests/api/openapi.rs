//! `/openapi.json` describes every route the router serves.

use serde_json::{json, Value};

use crate::common::server::start_with;

#[tokio::test]
async fn openapi_lists_every_route() {
    let server = start_with(false, |s| s).await;
    let response = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/connect/token", "post"),
        ("/api/v1.0/external/sdtask/process", "post"),
        ("/api/v1.0/external/sdtask/status", "get"),
        ("/api/v1.0/external/sdtask/statuslist", "get"),
        ("/api/v1.0/external/sdtask/statuslistpaginated", "get"),
        (
            "/api/v1.0/external/sdtask/externalIntegrationStatus",
            "patch",
        ),
        ("/api/v1.0/sdtask/externalIntegrationStatus", "patch"),
        ("/api/v1.0/external/sdtask/restartprocessing", "patch"),
        ("/api/v1.0/external/sdtask/GetExportData/{taskid}", "get"),
        ("/api/v1.0/external/sdtask/GetExportData", "get"),
        ("/api/v1.0/external/sdtask/originalfile/{taskid}", "get"),
        ("/api/v1.0/external/sdtask/statushistory", "get"),
        ("/api/v1.0/external/sdworkspace/CurrentWorkspaces", "get"),
        ("/api/v1.0/external/sdbatch", "post"),
        ("/api/v1.0/external/sdbatch", "get"),
        ("/api/v1.0/external/sdbatch/paginated", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "TaskStatusResponse",
        "ExportData",
        "CreateTaskRequest",
        "BatchResponse",
        "WorkspaceResponse",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(
        doc["security"],
        json!([{"bearer": []}]),
        "every route needs the bearer token ..."
    );
    assert_eq!(
        paths["/connect/token"]["post"]["security"],
        json!([{}]),
        "... but the token endpoint"
    );
}
