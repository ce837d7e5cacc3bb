//! Documents are read in killable child processes: a file that hangs or bloats the reader fails
//! its own task with a reason while other tasks go on; interrupted recognition resumes from the
//! first unfinished page; a graceful stop gives jobs back without counting them.

use std::time::Duration;

use docket::pipeline::recognize;
use docket::pipeline::sandbox::{Job, Message, ReaderSlot, SandboxConfig, SandboxError};
use docket::store::StoredFile;
use docket_testkit::corpus;
use reqwest::multipart::{Form, Part};

use crate::common::fixtures::{png, text_pdf, TextRun};
use crate::common::server::{start_with, TestServer};

async fn upload(server: &TestServer, name: &str, bytes: Vec<u8>) -> i64 {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap()
}

async fn last_reason(server: &TestServer, id: i64) -> String {
    server.history(id).await.last().unwrap()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn one_line_pdf(text: &str) -> Vec<u8> {
    text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, text)]])
}

#[tokio::test]
async fn a_document_that_hangs_its_reader_fails_alone() {
    let server = start_with(true, |mut s| {
        s.pipeline.sandbox.page_timeout = Duration::from_secs(5);
        s
    })
    .await;
    let hostile = upload(&server, "flood.pdf", corpus::operator_flood_pdf()).await;
    let innocent = upload(&server, "fine.pdf", one_line_pdf("Still served")).await;
    server.wait_for(innocent, &[3]).await;
    server.wait_for(hostile, &[42]).await;
    let reason = last_reason(&server, hostile).await;
    assert!(reason.contains("5 s per page"), "{reason}");
    assert!(reason.contains("stopped 2 times"), "{reason}");
}

#[tokio::test]
async fn a_reader_past_its_memory_limit_dies_alone() {
    let server = start_with(true, |mut s| {
        s.pipeline.sandbox.memory_mb = 400;
        s
    })
    .await;
    let hostile = upload(&server, "flood.pdf", corpus::operator_flood_pdf()).await;
    server.wait_for(hostile, &[42]).await;
    let reason = last_reason(&server, hostile).await;
    assert!(reason.contains("crashed"), "{reason}");
    let innocent = upload(&server, "fine.pdf", one_line_pdf("Still served")).await;
    server.wait_for(innocent, &[3]).await;
}

#[tokio::test]
async fn an_enormous_image_inside_a_pdf_is_refused_before_decoding() {
    let server = start_with(true, |s| s).await;
    let id = upload(&server, "huge.pdf", corpus::huge_image_pdf()).await;
    server.wait_for(id, &[42]).await;
    let reason = last_reason(&server, id).await;
    assert!(
        reason.contains("40000×40000") && reason.contains("megapixels"),
        "{reason}"
    );
}

#[tokio::test]
async fn truncated_images_are_refused_in_pre_processing() {
    let server = start_with(true, |s| s).await;
    let whole = png(400, 300);
    let truncated = whole[..whole.len() * 2 / 3].to_vec();
    let id = upload(&server, "cut.png", truncated).await;
    server.wait_for(id, &[35, 42]).await;
    let last = server.history(id).await.last().unwrap().clone();
    assert_eq!(last["taskStatus"], 35, "{last}");
}

#[tokio::test]
async fn recognition_resumes_from_the_first_unfinished_page() {
    let mut server = start_with(false, |s| s).await;
    let pages: Vec<Vec<TextRun>> = ["Page one", "Page two", "Page three"]
        .iter()
        .map(|text| vec![TextRun::new(72.0, 72.0, 12.0, text)])
        .collect();
    let document = text_pdf(&pages);
    let id = upload(&server, "three.pdf", document.clone()).await;

    // A worker pre-processes the task, reads page 1, and is stopped gracefully.
    let store = server.docket.store().clone();
    let job = store
        .claim_job("before-restart", 30, Default::default())
        .await
        .unwrap()
        .unwrap();
    let key = server.docket.state.blobs.put(document).await.unwrap();
    let original = StoredFile {
        key,
        media_type: "application/pdf".into(),
        file_name: Some("three.pdf".into()),
    };
    let in_progress = docket::domain::TaskStatus::PreProcessingInProgress;
    assert!(store.set_job_status(&job, in_progress).await.unwrap());
    assert!(store
        .finish_preprocessing(&job, &original, 3)
        .await
        .unwrap());
    let job = store
        .claim_job("before-restart", 30, Default::default())
        .await
        .unwrap()
        .unwrap();
    // What page 1 held when it was read; a re-read would find "Page one" instead.
    let mut earlier = Vec::new();
    recognize::recognize_pages(
        &one_line_pdf("Read before the restart"),
        "eng",
        0..u32::MAX,
        |_, p| {
            earlier.push(p);
            Ok(())
        },
    )
    .unwrap();
    let page = serde_json::to_string(&earlier[0]).unwrap();
    assert!(store.save_page(&job, 0, &page).await.unwrap());
    store.release_job(&job).await.unwrap();

    server.start_workers();
    server.wait_for(id, &[3]).await;
    let text = server.export(id).await.to_string();
    assert!(text.contains("Read before the restart"), "page 1 was kept");
    assert!(!text.contains("Page one"), "page 1 was not read again");
    assert!(text.contains("Page two") && text.contains("Page three"));
}

#[tokio::test]
async fn jobs_given_back_on_a_graceful_stop_do_not_count_as_attempts() {
    let mut server = start_with(false, |s| s).await;
    let id = upload(&server, "a.pdf", one_line_pdf("Deployed often")).await;
    let store = server.docket.store().clone();
    // Four deploys, each stopping while the job was in hand: more than max_attempts claims.
    for _ in 0..4 {
        let job = store
            .claim_job("deploying", 30, Default::default())
            .await
            .unwrap()
            .unwrap();
        store.release_job(&job).await.unwrap();
    }
    server.start_workers();
    server.wait_for(id, &[3]).await;
}

/// Runs `job` on a slot's reader to its last message.
async fn read(
    slot: &mut ReaderSlot,
    config: &SandboxConfig,
    org_id: i64,
    document: &[u8],
) -> Result<usize, SandboxError> {
    let job = Job::Recognize {
        languages: "eng".into(),
        first: 0,
        count: u32::MAX,
    };
    let mut reader = slot.start(config, org_id, &job, document).await?;
    let mut pages = 0;
    loop {
        match reader.next().await? {
            Message::Page { .. } => pages += 1,
            Message::Done => return Ok(pages),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_reader_is_kept_for_one_organisation_and_replaced_after_a_kill() {
    let mut config = SandboxConfig::new(docket::app::DEFAULT_PDFIUM_LIBRARY.into());
    config.program = env!("CARGO_BIN_EXE_docket").into();
    config.page_timeout = Duration::from_secs(5);
    let mut slot = ReaderSlot::default();
    let document = one_line_pdf("Read twice");
    assert_eq!(read(&mut slot, &config, 1, &document).await.unwrap(), 1);
    let first = slot.pid().unwrap();
    assert_eq!(read(&mut slot, &config, 1, &document).await.unwrap(), 1);
    assert_eq!(slot.pid(), Some(first), "kept for the same organisation");
    assert_eq!(read(&mut slot, &config, 2, &document).await.unwrap(), 1);
    let second = slot.pid().unwrap();
    assert_ne!(second, first, "another organisation gets another process");
    let hang = read(&mut slot, &config, 2, &corpus::operator_flood_pdf()).await;
    assert!(matches!(hang, Err(SandboxError::Killed(_))), "{hang:?}");
    assert_eq!(read(&mut slot, &config, 2, &document).await.unwrap(), 1);
    assert_ne!(slot.pid(), Some(second), "a killed reader is replaced");
}
