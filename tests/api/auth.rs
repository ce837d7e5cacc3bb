//! Client credentials, bearer tokens and tenant isolation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{json_of, request_token, start, start_with, FileServer};

async fn token_error(
    server: &crate::common::server::TestServer,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = server
        .http
        .post(server.url("/connect/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn token_has_the_documented_shape() {
    let server = start_with(false, |s| s).await;
    let creds = &server.credentials;
    let response = server
        .http
        .post(server.url("/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "WebAPI"),
            ("client_id", creds.organization.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "WebAPI");
    assert!(body["access_token"].as_str().unwrap().len() >= 32);

    // HTTP Basic client authentication is accepted too (RFC 6749 2.3.1).
    let response = server
        .http
        .post(server.url("/connect/token"))
        .basic_auth(&creds.organization.client_id, Some(&creds.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn token_errors_follow_rfc_6749() {
    let server = start_with(false, |s| s).await;
    let id = server.credentials.organization.client_id.clone();
    let secret = server.credentials.client_secret.clone();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", "wrong"),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", &secret),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("scope", "Admin"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
            "invalid_scope",
        ),
        (
            vec![("client_id", &id), ("client_secret", &secret)],
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("client_id", &id)],
            "invalid_request",
        ),
    ];
    for (form, expected) in cases {
        let (status, body) = token_error(&server, &form).await;
        assert_eq!(status, 400, "{form:?}");
        assert_eq!(body["error"], expected, "{form:?}");
    }
}

#[tokio::test]
async fn rotating_the_secret_invalidates_the_old_one_and_its_tokens() {
    let server = start_with(false, |s| s).await;
    let other = server.other_tenant_token().await;
    let id = server.credentials.organization.client_id.clone();
    let old = server.credentials.client_secret.clone();
    let rotated = server.docket.store().rotate_secret(&id).await.unwrap();
    let workspaces = "/api/v1.0/external/sdworkspace/CurrentWorkspaces";
    assert_eq!(
        server.get_json(workspaces).await.0,
        401,
        "tokens are revoked"
    );
    let others = server
        .http
        .get(server.url(workspaces))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(others.status(), 200, "another organisation's are not");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", old.as_str()),
    ];
    assert_eq!(
        token_error(&server, &form).await.1["error"],
        "invalid_client"
    );
    request_token(&server.http, &server.base, &id, &rotated.client_secret).await;
}

#[tokio::test]
async fn api_calls_need_a_valid_token() {
    let server = start_with(false, |s| s).await;
    let paths = [
        (Method::GET, "/api/v1.0/external/sdtask/status?taskId=1"),
        (
            Method::GET,
            "/api/v1.0/external/sdtask/statuslist?startDate=2022-01-01T00:00:00Z",
        ),
        (
            Method::GET,
            "/api/v1.0/external/sdtask/statuslistpaginated?startDate=2022-01-01T00:00:00Z",
        ),
        (Method::POST, "/api/v1.0/external/sdtask/process"),
        (
            Method::PATCH,
            "/api/v1.0/external/sdtask/externalIntegrationStatus?taskId=1",
        ),
        (
            Method::PATCH,
            "/api/v1.0/sdtask/externalIntegrationStatus?taskId=1",
        ),
        (
            Method::PATCH,
            "/api/v1.0/external/sdtask/restartprocessing?taskId=1",
        ),
        (Method::GET, "/api/v1.0/external/sdtask/GetExportData/1"),
        (Method::GET, "/api/v1.0/external/sdtask/originalfile/1"),
        (
            Method::GET,
            "/api/v1.0/external/sdworkspace/CurrentWorkspaces",
        ),
        (Method::GET, "/api/v1.0/external/sdbatch?batchId=1"),
        (Method::POST, "/api/v1.0/external/sdbatch"),
        (Method::GET, "/api/v1.0/external/sdbatch/paginated"),
    ];
    for (method, path) in paths {
        let url = server.url(path);
        let none = server
            .http
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 401, "{method} {path} without a token");
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        let bogus = server
            .http
            .request(method.clone(), &url)
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(bogus.status(), 401, "{method} {path} with a bogus token");
        let basic = server
            .http
            .request(method.clone(), &url)
            .basic_auth("a", Some("b"))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401, "{method} {path} with basic auth");
    }
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let server = start_with(false, |mut s| {
        s.api.token_ttl_seconds = 0;
        s
    })
    .await;
    let response = server
        .get("/api/v1.0/external/sdworkspace/CurrentWorkspaces")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn one_organisation_never_sees_another() {
    let server = start().await;
    let files = FileServer::start().await;
    let url = files.add(
        "a.pdf",
        text_pdf(&[vec![TextRun::new(72.0, 100.0, 12.0, "secret")]]),
    );
    let task = server
        .create_task(json!({"externalId": "mine", "context": {"url": url}}))
        .await;
    let id = task["taskId"].as_i64().unwrap();
    server.wait_for(id, &[3]).await;
    let batch = json_of(
        server
            .call(Method::POST, "/api/v1.0/external/sdbatch")
            .json(&json!({"displayName": "b"})),
    )
    .await;
    let other = server.other_tenant_token().await;
    let get = |path: String| {
        server
            .http
            .get(server.url(&path))
            .bearer_auth(&other)
            .send()
    };
    for path in [
        format!("/api/v1.0/external/sdtask/status?taskId={id}"),
        "/api/v1.0/external/sdtask/status?externalId=mine".to_owned(),
        format!("/api/v1.0/external/sdtask/GetExportData/{id}"),
        format!("/api/v1.0/external/sdtask/originalfile/{id}"),
        format!("/api/v1.0/external/sdtask/statushistory?taskId={id}"),
        format!("/api/v1.0/external/sdbatch?batchId={}", batch["batchId"]),
    ] {
        assert_eq!(get(path.clone()).await.unwrap().status(), 404, "{path}");
    }
    for path in [
        format!("/api/v1.0/external/sdtask/restartprocessing?taskId={id}"),
        format!("/api/v1.0/external/sdtask/externalIntegrationStatus?taskId={id}"),
    ] {
        let response = server
            .http
            .patch(server.url(&path))
            .bearer_auth(&other)
            .json(&json!({"externalIntegrationStatus": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let list: Value =
        get("/api/v1.0/external/sdtask/statuslist?startDate=2000-01-01T00:00:00Z".into())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(list, json!([]));
    let workspaces: Value = get("/api/v1.0/external/sdworkspace/CurrentWorkspaces".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine: Value = server
        .get_json("/api/v1.0/external/sdworkspace/CurrentWorkspaces")
        .await
        .1;
    assert_ne!(workspaces[0]["workspaceId"], mine[0]["workspaceId"]);
    // Another tenant's workspace or batch cannot be used to create tasks.
    for body in [
        json!({"workspaceId": mine[0]["workspaceId"], "context": {"url": url}}),
        json!({"batchId": batch["batchId"], "context": {"url": url}}),
    ] {
        let response = server
            .http
            .post(server.url("/api/v1.0/external/sdtask/process"))
            .bearer_auth(&other)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
    }
    // The same externalId is free in another organisation.
    let response = server
        .http
        .post(server.url("/api/v1.0/external/sdtask/process"))
        .bearer_auth(&other)
        .json(&json!({"externalId": "mine", "context": {"url": url}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
