//! `/healthz`, `/readyz` and `/metrics`: answered without a token, in any path case.

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{start_with, FileServer, TestServer};

async fn unauthenticated(server: &TestServer, path: &str) -> (u16, String) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let server = start_with(false, |s| s).await;
    assert_eq!(
        unauthenticated(&server, "/healthz").await,
        (200, "ok".into())
    );
    assert_eq!(
        unauthenticated(&server, "/HealthZ").await,
        (200, "ok".into())
    );
    assert_eq!(
        unauthenticated(&server, "/readyz").await,
        (200, "ready".into())
    );
}

/// The value of the first sample line that starts with `prefix` and holds every label.
fn sample(text: &str, prefix: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(prefix) && labels.iter().all(|label| l.contains(label)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_show_the_queue_stages_pages_and_http_latency() {
    let mut server = start_with(false, |s| s).await;
    let files = FileServer::start().await;
    let org = server.credentials.organization.id;
    let url = files.add(
        "a.pdf",
        text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Invoice 17")]]),
    );
    let task = server.create_url_task(&url).await;

    let (status, text) = unauthenticated(&server, "/metrics").await;
    assert_eq!(status, 200);
    let queued = [
        format!("org_id=\"{org}\""),
        "task_status=\"QueuedForPreProcessing\"".to_owned(),
        "leased=\"false\"".to_owned(),
    ];
    let queued: Vec<&str> = queued.iter().map(String::as_str).collect();
    assert_eq!(
        sample(&text, "docket_queue_jobs{", &queued),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "docket_http_request_duration_seconds_count{",
            &[
                "method=\"POST\"",
                "route=\"/api/v1.0/external/sdtask/process\"",
                "status=\"200\""
            ]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );

    server.start_workers();
    server.wait_for(task, &[3]).await;
    let (_, text) = unauthenticated(&server, "/metrics").await;
    for stage in ["stage=\"preprocess\"", "stage=\"recognize\""] {
        assert!(
            sample(
                &text,
                "docket_stage_duration_seconds_count{",
                &[stage, "result=\"done\""]
            )
            .is_some_and(|n| n >= 1.0),
            "{stage}: {text}"
        );
    }
    assert!(
        sample(
            &text,
            "docket_pages_recognized_total{",
            &["read_by=\"text_layer\""]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "docket_queue_jobs{", &[&format!("org_id=\"{org}\"")]),
        None,
        "a processed task leaves the queue: {text}"
    );
}
