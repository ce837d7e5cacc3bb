//! Route paths match in any case, as SmartDocumentor's ASP.NET routes do.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::server::start_with;

#[tokio::test]
async fn route_paths_match_in_any_case() {
    let server = start_with(false, |s| s).await;
    let id = server
        .create_task(json!({"externalId": "e", "context": {"url": "https://example.com/a.pdf"}}))
        .await["taskId"]
        .as_i64()
        .unwrap();
    let list = server
        .get_ok("/API/V1.0/External/SDTask/statusList?startDate=2000-01-01")
        .await;
    assert_eq!(list[0]["taskId"], id);
    let export = server
        .get_ok(&format!("/api/v1.0/external/sdtask/getexportdata/{id}"))
        .await;
    assert_eq!(export["taskId"], id);
    let by_query = server
        .get_ok("/api/v1.0/external/sdtask/GETEXPORTDATA?externalId=e")
        .await;
    assert_eq!(by_query["taskId"], id);
    let response = server
        .http
        .post(server.url("/Connect/Token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &server.credentials.organization.client_id),
            ("client_secret", &server.credentials.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let patch = server
        .call(
            Method::PATCH,
            "/API/v1.0/SDTASK/ExternalIntegrationStatus?externalId=e",
        )
        .json(&json!({"externalIntegrationStatus": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    // Parameters keep their case; unknown paths stay unknown.
    let (status, body) = server
        .get_json("/api/v1.0/external/sdtask/GetExportData/AbC")
        .await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("AbC"), "{body}");
    let (status, _): (u16, Value) = server.get_json("/API/v1.0/external/nothing").await;
    assert_eq!(status, 404);
}
