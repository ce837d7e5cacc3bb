//! `/openapi.json` describes every route the router serves.

use serde_json::{json, Value};

use crate::common::server::{json_of, start_with};

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
        json!([]),
        "... but the token endpoint"
    );
}

#[tokio::test]
async fn openapi_documents_bodies_errors_and_constraints() {
    let server = start_with(false, |s| s).await;
    let doc = json_of(server.http.get(server.url("/openapi.json"))).await;
    let schemas = &doc["components"]["schemas"];
    let paths = &doc["paths"];
    let process = &paths["/api/v1.0/external/sdtask/process"]["post"];

    // JSON and multipart bodies are two schemas; the multipart one carries the file.
    let content = &process["requestBody"]["content"];
    assert_eq!(
        content["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateTaskRequest"
    );
    assert_eq!(
        content["multipart/form-data"]["schema"]["$ref"],
        "#/components/schemas/CreateTaskForm"
    );
    let form = &schemas["CreateTaskForm"];
    assert_eq!(form["properties"]["file"]["format"], "binary");
    assert_eq!(form["required"], json!(["file"]));
    let create = &schemas["CreateTaskRequest"];
    assert_eq!(create["required"], json!(["context"]), "{create}");
    assert_eq!(create["properties"]["context"]["required"], json!(["url"]));
    assert_eq!(create["properties"]["externalId"]["minLength"], 1);
    assert_eq!(create["properties"]["externalId"]["maxLength"], 256);

    // Errors: the problem body, and a 401 wherever a token is needed.
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    for code in ["400", "401", "409", "413"] {
        assert_eq!(
            process["responses"][code]["content"]["application/problem+json"]["schema"], problem,
            "{code}"
        );
    }
    let status = &paths["/api/v1.0/external/sdtask/status"]["get"];
    for code in ["400", "401", "404"] {
        assert_eq!(
            status["responses"][code]["content"]["application/problem+json"]["schema"], problem,
            "{code}"
        );
    }
    let mut problem_fields: Vec<&str> = schemas["Problem"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    problem_fields.sort();
    assert_eq!(problem_fields, ["detail", "status", "title", "type"]);
    let token = &paths["/connect/token"]["post"]["responses"];
    assert!(
        token.get("401").is_none(),
        "the token endpoint needs no token"
    );
    assert_eq!(
        token["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OAuthError"
    );

    // Constraints match what is accepted.
    let params = |path: &str| paths[path]["get"]["parameters"].as_array().unwrap().clone();
    let param = |path: &str, name: &str| {
        params(path)
            .into_iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} {name}"))
    };
    let paginated = "/api/v1.0/external/sdtask/statuslistpaginated";
    assert_eq!(param(paginated, "pageNumber")["schema"]["minimum"], 1);
    assert_eq!(param(paginated, "pageSize")["schema"]["maximum"], 1000);
    let batches = "/api/v1.0/external/sdbatch/paginated";
    assert_eq!(param(batches, "pageNumber")["schema"]["minimum"], 1);
    let external = param("/api/v1.0/external/sdtask/status", "externalId");
    assert_eq!(external["schema"]["maxLength"], 256);
    assert_eq!(external["schema"]["minLength"], 1);
}
