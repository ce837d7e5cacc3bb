//! Every error is `application/problem+json` with the same shape, the router's and extractors'
//! own included; only `/connect/token` answers RFC 6749 JSON.

use reqwest::{Method, Response};
use serde_json::Value;

use crate::common::server::start_with;

async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["detail", "status", "title", "type"], "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(!body["detail"].as_str().unwrap().is_empty(), "{body}");
    body
}

#[tokio::test]
async fn framework_errors_are_problems_too() {
    let server = start_with(false, |s| s).await;
    let unknown = server
        .get("/api/v1.0/external/nothing")
        .send()
        .await
        .unwrap();
    let body = problem(unknown, 404).await;
    assert_eq!(body["title"], "Not Found");

    let wrong_method = server
        .call(Method::DELETE, "/api/v1.0/external/sdtask/status?taskId=1")
        .send()
        .await
        .unwrap();
    assert!(wrong_method.headers().contains_key("allow"));
    problem(wrong_method, 405).await;

    let too_large = server
        .http
        .post(server.url("/connect/token"))
        .body(vec![b'x'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    problem(too_large, 413).await;

    let bad_path = server
        .get("/api/v1.0/external/sdtask/GetExportData/%FF")
        .send()
        .await
        .unwrap();
    problem(bad_path, 400).await;

    // The handlers' own errors keep their shape and headers.
    let unauthorized = server
        .http
        .get(server.url("/api/v1.0/external/sdworkspace/CurrentWorkspaces"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.headers()["www-authenticate"], "Bearer");
    problem(unauthorized, 401).await;

    // OAuth clients parse RFC 6749 errors: those stay as they are.
    let oauth = server
        .http
        .post(server.url("/connect/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth.status(), 400);
    assert_eq!(oauth.headers()["content-type"], "application/json");
    let body: Value = oauth.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
}
