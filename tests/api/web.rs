//! The web UI's pages over HTTP: the Documents tabs, filters, search and pages, the buttons
//! that end a task, errors as pages, and the settings pages. The browser tests walk the same
//! pages in Chromium.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{request_token, start, TestServer};
use crate::people::Browser;
use crate::review::person;

/// The ids of the tasks a list page shows, in its order.
fn listed(page: &str) -> Vec<i64> {
    page.split(r#"<a class="open" href="/documents/"#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// The href of a page's link with this rel, unescaped.
fn link(page: &str, rel: &str) -> Option<String> {
    let end = page.find(&format!(r#"" rel="{rel}""#))?;
    let start = page[..end].rfind("href=\"")? + 6;
    Some(page[start..end].replace("&#38;", "&"))
}

/// A one-line PDF named `name`, ready for review; returns its task id.
async fn uploaded(
    server: &TestServer,
    workspace: i64,
    name: &str,
    assignment: Option<&str>,
) -> i64 {
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, name)]]);
    let mut form = reqwest::multipart::Form::new()
        .text("workspaceId", workspace.to_string())
        .text("displayName", name.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(pdf).file_name("a.pdf"),
        );
    if let Some(assignment) = assignment {
        form = form.text("taskAssignment", assignment.to_owned());
    }
    let task = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    server.wait_for(task, &[3]).await;
    task
}

async fn default_workspace(server: &TestServer) -> i64 {
    let org = server.credentials.organization.id;
    let store = server.docket.store();
    store.workspace(org, None).await.unwrap().unwrap().id
}

#[tokio::test]
async fn the_document_lists_page_filter_search_and_keep_their_tabs() {
    let server = start().await;
    let workspace = default_workspace(&server).await;
    let (admin, _) = person(&server, "boss@example.pt", "Administrator", workspace).await;
    let (mut rev, _) = person(&server, "rev@example.pt", "Reviewer", workspace).await;
    let mine = uploaded(
        &server,
        workspace,
        "Mine",
        Some(r#"{"reviewers":["rev@example.pt"]}"#),
    )
    .await;
    let theirs = uploaded(&server, workspace, "Theirs", None).await;
    // Many more to page through: copies of one task, in varied statuses.
    let store = server.docket.store();
    store.seed_copies(theirs, 130, 60_000).await.unwrap();

    // To Review, 50 a page, newest first; "Next" keeps the tab and filters.
    let (status, first) = admin.get("/documents?tab=review").await;
    assert_eq!(status, StatusCode::OK);
    let first_ids = listed(&first);
    assert_eq!(first_ids.len(), 50);
    assert_eq!(&first_ids[..2], [theirs, mine]);
    let next = link(&first, "next").expect("a next page");
    assert!(
        next.contains("tab=review") && next.contains("page=2"),
        "{next}"
    );
    let (_, second) = admin.get(&next).await;
    let second_ids = listed(&second);
    assert_eq!(second_ids.len(), 50);
    assert!(
        second_ids.iter().all(|id| !first_ids.contains(id)),
        "no task twice: {first_ids:?} {second_ids:?} {next}"
    );
    assert!(link(&second, "prev").is_some());

    // Search by externalId or name, ignoring case; a status filter; no match.
    let external = format!("SEED-{theirs}-7");
    let (_, found) = admin
        .get(&format!("/documents?tab=review&q={external}"))
        .await;
    let found = listed(&found);
    assert!(!found.is_empty() && found.len() <= 11, "{found:?}");
    let (_, by_name) = admin.get("/documents?tab=review&q=mine").await;
    assert_eq!(listed(&by_name), [mine]);
    let (_, reviewing) = admin.get("/documents?tab=review&status=4").await;
    assert!(listed(&reviewing).is_empty(), "nothing is in review");
    let (status, _) = admin.get("/documents?tab=review&status=77").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, later) = admin.get("/documents?tab=review&from=2999-01-01").await;
    assert!(listed(&later).is_empty());

    // My Assignments: the task that names the reviewer.
    let (_, assigned) = rev.get("/documents?tab=mine").await;
    assert_eq!(listed(&assigned), [mine]);

    // Deleting from the document's page moves the task to the Archive.
    let (status, to) = rev
        .post_form(&format!("/documents/{mine}/delete"), &[])
        .await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/documents"));
    let (_, archive) = admin.get("/documents?tab=archive").await;
    assert_eq!(listed(&archive), [mine]);
    let (_, review) = admin.get("/documents?tab=review&q=mine").await;
    assert!(listed(&review).is_empty());
    let (_, page) = admin.get(&format!("/documents/{mine}")).await;
    assert!(page.contains("In history since"), "shown on the page");
}

#[tokio::test]
async fn a_refused_action_answers_with_a_page_not_json() {
    let server = start().await;
    let workspace = default_workspace(&server).await;
    let task = uploaded(&server, workspace, "Look only", None).await;
    let (mut viewer, _) = person(&server, "v@example.pt", "Viewer", workspace).await;
    let (_, page) = viewer.get(&format!("/documents/{task}")).await;
    assert!(
        !page.contains(r#"id="delete""#),
        "no Delete button for a Viewer"
    );
    let (status, body) = viewer
        .post_form(&format!("/documents/{task}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.starts_with("<!doctype html>") && body.contains("Viewer"),
        "{body}"
    );
    let (status, body) = viewer.get("/documents/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Task not found"), "{body}");
    let (status, body) = viewer.get("/settings").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn managers_invite_people_and_set_a_workspace_up_in_the_settings() {
    let server = start().await;
    let workspace = default_workspace(&server).await;
    let (mut admin, admin_id) =
        person(&server, "boss@example.pt", "Administrator", workspace).await;

    let (status, page) = admin.get("/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("boss@example.pt") && page.contains(r#"id="rotate""#));

    // An invitation shows its link, which works; a bad address is said on the page.
    let (status, page) = admin
        .post_form(
            "/settings/invite",
            &[("email", "new@example.pt"), ("role", "Reviewer")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let start = page.find(r#"id="invitation-link">"#).unwrap() + 21;
    let url = &page[start..start + page[start..].find('<').unwrap()];
    assert_eq!(
        Browser::new(&server).get(url).await.0,
        StatusCode::OK,
        "{url}"
    );
    let (status, page) = admin
        .post_form(
            "/settings/invite",
            &[("email", "nope"), ("role", "Reviewer")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains(r#"role="alert""#));

    // The workspace: template, languages and review settings, kept and read back by the API.
    let path = format!("/settings/workspaces/{workspace}");
    let admin_id = admin_id.to_string();
    let form = [
        ("template", "Receipts"),
        ("languages", "deu+eng"),
        ("required", "Total, Date"),
        ("threshold", "0.8"),
        ("autoReview", "true"),
        ("assignment", "inTurn"),
        ("reviewer", admin_id.as_str()),
    ];
    let (status, to) = admin.post_form(&path, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    assert!(to.ends_with("?saved=1"), "{to}");
    let settings_path = format!("/api/v1.0/external/sdworkspace/{workspace}/reviewsettings");
    assert_eq!(
        server.get_json(&settings_path).await.1,
        json!({"assignment": "inTurn", "reviewers": [admin_id.parse::<i64>().unwrap()],
               "autoReview": true, "confidenceThreshold": 0.8,
               "requiredFields": ["Total", "Date"]})
    );
    let org = server.credentials.organization.id;
    let read = server
        .docket
        .store()
        .workspace(org, Some(workspace))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.template.as_str(), read.languages.as_str()),
        ("Receipts", "deu+eng")
    );
    let (_, page) = admin.get(&to).await;
    assert!(page.contains("Saved."));
    let (status, page) = admin
        .post_form(
            &path,
            &[
                ("template", "Receipts"),
                ("languages", "deu"),
                ("threshold", "2"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("between 0 and 1"), "{page}");

    // A new API secret, shown once: the old token stops working, the new secret gets one.
    let (status, page) = admin.post_form("/settings/secret", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let start = page.find(r#"id="client-secret">"#).unwrap() + 19;
    let secret = &page[start..start + page[start..].find('<').unwrap()];
    assert_eq!(server.get_json(&settings_path).await.0, 401);
    let client_id = &server.credentials.organization.client_id;
    let token = request_token(&reqwest::Client::new(), &server.base, client_id, secret).await;
    assert!(!token.is_empty());
}
