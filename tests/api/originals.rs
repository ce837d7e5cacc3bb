//! `originalfile/{id}`: the original comes back as a download of its detected type, never as
//! something a browser would render in docket's origin.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{start, start_with, TestServer};

const HOSTILE_SVG: &str =
    r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;

async fn upload(server: &TestServer, name: &str, bytes: Vec<u8>, content_type: &str) -> i64 {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(content_type)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap()
}

async fn original(server: &TestServer, id: i64) -> (HeaderMap, Vec<u8>) {
    let response = server
        .get(&format!("/api/v1.0/external/sdtask/originalfile/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

fn assert_download(headers: &HeaderMap, content_type: &str, name: &str) {
    assert_eq!(headers["content-type"], content_type);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"{name}\"")),
        "{disposition}"
    );
}

#[tokio::test]
async fn originals_are_served_as_their_detected_type_only() {
    let server = start().await;
    let svg = upload(&server, "x.svg", HOSTILE_SVG.into(), "image/svg+xml").await;
    let html = upload(
        &server,
        "x.html",
        b"<script>alert(1)</script>".to_vec(),
        "text/html",
    )
    .await;
    let pdf_bytes = text_pdf(&[vec![TextRun::new(72.0, 100.0, 12.0, "Hello")]]);
    let pdf = upload(&server, "doc.html", pdf_bytes.clone(), "text/html").await;

    // Before pre-processing nothing is detected yet: the client's type is not used.
    let (headers, bytes) = original(&server, svg).await;
    assert_download(&headers, "application/octet-stream", "x.svg");
    assert_eq!(bytes, HOSTILE_SVG.as_bytes());

    // Not readable documents: they stay untyped downloads.
    for id in [svg, html] {
        let status: Value = server.wait_for(id, &[35]).await;
        assert_eq!(status["taskStatus"], 35);
    }
    assert_download(
        &original(&server, svg).await.0,
        "application/octet-stream",
        "x.svg",
    );
    assert_download(
        &original(&server, html).await.0,
        "application/octet-stream",
        "x.html",
    );

    // A PDF sent as text/html is served as the PDF it is.
    server.wait_for(pdf, &[3]).await;
    let (headers, bytes) = original(&server, pdf).await;
    assert_download(&headers, "application/pdf", "doc.html");
    assert_eq!(bytes, pdf_bytes);
}

#[tokio::test]
async fn links_come_from_configuration_not_from_the_host_header() {
    let server = start_with(false, |s| s).await;
    let id = upload(&server, "a.pdf", b"%PDF-".to_vec(), "application/pdf").await;
    let path = format!("/api/v1.0/external/sdtask/GetExportData/{id}");
    let export: Value = server
        .get(&path)
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = export["originalFileUrl"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/", server.base)), "{link}");

    let configured = start_with(false, |mut s| {
        s.api.public_url = "https://docs.example.com/docket/".into();
        s
    })
    .await;
    let id = upload(&configured, "a.pdf", b"%PDF-".to_vec(), "application/pdf").await;
    let export = configured.export(id).await;
    let link = export["originalFileUrl"].as_str().unwrap();
    assert!(
        link.starts_with("https://docs.example.com/docket/api/"),
        "{link}"
    );
}
