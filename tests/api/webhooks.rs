//! Results to the client's system by signed webhook: a real receiver on loopback, signatures
//! checked by the `standardwebhooks` crate (an implementation independent of docket's), retries
//! with the same `webhook-id`, giving up, 410 Gone and redelivery.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::receiver::{closed_port, Receiver, Reply};
use crate::common::server::{start, TestServer};

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let request = server.call(method, path);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn default_workspace(server: &TestServer) -> i64 {
    let org = server.credentials.organization.id;
    server
        .docket
        .store()
        .workspace(org, None)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Sets the default workspace's webhook; returns its secret.
async fn set_webhook(server: &TestServer, body: Value) -> String {
    let path = format!(
        "/api/v1.0/external/sdworkspace/{}/webhook",
        default_workspace(server).await
    );
    let (status, webhook) = call(server, Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "{webhook}");
    webhook["secret"].as_str().unwrap().to_owned()
}

/// A task uploaded, recognised and reviewed through the API (checked out and completed).
async fn reviewed_task(server: &TestServer) -> i64 {
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Fatura FT 1/1")]]);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf).file_name("a.pdf"),
    );
    let task = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    server.wait_for(task, &[3]).await;
    for step in ["checkout", "complete"] {
        let path = format!("/api/v1.0/external/sdtask/{task}/{step}");
        let (status, body) = call(server, Method::POST, &path, None).await;
        assert_eq!(status, 200, "{step}: {body}");
    }
    task
}

async fn deliveries(server: &TestServer, task: i64) -> Value {
    let path = format!("/api/v1.0/external/sdtask/{task}/deliveries");
    let (status, log) = call(server, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{log}");
    log
}

fn verify(secret: &str, (headers, body): &(HeaderMap, Bytes)) {
    let webhook = standardwebhooks::Webhook::new(secret).unwrap();
    webhook
        .verify(body, headers)
        .expect("a valid Standard Webhooks signature");
}

#[tokio::test]
async fn a_reviewed_task_is_posted_signed_and_then_processed() {
    let server = start().await;
    let receiver = Receiver::start(vec![]).await;
    let secret = set_webhook(&server, json!({"url": receiver.url})).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let task = reviewed_task(&server).await;

    let request = &receiver.requests(1).await[0];
    verify(&secret, request);
    let sent: Value = serde_json::from_slice(&request.1).unwrap();
    assert_eq!(sent["taskId"], task, "the GetExportData model");
    assert!(sent["chunks"].is_array());
    assert_eq!(request.0["content-type"], "application/json");
    assert!(request.0["webhook-id"]
        .to_str()
        .unwrap()
        .starts_with("msg_"));

    let status = server.wait_for(task, &[9]).await;
    assert_eq!(
        (
            status["taskStatusText"].as_str(),
            status["integrationStatusText"].as_str()
        ),
        (Some("Processed"), Some("Successful"))
    );
    let history: Vec<i64> = server
        .history(task)
        .await
        .iter()
        .map(|e| e["taskStatus"].as_i64().unwrap())
        .collect();
    assert_eq!(history[history.len() - 4..], [5, 6, 7, 9]);
    assert!(server.export(task).await["lastIntegratedOn"].is_string());
    let log = deliveries(&server, task).await;
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(
        log[0]["messageId"],
        request.0["webhook-id"].to_str().unwrap()
    );
    assert_eq!(log[0]["attempts"][0]["statusCode"], 204);

    // The client's view: exported by webhook, not yet marked as taken in by the client.
    let waiting = "/api/v1.0/external/sdtask/statuslist?startDate=2000-01-01\
                   &integrationStatus=3&externalIntegrationStatus=never";
    let ids = |list: Value| -> Vec<i64> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| t["taskId"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(call(&server, Method::GET, waiting, None).await.1),
        [task]
    );
    let mark = format!("/api/v1.0/external/sdtask/externalIntegrationStatus?taskId={task}");
    let marked = json!({"externalIntegrationStatus": "imported"});
    assert_eq!(
        call(&server, Method::PATCH, &mark, Some(marked)).await.0,
        200
    );
    assert!(ids(call(&server, Method::GET, waiting, None).await.1).is_empty());
}

#[tokio::test]
async fn failed_attempts_are_retried_under_one_id_then_given_up_with_the_reason() {
    let server = start().await;
    let receiver = Receiver::start(vec![
        Reply::Status(500, "database is down"),
        Reply::Stall(Duration::from_secs(5)),
    ])
    .await;
    let body = json!({"url": receiver.url, "schedule": "1s,1s,1s", "timeoutSeconds": 1});
    let secret = set_webhook(&server, body).await;
    let task = reviewed_task(&server).await;

    let requests = receiver.requests(2).await;
    // From the third attempt on, nothing listens there any more.
    let closed = json!({"url": closed_port().await, "schedule": "1s,1s,1s", "timeoutSeconds": 1});
    assert_eq!(
        set_webhook(&server, closed).await,
        secret,
        "the secret is kept"
    );
    for request in &requests {
        verify(&secret, request);
    }
    assert_eq!(
        requests[0].0["webhook-id"], requests[1].0["webhook-id"],
        "receivers deduplicate on webhook-id"
    );

    let status = server.wait_for(task, &[3]).await;
    assert_eq!(status["integrationStatusText"], "Failed");
    let log = deliveries(&server, task).await;
    assert_eq!(log[0]["state"], "failed");
    let attempts = log[0]["attempts"].as_array().unwrap();
    let codes: Vec<&Value> = attempts.iter().map(|a| &a["statusCode"]).collect();
    assert_eq!(
        codes,
        [&json!(500), &Value::Null, &Value::Null, &Value::Null]
    );
    assert_eq!(attempts[0]["response"], "database is down");
    assert!(
        attempts[1]["response"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{attempts:?}"
    );
    let events = server.history(task).await;
    let failed = &events[events.len() - 2];
    assert_eq!(failed["taskStatusText"], "ExportFailed");
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("no answer") && reason.contains("after 4 attempts"),
        "{reason}"
    );
}

#[tokio::test]
async fn gone_turns_the_webhook_off_and_a_redelivery_sends_the_same_message() {
    let server = start().await;
    let receiver = Receiver::start(vec![Reply::Status(410, "no such hook")]).await;
    let secret = set_webhook(&server, json!({"url": receiver.url})).await;
    let task = reviewed_task(&server).await;
    let status = server.wait_for(task, &[3]).await;
    assert_eq!(status["integrationStatusText"], "Failed");
    let path = format!(
        "/api/v1.0/external/sdworkspace/{}/webhook",
        default_workspace(&server).await
    );
    let (_, webhook) = call(&server, Method::GET, &path, None).await;
    assert_eq!(webhook["enabled"], false);
    assert!(
        webhook["disabledReason"].as_str().unwrap().contains("410"),
        "{webhook}"
    );

    set_webhook(&server, json!({"url": receiver.url, "enabled": true})).await;
    let redeliver = format!("/api/v1.0/external/sdtask/{task}/redeliver");
    let (status, again) = call(&server, Method::POST, &redeliver, None).await;
    assert_eq!(status, 200, "{again}");
    server.wait_for(task, &[9]).await;
    let requests = receiver.requests(2).await;
    verify(&secret, &requests[1]);
    assert_eq!(requests[0].0["webhook-id"], requests[1].0["webhook-id"]);
    assert_eq!(
        again["messageId"],
        requests[1].0["webhook-id"].to_str().unwrap()
    );
}

#[tokio::test]
async fn webhook_settings_are_checked_and_kept_from_other_organisations() {
    let server = start().await;
    let path = format!(
        "/api/v1.0/external/sdworkspace/{}/webhook",
        default_workspace(&server).await
    );
    assert_eq!(
        call(&server, Method::GET, &path, None).await.0,
        404,
        "none yet"
    );
    for bad in [
        json!({"url": "ftp://example.com/x"}),
        json!({"url": "not a url"}),
        json!({"url": "https://example.com", "schedule": "5d"}),
        json!({"url": "https://example.com", "timeoutSeconds": 0}),
        json!({"schedule": "5s"}),
    ] {
        let (status, problem) = call(&server, Method::PUT, &path, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {problem}");
    }
    let first = set_webhook(&server, json!({"url": "https://example.com/hook"})).await;
    let rotate = format!("{path}/rotatesecret");
    let (status, rotated) = call(&server, Method::POST, &rotate, None).await;
    assert_eq!(status, 200);
    assert_ne!(rotated["secret"], first.as_str());
    let other = server.other_tenant_token().await;
    let response = reqwest::Client::new()
        .get(server.url(&path))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "another organisation's workspace");
    assert_eq!(call(&server, Method::DELETE, &path, None).await.0, 200);
    assert_eq!(call(&server, Method::GET, &path, None).await.0, 404);
}

/// The README's block of `language` in the webhooks section.
fn readme_block(language: &str) -> &'static str {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Results to your system")
        .nth(1)
        .expect("the webhooks section");
    section
        .split(&format!("```{language}\n"))
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the snippet")
}

/// Runs a program with `input` on stdin; None when the program is not installed.
async fn run(program: &str, args: &[&str], input: &str) -> Option<String> {
    let spawned = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        eprintln!("skipped: no {program} (scripts/setup.sh installs it)");
        return None;
    };
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{program}: {stderr}");
    Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
}

#[tokio::test]
async fn the_readme_snippets_verify_what_docket_signs() {
    use docket::domain::webhook::{new_message_id, WebhookSecret};
    use docket::domain::Timestamp;

    let dir = tempfile::tempdir().unwrap();
    let python = format!(
        "{}\nimport json, sys\ncase = json.load(sys.stdin)\n\
         ok = verify(case['secret'], case['headers'], case['body'].encode())\n\
         print('valid' if ok else 'invalid')\n",
        readme_block("python")
    );
    std::fs::write(dir.path().join("verify.mjs"), readme_block("js")).unwrap();
    let harness = dir.path().join("harness.mjs");
    std::fs::write(
        &harness,
        "import { verify } from './verify.mjs';\nlet input = '';\n\
         for await (const chunk of process.stdin) input += chunk;\n\
         const c = JSON.parse(input);\n\
         console.log(verify(c.secret, c.headers, Buffer.from(c.body)) ? 'valid' : 'invalid');\n",
    )
    .unwrap();

    let secret = WebhookSecret::generate();
    let id = new_message_id();
    let body = r#"{"taskId": 7, "displayName": "Fatura Nº 1"}"#;
    let case = |sent: &str, body: &str, age: i64| {
        let timestamp = Timestamp::now().millis() / 1000 - age;
        json!({
            "secret": secret.to_text(),
            "headers": {
                "webhook-id": id,
                "webhook-timestamp": timestamp.to_string(),
                "webhook-signature": format!("v0,xyz {}", secret.sign(&id, timestamp, sent.as_bytes())),
            },
            "body": body,
        })
        .to_string()
    };
    let cases = [
        (case(body, body, 0), "valid"),
        (case(body, &body.replace('7', "8"), 0), "invalid"),
        (case(body, body, 3600), "invalid"),
    ];
    for (input, expected) in &cases {
        if let Some(said) = run("python3", &["-c", &python], input).await {
            assert_eq!(said, *expected, "Python: {input}");
        }
        let node_args = [harness.to_str().unwrap()];
        if let Some(said) = run("node", &node_args, input).await {
            assert_eq!(said, *expected, "JavaScript: {input}");
        }
    }
}

#[tokio::test]
async fn the_web_ui_sets_a_webhook_and_shows_and_redelivers_a_tasks_messages() {
    let server = start().await;
    let receiver = Receiver::start(vec![]).await;
    let workspace = default_workspace(&server).await;
    let (mut admin, _) =
        crate::review::person(&server, "boss@example.pt", "Administrator", workspace).await;
    let path = format!("/settings/workspaces/{workspace}/webhook");
    let (status, page) = admin
        .post_form(
            &path,
            &[("url", "gopher://x"), ("schedule", "1s"), ("timeout", "5")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("is not an http or https URL"), "{page}");
    let form = [
        ("url", receiver.url.as_str()),
        ("schedule", "1s"),
        ("timeout", "5"),
        ("enabled", "true"),
    ];
    let (status, to) = admin.post_form(&path, &form).await;
    assert_eq!(status, 303, "{to}");
    let (_, settings) = admin.get(&to).await;
    let api = format!("/api/v1.0/external/sdworkspace/{workspace}/webhook");
    let (_, webhook) = call(&server, Method::GET, &api, None).await;
    let secret = webhook["secret"].as_str().unwrap();
    assert!(settings.contains(secret), "the page shows the secret");
    assert_eq!(
        (
            webhook["schedule"].as_str(),
            webhook["timeoutSeconds"].as_u64()
        ),
        (Some("1s"), Some(5))
    );

    let task = reviewed_task(&server).await;
    server.wait_for(task, &[9]).await;
    let first = receiver.requests(1).await.remove(0);
    let id = first.0["webhook-id"].to_str().unwrap().to_owned();
    let (_, page) = admin.get(&format!("/documents/{task}")).await;
    assert!(
        page.contains(&id) && page.contains("delivered"),
        "the delivery log"
    );
    let (status, _) = admin
        .post_form(&format!("/documents/{task}/redeliver"), &[])
        .await;
    assert_eq!(status, 303);
    let again = receiver.requests(2).await.remove(1);
    assert_eq!(again.0["webhook-id"], id.as_str());

    let (status, _) = admin.post_form(&path, &[("remove", "true")]).await;
    assert_eq!(status, 303);
    assert_eq!(call(&server, Method::GET, &api, None).await.0, 404);
}

#[tokio::test]
async fn url_to_file_messages_link_the_file_until_the_link_expires_or_the_file_goes() {
    use docket::domain::lifecycle::LifecyclePolicy;
    use docket::domain::links::LinkedFile;
    use docket::domain::Timestamp;

    let server = start().await;
    let receiver = Receiver::start(vec![]).await;
    let path = format!(
        "/api/v1.0/external/sdworkspace/{}/webhook",
        default_workspace(&server).await
    );
    let too_long = json!({"url": receiver.url, "body": "fileUrl", "fileLinkHours": 169});
    assert_eq!(
        call(&server, Method::PUT, &path, Some(too_long)).await.0,
        400
    );
    let secret = set_webhook(
        &server,
        json!({"url": receiver.url, "body": "fileUrl", "fileLinkHours": 2}),
    )
    .await;
    let task = reviewed_task(&server).await;
    let request = receiver.requests(1).await.remove(0);
    verify(&secret, &request);
    let sent: Value = serde_json::from_slice(&request.1).unwrap();
    let mut keys: Vec<&str> = sent
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "displayName",
            "exportedFileUrl",
            "taskId",
            "taskNumber",
            "totalPages",
            "workspaceId"
        ]
    );
    assert_eq!(
        (sent["taskId"].as_i64(), sent["totalPages"].as_i64()),
        (Some(task), Some(1))
    );
    server.wait_for(task, &[9]).await;

    let link = sent["exportedFileUrl"].as_str().unwrap().to_owned();
    let expires: i64 = link
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let in_two_hours = Timestamp::now().millis() / 1000 + 2 * 3600;
    assert!(
        (in_two_hours - 60..=in_two_hours).contains(&expires),
        "{link}"
    );
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let file = get(link.clone()).await;
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF"));
    let tampered = link.replace("signature=", "signature=A");
    assert_eq!(get(tampered).await.status(), 403);
    let other_task = link.replace(
        &format!("/exported/{task}?"),
        &format!("/exported/{}?", task + 1),
    );
    assert_eq!(get(other_task).await.status(), 403);
    let links = &server.docket.state.links;
    let past = Timestamp::now().plus_seconds(-1);
    let expired = links.url_until(LinkedFile::Exported, &server.base, task, past);
    assert_eq!(get(expired).await.status(), 403);

    // Deleted, and its file removed after the retention period: the link finds nothing.
    let delete = format!("/api/v1.0/external/sdtask/{task}");
    assert_eq!(call(&server, Method::DELETE, &delete, None).await.0, 200);
    let state = &server.docket.state;
    let later = Timestamp::now().plus_seconds(31 * 24 * 3600);
    docket::pipeline::sweeper::sweep(
        &state.store,
        &state.blobs,
        &LifecyclePolicy::default(),
        later,
    )
    .await
    .unwrap();
    assert_eq!(get(link).await.status(), 404);
}
