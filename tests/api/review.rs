//! Review: checking a task out, one reviewer at a time, editing its fields, completing or
//! releasing it; the edits and who made them in the export; reprocess starting review over.

use reqwest::header::ORIGIN;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{start, TestServer};
use crate::people::{invite_one, Browser};
use crate::understanding::{entities, process, truth, workspace};
use docket_testkit::corpus::{self, Language};

fn path(task: i64, step: &str) -> String {
    format!("/api/v1.0/external/sdtask/{task}/{step}")
}

/// A review step with the organisation's token: status and body.
async fn as_client(
    server: &TestServer,
    method: Method,
    task: i64,
    step: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server.call(method, &path(task, step));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The same, from a signed-in person's browser on docket's own pages.
async fn as_person(
    browser: &Browser,
    server: &TestServer,
    method: Method,
    task: i64,
    step: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = browser
        .request(method, &path(task, step))
        .header(ORIGIN, &server.base);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A person of the given role assigned to the workspace, signed in.
pub(crate) async fn person(
    server: &TestServer,
    email: &str,
    role: &str,
    workspace: i64,
) -> (Browser, i64) {
    let link = invite_one(server, email, role, Some(workspace)).await;
    let mut browser = Browser::new(server);
    let name = email.split('@').next().unwrap();
    browser.accept(&link, name, "long enough secret").await;
    let users = server
        .get_json("/api/v1.0/external/tenant/allusers")
        .await
        .1;
    let id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    (browser, id)
}

fn field<'a>(export: &'a Value, category: &str) -> &'a Value {
    entities(export, "invoiceField")
        .find(|e| e["category"] == category)
        .unwrap_or_else(|| panic!("no {category}"))
}

#[tokio::test]
async fn a_reviewer_holds_edits_and_completes_a_task_and_the_export_says_who() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesPortugal").await;
    let invoice = corpus::invoice_pdf(&truth(Language::Portuguese));
    let recognised = process(&server, workspace_id, "fatura.pdf", invoice).await;
    let task = recognised["taskId"].as_i64().unwrap();
    let original_total = field(&recognised, "GrossTotal")["keyValues"][0]["content"].clone();
    let (rev, rev_id) = person(&server, "rev@example.pt", "Reviewer", workspace_id).await;

    let (status, held) = as_person(&rev, &server, Method::POST, task, "checkout", None).await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["taskStatus"], 4);
    assert_eq!(held["lastCheckedOutBy"], rev_id);
    assert_eq!(held["lastCheckoutByUserName"], "rev");
    let (status, conflict) = as_client(&server, Method::POST, task, "checkout", None).await;
    assert_eq!(status, 409, "{conflict}");
    assert!(
        conflict["detail"].as_str().unwrap().contains("rev"),
        "{conflict}"
    );

    let edits = json!({"fields": [
        {"type": "invoiceField", "category": "GrossTotal", "content": "999.99"},
        {"type": "invoiceField", "category": "PurchaseOrder", "content": "PO-77", "pageNumber": 1,
         "boundingBox": {"left": 72, "top": 100, "right": 140, "bottom": 112}},
        {"type": "invoiceField", "category": "InvoiceNumber", "notDetected": true},
    ]});
    let (status, _) = as_client(&server, Method::PATCH, task, "fields", Some(edits.clone())).await;
    assert_eq!(status, 409, "only the holder edits");
    let (status, body) = as_person(&rev, &server, Method::PATCH, task, "fields", Some(edits)).await;
    assert_eq!(status, 200, "{body}");

    let export = server.export(task).await;
    assert_eq!(export["lastCheckedOutBy"], rev_id);
    assert_eq!(export["lastCheckoutByUserName"], "rev");
    assert!(export["lastCheckedOutUntil"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let total = field(&export, "GrossTotal");
    assert_eq!(total["keyValues"][0]["content"], "999.99");
    assert_eq!(total["editedBy"], rev_id);
    assert_eq!(total["editedByExternal"], Value::Null);
    assert!(total["editedOn"].as_str().is_some(), "{total}");
    assert_eq!(total["addedBy"], Value::Null);
    assert_eq!(total["confidence"], 1.0);
    let added = field(&export, "PurchaseOrder");
    assert_eq!(added["addedBy"], rev_id);
    assert_eq!(added["keyValues"][0]["boundingBox"]["left"], 72.0);
    let absent = field(&export, "InvoiceNumber");
    assert_eq!(absent["notDetected"], true);
    assert_eq!(absent["keyValues"][0]["content"], "");
    let chunk = &export["chunks"][0];
    assert_eq!(chunk["lastModifiedBy"], rev_id);

    let (status, done) = as_person(&rev, &server, Method::POST, task, "complete", None).await;
    assert_eq!((status, &done["taskStatus"]), (200, &json!(5)), "{done}");
    assert_eq!(server.status(task).await["taskStatusText"], "Reviewed");
    let statuses: Vec<i64> = server
        .history(task)
        .await
        .iter()
        .map(|e| e["taskStatus"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses[statuses.len() - 3..], [3, 4, 5]);
    let (status, _) = as_person(&rev, &server, Method::POST, task, "checkout", None).await;
    assert_eq!(status, 409, "a reviewed task is not checked out again");

    // Reprocessing drops the edits and the checkout and starts review over.
    let restart = server
        .call(
            Method::PATCH,
            &format!("/api/v1.0/external/sdtask/restartprocessing?taskId={task}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(restart.status(), 200);
    server.wait_for(task, &[3]).await;
    let export = server.export(task).await;
    assert_eq!(
        field(&export, "GrossTotal")["keyValues"][0]["content"],
        original_total
    );
    assert_eq!(field(&export, "GrossTotal")["editedBy"], Value::Null);
    assert_eq!(export["lastCheckedOutBy"], Value::Null);
    assert_eq!(export["lastCheckoutByUserName"], Value::Null);
}

#[tokio::test]
async fn who_may_review_and_what_an_edit_must_say() {
    let server = start().await;
    let org = server.credentials.organization.id;
    let default_workspace = server
        .docket
        .store()
        .workspace(org, None)
        .await
        .unwrap()
        .unwrap()
        .id;
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Total 10,00")]]);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf).file_name("a.pdf"),
    );
    let task = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    server.wait_for(task, &[3]).await;
    let other_workspace = server
        .docket
        .store()
        .create_workspace(org, "Other", None, "Layout", "por")
        .await
        .unwrap()
        .id;
    let (viewer, _) = person(&server, "view@example.pt", "Viewer", default_workspace).await;
    let (outsider, _) = person(&server, "out@example.pt", "Reviewer", other_workspace).await;
    let (status, _) = as_person(&viewer, &server, Method::POST, task, "checkout", None).await;
    assert_eq!(status, 403, "Viewers only look");
    let (status, _) = as_person(&outsider, &server, Method::POST, task, "checkout", None).await;
    assert_eq!(status, 404, "not assigned to the task's workspace");
    let foreign = server
        .http
        .post(server.url(&path(task, "checkout")))
        .bearer_auth(server.other_tenant_token().await)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404, "another organisation's task");

    let (status, held) = as_client(&server, Method::POST, task, "checkout", None).await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["lastCheckedOutBy"], Value::Null);
    assert_eq!(held["lastCheckoutByUserName"], "API client");
    let bad = [
        json!({"fields": []}),
        json!({"fields": [{"type": "table", "category": "Total", "content": "1"}]}),
        json!({"fields": [{"type": "keyValue", "category": "Total"}]}),
        json!({"fields": [{"type": "keyValue", "category": "Total", "content": "1", "pageNumber": 2}]}),
        json!({"fields": [{"type": "keyValue", "category": " ", "content": "1"}]}),
        json!({"fields": [{"type": "keyValue", "category": "Total", "content": "1",
                           "boundingBox": {"left": 10, "top": 0, "right": 5, "bottom": 1}}]}),
    ];
    for body in bad {
        let (status, problem) =
            as_client(&server, Method::PATCH, task, "fields", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {problem}");
    }
    // Twice: whether recognition found the field or not, the second edit is an edit.
    let edit = json!({"Fields": [{"TYPE": "keyValue", "category": "Total", "content": "10"},
                                 {"type": "keyValue", "Category": "Total", "content": "10.00"}]});
    let (status, _) = as_client(&server, Method::PATCH, task, "fields", Some(edit)).await;
    assert_eq!(status, 200);
    let export = server.export(task).await;
    let total = entities(&export, "keyValue")
        .find(|e| e["category"] == "Total")
        .unwrap();
    assert_eq!(total["editedByExternal"], "API client");
    assert_eq!(total["editedBy"], Value::Null);

    let (status, released) = as_client(&server, Method::POST, task, "release", None).await;
    assert_eq!(
        (status, &released["taskStatus"]),
        (200, &json!(3)),
        "{released}"
    );
    let (status, _) = as_client(&server, Method::POST, task, "complete", None).await;
    assert_eq!(status, 409, "released: check it out first");
}

async fn put_settings(server: &TestServer, workspace: i64, body: Value) -> (u16, Value) {
    let path = format!("/api/v1.0/external/sdworkspace/{workspace}/reviewsettings");
    let response = server
        .call(Method::PUT, &path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Uploads a document to the workspace, with the given `taskAssignment`; returns the task id.
pub(crate) async fn upload(
    server: &TestServer,
    workspace: i64,
    bytes: Vec<u8>,
    assignment: Option<&str>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .text("workspaceId", workspace.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("a.pdf"),
        );
    if let Some(assignment) = assignment {
        form = form.text("taskAssignment", assignment.to_owned());
    }
    let response = server
        .call(Method::POST, "/api/v1.0/external/sdtask/process")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn automatic_review_takes_invoices_whose_required_fields_are_sure() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesPortugal").await;
    let invoice = corpus::invoice_pdf(&truth(Language::Portuguese));
    let settings = json!({"autoReview": true, "confidenceThreshold": 0.5,
                          "requiredFields": ["InvoiceNumber", "GrossTotal", "SupplierTaxId"]});
    let (status, saved) = put_settings(&server, workspace_id, settings.clone()).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["assignment"], "any");
    let (_, created) = upload(&server, workspace_id, invoice.clone(), None).await;
    let task = created["taskId"].as_i64().unwrap();
    server.wait_for(task, &[3, 5]).await;
    let last = server.history(task).await.pop().unwrap();
    assert_eq!(last["taskStatus"], 5, "{last}");
    let reason = last["reason"].as_str().unwrap();
    assert!(reason.starts_with("reviewed automatically"), "{reason}");
    assert!(reason.contains("fiscal QR code"), "{reason}");

    // A required field the invoice lacks leaves the task to a person.
    let mut lacking = settings;
    lacking["requiredFields"] = json!(["InvoiceNumber", "PurchaseOrder"]);
    assert_eq!(put_settings(&server, workspace_id, lacking).await.0, 200);
    let (_, created) = upload(&server, workspace_id, invoice, None).await;
    let task = created["taskId"].as_i64().unwrap();
    assert_eq!(server.wait_for(task, &[3, 5]).await["taskStatus"], 3);

    let bad = [
        json!({"confidenceThreshold": 1.5}),
        json!({"autoReview": true, "requiredFields": []}),
        json!({"reviewers": [987654]}),
        json!({"assignment": "sometimes"}),
    ];
    for body in bad {
        let (status, problem) = put_settings(&server, workspace_id, body.clone()).await;
        assert_eq!(status, 400, "{body} -> {problem}");
    }
}

#[tokio::test]
async fn tasks_go_to_their_assigned_reviewers() {
    let server = start().await;
    let org = server.credentials.organization.id;
    let workspace_id = server
        .docket
        .store()
        .workspace(org, None)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (ana, ana_id) = person(&server, "ana@example.pt", "Reviewer", workspace_id).await;
    let (rui, rui_id) = person(&server, "rui@example.pt", "Reviewer", workspace_id).await;
    let settings = json!({"assignment": "inTurn", "reviewers": [ana_id, rui_id]});
    assert_eq!(put_settings(&server, workspace_id, settings).await.0, 200);

    let pdf = || text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Invoice")]]);
    let mut tasks = Vec::new();
    for assignment in [
        None,
        None,
        None,
        Some(r#"{"reviewers": ["RUI@example.pt"]}"#),
    ] {
        let (status, created) = upload(&server, workspace_id, pdf(), assignment).await;
        assert_eq!(status, 200, "{created}");
        let task = created["taskId"].as_i64().unwrap();
        server.wait_for(task, &[3]).await;
        tasks.push(task);
    }
    // In turn: ana, rui, ana; the last names rui itself.
    let expected = [(&ana, &rui), (&rui, &ana), (&ana, &rui), (&rui, &ana)];
    for (task, (assignee, other)) in tasks.iter().zip(expected) {
        let (status, _) = as_person(other, &server, Method::POST, *task, "checkout", None).await;
        assert_eq!(status, 403, "task {task} is not theirs");
        let (status, held) =
            as_person(assignee, &server, Method::POST, *task, "checkout", None).await;
        assert_eq!(status, 200, "task {task}: {held}");
    }
    let unknown = r#"{"reviewers": ["nobody@example.pt"]}"#;
    let (status, problem) = upload(&server, workspace_id, pdf(), Some(unknown)).await;
    assert_eq!(status, 400, "{problem}");
    let settings_path = format!("/api/v1.0/external/sdworkspace/{workspace_id}/reviewsettings");
    let (status, seen) = ana.get(&settings_path).await;
    assert_eq!(
        status, 200,
        "a reviewer of the workspace sees its settings: {seen}"
    );
    let change = ana
        .request(Method::PUT, &settings_path)
        .header(ORIGIN, &server.base)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 403, "but only managers change them");
}

#[tokio::test]
async fn the_review_page_draws_each_page_for_those_who_may_see_it() {
    let server = start().await;
    let org = server.credentials.organization.id;
    let workspace_id = server
        .docket
        .store()
        .workspace(org, None)
        .await
        .unwrap()
        .unwrap()
        .id;
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Total 10,00")]]);
    let (_, created) = upload(&server, workspace_id, pdf, None).await;
    let task = created["taskId"].as_i64().unwrap();
    server.wait_for(task, &[3]).await;
    let (rev, _) = person(&server, "rev@example.pt", "Reviewer", workspace_id).await;

    let (status, page) = rev.get(&format!("/documents/{task}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"data-text="Total""#),
        "the words are over the picture"
    );
    let picture = rev
        .request(Method::GET, &format!("/documents/{task}/pages/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(picture.status(), 200);
    assert_eq!(picture.headers()["content-type"], "image/png");
    let bytes = picture.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    for (page, expected) in [("2", 404), ("0", 404), ("x", 400)] {
        let (status, _) = rev.get(&format!("/documents/{task}/pages/{page}")).await;
        assert_eq!(status, expected, "page {page}");
    }
    let (status, _) = Browser::new(&server)
        .get(&format!("/documents/{task}/pages/1"))
        .await;
    assert_eq!(status, 303, "signed out: sent to sign in");
}

/// An invoice of one supplier with a reference the general reading does not know as a field.
fn supplier_invoice(number: &str, reference: &str, total: &str) -> Vec<u8> {
    let run = |y: f64, text: &str| TextRun::new(72.0, y, 11.0, text);
    text_pdf(&[vec![
        run(72.0, "Construções Ribeiro & Filhos, Lda."),
        run(88.0, "NIF: 519570545"),
        run(130.0, &format!("Fatura n.º {number}")),
        run(146.0, "Data: 04-11-2024"),
        run(162.0, &format!("Ref. obra {reference}")),
        run(220.0, &format!("Total: {total} EUR")),
    ]])
}

#[tokio::test]
async fn a_correction_teaches_the_suppliers_next_invoice() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesUniversal").await;
    let first = process(
        &server,
        workspace_id,
        "a.pdf",
        supplier_invoice("FT 1/7", "OB-2231", "10,00"),
    )
    .await;
    let task = first["taskId"].as_i64().unwrap();
    assert!(
        entities(&first, "invoiceField").all(|e| e["category"] != "ProjectReference"),
        "recognition alone does not know the field"
    );
    assert_eq!(
        as_client(&server, Method::POST, task, "checkout", None)
            .await
            .0,
        200
    );
    let edit = json!({"fields": [
        {"type": "invoiceField", "category": "ProjectReference", "content": "OB-2231"}]});
    assert_eq!(
        as_client(&server, Method::PATCH, task, "fields", Some(edit))
            .await
            .0,
        200
    );
    assert_eq!(
        as_client(&server, Method::POST, task, "complete", None)
            .await
            .0,
        200
    );

    let second = process(
        &server,
        workspace_id,
        "b.pdf",
        supplier_invoice("FT 1/8", "OB-2290", "12,00"),
    )
    .await;
    let learnt = field(&second, "ProjectReference");
    assert_eq!(learnt["keyValues"][0]["content"], "OB-2290", "{learnt}");
    assert!(learnt["confidence"].as_f64().unwrap() >= 0.99);
    assert!(
        learnt["keyValues"][0]["boundingBox"]["width"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}
