//! `GET /sdtask/GetExportData`: the seed 004 model filled with the recognised words.

use serde_json::{json, Value};

use crate::common::fixtures::{helvetica_width, text_pdf, TextRun, PAGE_HEIGHT, PAGE_WIDTH};
use crate::common::server::{start, FileServer};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn export_carries_words_lines_and_boxes_in_the_seed_shape() {
    let server = start().await;
    let files = FileServer::start().await;
    let pdf = text_pdf(&[
        vec![
            TextRun::new(72.0, 100.0, 12.0, "Invoice No: 2024/17"),
            TextRun::new(72.0, 140.0, 10.0, "Total 1.234,56 EUR"),
        ],
        vec![TextRun::new(300.0, 400.0, 14.0, "Page two")],
    ]);
    let url = files.add("invoice.pdf", pdf.clone());
    let task = server
        .create_task(json!({
            "externalId": "inv-17",
            "description": "d",
            "context": {"url": url},
            "metadata": {"supplier": "ACME", "costCenter": "7"}
        }))
        .await;
    let id = task["taskId"].as_i64().unwrap();
    server.wait_for(id, &[3]).await;
    let export = server.export(id).await;

    assert_eq!(
        keys(&export),
        sorted(&[
            "taskId",
            "originalFileUrl",
            "workspaceId",
            "batchId",
            "taskNumber",
            "externalId",
            "displayName",
            "description",
            "totalPages",
            "lastCheckoutByUserName",
            "lastCheckedOutBy",
            "lastCheckedOutUntil",
            "chunks",
            "lastIntegratedBy",
            "lastIntegratedByUserName",
            "lastIntegratedOn",
            "averageConfidence",
            "metadata",
        ])
    );
    assert_eq!(export["taskId"], id);
    assert_eq!(export["externalId"], "inv-17");
    assert_eq!(export["totalPages"], 2);
    assert_eq!(
        export["metadata"],
        json!({"supplier": "ACME", "costCenter": "7"})
    );
    // Words of a text layer are certain; values found by layout rules a little less so.
    let average = export["averageConfidence"].as_f64().unwrap();
    assert!((0.8..=1.0).contains(&average), "{average}");

    let chunks = export["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 2, "one chunk per page");
    let chunk = &chunks[0];
    assert_eq!(
        keys(chunk),
        sorted(&[
            "entities",
            "version",
            "retrievedOn",
            "lastModifiedBy",
            "lastModifiedByExternal",
            "lastModifiedOn",
            "averageConfidence"
        ])
    );
    let entities = chunk["entities"].as_array().unwrap();
    let (words_entity, lines_entity) = (&entities[0], &entities[1]);
    // "Invoice No: 2024/17" is also understood as a key-value, with its own box and span.
    let number = entities
        .iter()
        .find(|e| e["type"] == "keyValue" && e["category"] == "InvoiceNumber")
        .expect("an InvoiceNumber key-value");
    let value = &number["keyValues"][0];
    assert_eq!(value["content"], "2024/17");
    assert_eq!(value["categoryNormalized"], "InvoiceNumber");
    assert_eq!(value["spans"], json!([{"offset": 12, "length": 7}]));
    assert_eq!(value["pageNumber"], 1);
    assert_eq!(
        keys(words_entity),
        sorted(&[
            "type",
            "category",
            "groupName",
            "pageNumber",
            "chunkNumber",
            "customFormValues",
            "qrCode",
            "table",
            "templateBuilderField",
            "keyValues",
            "addedOn",
            "addedBy",
            "addedByExternal",
            "editedOn",
            "viewerEditedOn",
            "editedBy",
            "editedByExternal",
            "integratedOn",
            "integratedBy",
            "integratedByExternal",
            "integrationFailedReason",
            "integrationFailedReasonDetailed",
            "markedAsSolved",
            "notDetected",
            "contentUnderstandingDetected",
            "confidence",
        ])
    );
    assert_eq!(words_entity["category"], "words");
    assert_eq!(words_entity["confidence"], 1.0);
    assert_eq!(words_entity["qrCode"], Value::Null);
    assert_eq!(words_entity["markedAsSolved"], false);

    let words = words_entity["keyValues"].as_array().unwrap();
    let texts: Vec<&str> = words
        .iter()
        .map(|w| w["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Invoice", "No:", "2024/17", "Total", "1.234,56", "EUR"]
    );
    let word = &words[2];
    assert_eq!(
        keys(word),
        sorted(&[
            "boundingBox",
            "points",
            "confidence",
            "spans",
            "pageNumber",
            "category",
            "categoryNormalized",
            "content",
            "contentNormalized",
        ])
    );
    assert_eq!(word["pageNumber"], 1);
    assert_eq!(word["category"], "word");
    assert_eq!(word["confidence"], 1.0);
    assert_eq!(word["spans"], json!([{"offset": 12, "length": 7}]));
    let bbox = &word["boundingBox"];
    assert_eq!(
        keys(bbox),
        sorted(&["height", "width", "left", "bottom", "x", "y", "right", "top"])
    );
    let f = |v: &Value| v.as_f64().unwrap();
    let expected_left = 72.0 + helvetica_width("Invoice No: ", 12.0);
    let expected_right = 72.0 + helvetica_width("Invoice No: 2024/17", 12.0);
    assert!((f(&bbox["left"]) - expected_left).abs() < 1.5, "{bbox}");
    assert!((f(&bbox["right"]) - expected_right).abs() < 2.0, "{bbox}");
    assert!(
        f(&bbox["top"]) < 100.0 && 100.0 < f(&bbox["bottom"]),
        "baseline inside the box: {bbox}"
    );
    assert!((f(&bbox["height"]) - 12.0).abs() < 6.0, "{bbox}");
    assert_eq!(bbox["x"], bbox["left"]);
    assert_eq!(bbox["y"], bbox["top"]);
    let points = word["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    assert_eq!(points[0], json!({"x": bbox["left"], "y": bbox["top"]}));
    assert_eq!(points[2], json!({"x": bbox["right"], "y": bbox["bottom"]}));

    let lines = lines_entity["keyValues"].as_array().unwrap();
    let line_texts: Vec<&str> = lines
        .iter()
        .map(|l| l["content"].as_str().unwrap())
        .collect();
    assert_eq!(line_texts, ["Invoice No: 2024/17", "Total 1.234,56 EUR"]);
    assert_eq!(lines[0]["category"], "line");
    assert_eq!(lines[1]["spans"], json!([{"offset": 20, "length": 18}]));

    let page_two = chunks[1]["entities"][0]["keyValues"].as_array().unwrap();
    assert_eq!(page_two[0]["content"], "Page");
    assert_eq!(page_two[0]["pageNumber"], 2);
    assert_eq!(chunks[1]["entities"][0]["chunkNumber"], 2);
    let left = f(&page_two[0]["boundingBox"]["left"]);
    assert!((left - 300.0).abs() < 1.5 && left < PAGE_WIDTH);
    assert!(f(&page_two[0]["boundingBox"]["bottom"]) < PAGE_HEIGHT);

    // The original comes by a signed link that needs no token, byte for byte; the bearer route
    // serves it to its organisation too.
    let original_url = export["originalFileUrl"].as_str().unwrap();
    assert!(
        original_url.starts_with(&server.url(&format!("/files/original/{id}?expires="))),
        "{original_url}"
    );
    let response = server.http.get(original_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.bytes().await.unwrap().as_ref(), pdf.as_slice());
    let bearer_route = server.url(&format!("/api/v1.0/external/sdtask/originalfile/{id}"));
    let response = server
        .http
        .get(&bearer_route)
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), pdf.as_slice());
    assert_eq!(
        server
            .http
            .get(&bearer_route)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // By externalId in the query too.
    let by_query: Value = server
        .get_json("/api/v1.0/external/sdtask/GetExportData?externalId=inv-17")
        .await
        .1;
    assert_eq!(by_query, export);
}

#[tokio::test]
async fn export_errors() {
    let server = start().await;
    let status = |path: &'static str| {
        let request = server.get(path);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        status("/api/v1.0/external/sdtask/GetExportData/abc").await,
        400
    );
    assert_eq!(
        status("/api/v1.0/external/sdtask/GetExportData/424242").await,
        404
    );
    assert_eq!(status("/api/v1.0/external/sdtask/GetExportData").await, 400);
    assert_eq!(
        status("/api/v1.0/external/sdtask/GetExportData?externalId=nope").await,
        404
    );
    assert_eq!(
        status("/api/v1.0/external/sdtask/originalfile/424242").await,
        404
    );
}

#[tokio::test]
async fn a_task_not_yet_recognised_exports_without_chunks() {
    let server = crate::common::server::start_with(false, |s| s).await;
    let id = server
        .create_url_task("https://example.com/later.pdf")
        .await;
    let export = server.export(id).await;
    assert_eq!(export["chunks"], json!([]));
    assert_eq!(export["originalFileUrl"], Value::Null);
    assert_eq!(export["averageConfidence"], 0.0);
    assert_eq!(export["metadata"], json!({}));
}
