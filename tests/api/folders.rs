//! Folder intake: files dropped in a watched folder become tasks once they settle, each once
//! however many processes watch and whatever crashed, system files left alone, files that are
//! not documents refused with the reason.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{start, TestServer};
use docket::pipeline::folders::{FolderIntake, IntakeConfig, Outcome, WatchedFolder};

async fn intake(server: &TestServer, dir: &Path, abandoned_after: Duration) -> FolderIntake {
    intake_with(server, dir, abandoned_after, false).await
}

async fn intake_with(
    server: &TestServer,
    dir: &Path,
    abandoned_after: Duration,
    write_exports: bool,
) -> FolderIntake {
    let org_id = server.credentials.organization.id;
    let store = server.docket.store().clone();
    let workspace_id = store.workspace(org_id, None).await.unwrap().unwrap().id;
    let folder = WatchedFolder {
        path: dir.to_owned(),
        org_id,
        workspace_id,
        batch_id: None,
    };
    let config = IntakeConfig {
        settle: Duration::ZERO,
        abandoned_after,
        write_exports,
        ..IntakeConfig::default()
    };
    FolderIntake::new(
        store,
        server.docket.state.blobs.clone(),
        vec![folder],
        config,
    )
    .unwrap()
}

fn pdf(text: &str) -> Vec<u8> {
    text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, text)]])
}

fn sidecar(path: &Path) -> Value {
    let name = format!("{}.json", path.file_name().unwrap().to_string_lossy());
    serde_json::from_slice(&std::fs::read(path.with_file_name(name)).unwrap()).unwrap()
}

fn tasks(outcomes: &[(std::path::PathBuf, Outcome)]) -> Vec<i64> {
    outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            Outcome::Task(id) => Some(*id),
            Outcome::Failed(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn a_file_written_slowly_is_taken_once_settled_and_a_copy_finds_the_same_task() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut intake = intake(&server, dir.path(), Duration::from_secs(300)).await;
    let bytes = pdf("Fatura FT 1/7");
    let head = &bytes[..bytes.len() / 2];
    let path = dir.path().join("fatura.pdf");
    std::fs::write(&path, head).unwrap();
    assert!(intake.scan().await.unwrap().is_empty(), "first seen");
    std::fs::write(&path, &bytes).unwrap();
    assert!(intake.scan().await.unwrap().is_empty(), "still growing");
    let taken = intake.scan().await.unwrap();
    let [task] = tasks(&taken)[..] else {
        panic!("{taken:?}")
    };
    assert!(!path.exists());
    let processed = dir.path().join("processed/fatura.pdf");
    assert_eq!(std::fs::read(&processed).unwrap(), bytes);
    assert_eq!(sidecar(&processed)["taskId"], task);
    let status = server.wait_for(task, &[3]).await;
    assert_eq!(status["displayName"], "fatura.pdf");
    assert!(status["externalId"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    std::fs::write(dir.path().join("copy.pdf"), &bytes).unwrap();
    intake.scan().await.unwrap();
    let again = intake.scan().await.unwrap();
    assert_eq!(tasks(&again), [task], "the same content, the same task");
    assert_eq!(
        sidecar(&dir.path().join("processed/copy.pdf"))["taskId"],
        task
    );
}

#[tokio::test]
async fn two_processes_watching_one_folder_take_each_file_once() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut first = intake(&server, dir.path(), Duration::from_secs(300)).await;
    let mut second = intake(&server, dir.path(), Duration::from_secs(300)).await;
    for n in 0..6 {
        std::fs::write(
            dir.path().join(format!("{n}.pdf")),
            pdf(&format!("Document {n}")),
        )
        .unwrap();
    }
    first.scan().await.unwrap();
    second.scan().await.unwrap();
    let (a, b) = tokio::join!(first.scan(), second.scan());
    let mut taken = tasks(&a.unwrap());
    taken.extend(tasks(&b.unwrap()));
    taken.sort();
    taken.dedup();
    assert_eq!(taken.len(), 6, "{taken:?}");
    let processed = std::fs::read_dir(dir.path().join("processed"))
        .unwrap()
        .count();
    assert_eq!(processed, 12, "six files and their sidecars");
}

#[tokio::test]
async fn system_files_stay_a_non_document_fails_and_a_file_a_crash_left_is_taken() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let left_alone = [
        ".DS_Store",
        "._fatura.pdf",
        "desktop.ini",
        "~$nota.docx",
        "fatura.pdf.part",
    ];
    for name in left_alone {
        std::fs::write(dir.path().join(name), b"x").unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), b"just some text").unwrap();
    // Claimed by a process that died before handling it.
    let mut intake = intake(&server, dir.path(), Duration::ZERO).await;
    std::fs::write(
        dir.path().join(".docket-work/orphan.pdf"),
        pdf("Left behind"),
    )
    .unwrap();
    let mut outcomes = intake.scan().await.unwrap();
    outcomes.extend(intake.scan().await.unwrap());
    for name in left_alone {
        assert!(dir.path().join(name).exists(), "{name} left alone");
    }
    let failed = dir.path().join("failed/notes.txt");
    let reason = sidecar(&failed)["reason"].as_str().unwrap().to_owned();
    assert!(!reason.is_empty(), "{reason}");
    let [orphan] = tasks(&outcomes)[..] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(
        sidecar(&dir.path().join("processed/orphan.pdf"))["taskId"],
        orphan
    );
    server.wait_for(orphan, &[3]).await;
}

#[tokio::test]
async fn once_its_task_is_reviewed_the_export_is_written_beside_the_file() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut intake = intake_with(&server, dir.path(), Duration::from_secs(300), true).await;
    std::fs::write(dir.path().join("fatura.pdf"), pdf("Fatura FT 1/9")).unwrap();
    intake.scan().await.unwrap();
    let [task] = tasks(&intake.scan().await.unwrap())[..] else {
        panic!("not taken")
    };
    server.wait_for(task, &[3]).await;
    let export = dir.path().join("processed/fatura.pdf.export.json");
    intake.scan().await.unwrap();
    assert!(!export.exists(), "not reviewed yet");
    for step in ["checkout", "complete"] {
        let path = format!("/api/v1.0/external/sdtask/{task}/{step}");
        let response = server
            .call(reqwest::Method::POST, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{step}");
    }
    intake.scan().await.unwrap();
    let written: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(written["taskId"], task);
    assert!(written["chunks"].is_array(), "the GetExportData model");
}
