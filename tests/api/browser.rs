//! The web UI in a real headless Chromium (Debian's, driven by playwright-core from npm, both
//! installed by scripts/setup.sh): `tests/browser/*.mjs` walk the pages; this side starts
//! docket, prepares a person and a task, and checks the outcome through the API. Screenshots
//! are kept in `target/browser-artifacts/`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::server::start;
use crate::people::{invite_one, Browser};
use crate::understanding::{entities, process, truth, workspace};
use docket_testkit::corpus::{self, Language};

const CHROMIUM: &str = "/usr/bin/chromium";
const PLAYWRIGHT: &str = "/usr/local/lib/docket/playwright/node_modules";

/// Where the browser tests' screenshots go.
fn artifacts(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/browser-artifacts")
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a browser script with its arguments; None when Chromium or playwright-core is missing.
async fn run_script(script: &str, args: &[&str]) -> Option<Value> {
    if !Path::new(CHROMIUM).exists() || !Path::new(PLAYWRIGHT).exists() {
        eprintln!("skipped: Chromium or playwright-core missing (scripts/setup.sh installs them)");
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    // Awaited, not blocking: docket serves the browser from this test's runtime.
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .args(args)
        .env("NODE_PATH", PLAYWRIGHT)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}: {stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap())
}

#[tokio::test]
async fn a_reviewer_corrects_and_completes_an_invoice_in_the_browser() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesPortugal").await;
    let invoice = corpus::invoice_pdf(&truth(Language::Portuguese));
    let export = process(&server, workspace_id, "fatura.pdf", invoice).await;
    let task = export["taskId"].as_i64().unwrap();
    let link = invite_one(&server, "rev@example.pt", "Reviewer", Some(workspace_id)).await;
    Browser::new(&server)
        .accept(&link, "Rev", "long enough secret")
        .await;

    let dir = artifacts("review");
    let measured = run_script(
        "review.mjs",
        &[
            &server.base,
            "rev@example.pt",
            "long enough secret",
            &task.to_string(),
            "invoiceField:GrossTotal",
            "408,42",
            "FATURA",
            dir.to_str().unwrap(),
        ],
    )
    .await;
    let Some(measured) = measured else { return };
    eprintln!("browser review: {measured}");
    assert!(dir.join("5-processed.png").exists());
    assert_eq!(server.status(task).await["taskStatusText"], "Reviewed");
    let export = server.export(task).await;
    let total = entities(&export, "invoiceField")
        .find(|e| e["category"] == "GrossTotal")
        .unwrap();
    assert_eq!(
        total["keyValues"][0]["content"], "408,42",
        "the word clicked"
    );
    assert!(total["editedBy"].as_i64().is_some(), "{total}");
}

#[tokio::test]
async fn an_administrator_invites_a_reviewer_and_sets_review_up_in_the_browser() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesPortugal").await;
    let link = invite_one(&server, "boss@example.pt", "Administrator", None).await;
    Browser::new(&server)
        .accept(&link, "Boss", "long enough secret")
        .await;

    let dir = artifacts("settings");
    let measured = run_script(
        "settings.mjs",
        &[
            &server.base,
            "boss@example.pt",
            "long enough secret",
            &workspace_id.to_string(),
            "nova@example.pt",
            dir.to_str().unwrap(),
        ],
    )
    .await;
    let Some(measured) = measured else { return };
    eprintln!("browser settings: {measured}");
    assert!(dir.join("3-invitee-signed-in.png").exists());
    let settings = server
        .get_json(&format!(
            "/api/v1.0/external/sdworkspace/{workspace_id}/reviewsettings"
        ))
        .await
        .1;
    assert_eq!(settings["confidenceThreshold"], 0.75, "{settings}");
    assert_eq!(settings["autoReview"], true);
    assert_eq!(
        settings["requiredFields"],
        serde_json::json!(["InvoiceNumber", "GrossTotal"])
    );
    let users = server
        .get_json("/api/v1.0/external/tenant/allusers")
        .await
        .1;
    let nova = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "nova@example.pt")
        .unwrap();
    assert_eq!(
        (&nova["status"], &nova["name"]),
        (&"Active".into(), &"Nova".into())
    );
}
