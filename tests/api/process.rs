//! The pipeline seen through the API: stages with timestamps, uploads, images, and every
//! failure state with its reason.

use serde_json::{json, Value};

use crate::common::fixtures::{encrypted_pdf, png, text_pdf, tiff_pages, TextRun};
use crate::common::server::{create_url_task_as, start, start_with, FileServer, TestServer};

fn two_page_pdf() -> Vec<u8> {
    text_pdf(&[
        vec![TextRun::new(72.0, 100.0, 12.0, "Page one")],
        vec![TextRun::new(72.0, 100.0, 12.0, "Page two")],
    ])
}

async fn upload(server: &TestServer, name: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> Value {
    let mut form = reqwest::multipart::Form::new();
    for (key, value) in fields {
        form = form.text(key.to_string(), value.to_string());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    server.create_multipart(form).await
}

fn statuses(history: &[Value]) -> Vec<i64> {
    history
        .iter()
        .map(|e| e["taskStatus"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_pdf_url_goes_through_every_stage_to_review() {
    let server = start().await;
    let files = FileServer::start().await;
    let id = server
        .create_url_task(&files.add("doc.pdf", two_page_pdf()))
        .await;
    let done = server.wait_for(id, &[3]).await;
    assert_eq!(done["taskStatusText"], "ToReview");
    assert_eq!(done["totalPages"], 2);
    assert!(done["preProcessingStartedOn"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(done.get("restartCount").is_none());
    let history = server.history(id).await;
    assert_eq!(statuses(&history), [30, 31, 34, 40, 41, 43, 3]);
    assert!(history
        .iter()
        .all(|e| e["changedOn"].as_str().unwrap().ends_with('Z') && e["reason"].is_null()));
}

#[tokio::test]
async fn uploaded_files_are_processed_like_downloaded_ones() {
    let server = start().await;
    let task = upload(
        &server,
        "scan.png",
        png(40, 30),
        &[("externalId", "up-1"), ("metadata", r#"{"k": "v"}"#)],
    )
    .await;
    assert_eq!(task["displayName"], "scan.png");
    let id = task["taskId"].as_i64().unwrap();
    let done = server.wait_for(id, &[3]).await;
    assert_eq!(done["totalPages"], 1);
    let export = server.export(id).await;
    assert_eq!(export["metadata"], json!({"k": "v"}));
    let chunks = export["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(
        chunks[0]["entities"],
        json!([]),
        "no OCR yet: a page without entities"
    );

    // The whole request may also come as one JSON part.
    let task = upload(
        &server,
        "pages.tiff",
        tiff_pages(3),
        &[(
            "request",
            r#"{"displayName": "tiff", "externalId": "up-2"}"#,
        )],
    )
    .await;
    assert_eq!(task["displayName"], "tiff");
    let id = task["taskId"].as_i64().unwrap();
    assert_eq!(server.wait_for(id, &[3]).await["totalPages"], 3);
    assert_eq!(
        server.export(id).await["chunks"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn unreadable_documents_fail_with_a_reason() {
    let server = start().await;
    let files = FileServer::start().await;
    let pdf = two_page_pdf();
    let cases: Vec<(&str, Vec<u8>, i64, &str)> = vec![
        ("missing.pdf", Vec::new(), 33, "404"),
        ("empty.pdf", Vec::new(), 35, "empty"),
        (
            "text.pdf",
            b"just some text, not a document".to_vec(),
            35,
            "not a supported document",
        ),
        ("truncated.pdf", pdf[..pdf.len() / 2].to_vec(), 35, "PDF"),
        ("encrypted.pdf", encrypted_pdf(), 35, "password"),
        ("zip.pdf", b"PK\x03\x04\x14\0\0\0\0\0".to_vec(), 35, "zip"),
        ("broken.png", b"\x89PNG\r\n\x1a\n\0\0".to_vec(), 35, "image"),
    ];
    let mut tasks = Vec::new();
    for (name, bytes, _, _) in &cases {
        let url = if *name == "missing.pdf" {
            format!("{}/files/missing.pdf", files.base)
        } else {
            files.add(name, bytes.clone())
        };
        tasks.push(server.create_url_task(&url).await);
    }
    for (id, (name, _, status, reason)) in tasks.into_iter().zip(&cases) {
        server.wait_for(id, &[*status]).await;
        let history = server.history(id).await;
        let last = history.last().unwrap();
        assert_eq!(last["taskStatus"], *status, "{name}");
        let text = last["reason"].as_str().unwrap();
        assert!(
            text.to_lowercase().contains(&reason.to_lowercase()),
            "{name}: {text}"
        );
    }
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let server = start_with(true, |s| s.allow_private_urls(false)).await;
    let files = FileServer::start().await;
    let id = server
        .create_url_task(&files.add("a.pdf", two_page_pdf()))
        .await;
    server.wait_for(id, &[33]).await;
    let reason = server.history(id).await.last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("private"), "{reason}");
    assert_eq!(files.hits("a.pdf"), 0, "no request was sent");
    let localhost = server
        .create_url_task(
            &files
                .add("b.pdf", two_page_pdf())
                .replace("127.0.0.1", "localhost"),
        )
        .await;
    server.wait_for(localhost, &[33]).await;
    assert_eq!(files.hits("b.pdf"), 0);
}

#[tokio::test]
async fn several_queued_tasks_all_finish() {
    let server = start().await;
    let files = FileServer::start().await;
    let url = files.add("doc.pdf", two_page_pdf());
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(server.create_url_task(&url).await);
    }
    for id in ids {
        assert_eq!(server.wait_for(id, &[3]).await["totalPages"], 2);
    }
}

#[tokio::test]
async fn a_job_that_keeps_crashing_its_worker_fails_its_task() {
    let mut server = start_with(false, |s| s).await;
    let id = server
        .create_url_task("https://example.com/poison.pdf")
        .await;
    // Three workers claimed the job and died (their leases already ran out).
    for _ in 0..3 {
        server
            .docket
            .store()
            .claim_job("crashed-worker", -1, Default::default())
            .await
            .unwrap()
            .unwrap();
    }
    server.start_workers();
    server.wait_for(id, &[32]).await;
    let reason = server.history(id).await.last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("interrupted 3 times"), "{reason}");
}

#[tokio::test]
async fn the_store_refuses_moves_the_state_machine_does_not_allow() {
    let server = start_with(false, |s| s).await;
    let id = server.create_url_task("https://example.com/a.pdf").await;
    let store = server.docket.store();
    let job = store
        .claim_job("w", 30, Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.task_id, id);
    let skipped = store.finish_recognition(&job, "[]", "{}", None).await;
    assert!(
        skipped.is_err(),
        "QueuedForPreProcessing cannot jump to RecognitionSuccessful"
    );
    assert_eq!(
        server.status(id).await["taskStatus"],
        30,
        "nothing was written"
    );
    assert!(store
        .set_job_status(&job, docket::domain::TaskStatus::PreProcessingInProgress)
        .await
        .unwrap());
    let other_worker = docket::store::ClaimedJob {
        worker: "someone-else".into(),
        ..job.clone()
    };
    assert!(!store
        .set_job_status(
            &other_worker,
            docket::domain::TaskStatus::PreProcessingFailed
        )
        .await
        .unwrap());
}

#[tokio::test]
async fn workers_are_shared_across_organisations_in_turn() {
    let server = start_with(false, |s| s).await;
    let other = server.other_tenant_token().await;
    let mut a = Vec::new();
    for n in 0..3 {
        a.push(
            server
                .create_url_task(&format!("https://example.com/a{n}.pdf"))
                .await,
        );
    }
    let b = create_url_task_as(
        &server.http,
        &server.base,
        &other,
        "https://example.com/b.pdf",
    )
    .await;
    let urgent = server
        .create_task(
            serde_json::json!({"priority": 2, "context": {"url": "https://example.com/u.pdf"}}),
        )
        .await["taskId"]
        .as_i64()
        .unwrap();
    let store = server.docket.store();
    let mut claimed = Vec::new();
    while let Some(job) = store.claim_job("w", 30, Default::default()).await.unwrap() {
        claimed.push(job.task_id);
    }
    // The first organisation's most urgent task; then the other organisation, which holds no
    // job, though its task came after three of the first's; then the first's in order.
    assert_eq!(claimed, [urgent, b, a[0], a[1], a[2]]);
}

#[tokio::test]
async fn a_long_document_is_recognised_in_batches_that_let_other_work_in() {
    let mut server = start_with(false, |mut s| {
        s.pipeline.workers = 1;
        s.pipeline.page_batch = 1;
        s
    })
    .await;
    let files = FileServer::start().await;
    let page = |text: &str| vec![TextRun::new(72.0, 72.0, 12.0, text)];
    let long = files.add(
        "long.pdf",
        text_pdf(&[page("Page one"), page("Page two"), page("Page three")]),
    );
    let short = files.add("short.pdf", text_pdf(&[page("Short")]));
    let long = server.create_url_task(&long).await;
    let other = server.other_tenant_token().await;
    let short = create_url_task_as(&server.http, &server.base, &other, &short).await;
    server.start_workers();
    server.wait_for(long, &[3]).await;
    let store = server.docket.store();
    let reviewed_at = |events: Vec<docket::store::TaskEvent>| {
        events
            .iter()
            .find(|e| e.task_status.code() == 3)
            .map(|e| e.at.millis())
    };
    let short_done = reviewed_at(store.task_events(short).await.unwrap());
    let long_done = reviewed_at(store.task_events(long).await.unwrap());
    assert!(
        short_done.is_some() && short_done < long_done,
        "the other organisation's one page came between the long document's: {short_done:?} {long_done:?}"
    );
    let export = server.export(long).await;
    let text = export.to_string();
    for words in ["Page one", "Page two", "Page three"] {
        assert!(text.contains(words), "{words} was kept across batches");
    }
}

#[tokio::test]
async fn an_organisation_gets_no_more_jobs_past_its_pages_in_flight() {
    let server = start_with(false, |s| s).await;
    for n in 0..3 {
        server
            .create_url_task(&format!("https://example.com/{n}.pdf"))
            .await;
    }
    let store = server.docket.store();
    let limits = docket::store::QueueLimits {
        pages_in_flight: 2,
        page_batch: 50,
    };
    // Tasks not yet counted hold a page each.
    assert!(store.claim_job("w", 30, limits).await.unwrap().is_some());
    let second = store.claim_job("w", 30, limits).await.unwrap().unwrap();
    assert!(store.claim_job("w", 30, limits).await.unwrap().is_none());
    store.release_job(&second).await.unwrap();
    assert!(store.claim_job("w", 30, limits).await.unwrap().is_some());
}
