//! `originalfile/{id}`: the original comes back as a download of its detected type, never as
//! something a browser would render in docket's origin.

use std::path::PathBuf;

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use serde_json::Value;
use sha2::Sha256;

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{json_of, start, start_with, TestServer};

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
    let export = json_of(
        server
            .get(&path)
            .header("host", "evil.example")
            .header("x-forwarded-host", "evil.example"),
    )
    .await;
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
        link.starts_with("https://docs.example.com/docket/files/original/"),
        "{link}"
    );
}

/// What a link for `task_id` expiring at `expires` looks like, signed with the data dir's key.
fn signed_path(data_dir: &std::path::Path, task_id: i64, expires: i64) -> String {
    let key = std::fs::read(data_dir.join("link.key")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("original-file:{task_id}:{expires}").as_bytes());
    let signature =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("/files/original/{task_id}?expires={expires}&signature={signature}")
}

#[tokio::test]
async fn signed_links_work_without_a_token_until_they_expire() {
    let mut data_dir = PathBuf::new();
    let server = start_with(false, |s| {
        data_dir = s.data_dir.clone();
        s
    })
    .await;
    let id = upload(&server, "a.pdf", b"%PDF-1.4 x".to_vec(), "application/pdf").await;
    let link = server.export(id).await["originalFileUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let anonymous = |url: String| {
        let request = server.http.get(url);
        async move { request.send().await.unwrap() }
    };
    let response = anonymous(link.clone()).await;
    assert_eq!(response.status(), 200);
    assert_download(response.headers(), "application/octet-stream", "a.pdf");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"%PDF-1.4 x");

    // 180 days by default.
    let expires: i64 = link.split("expires=").nth(1).unwrap()[..10]
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((expires - now - 180 * 86_400).abs() < 60, "{expires}");
    assert_eq!(link, server.url(&signed_path(&data_dir, id, expires)));

    let signature = link.split("signature=").nth(1).unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    for (tampered, why) in [
        (link.replace(&format!("/{id}?"), "/999?"), "another task"),
        (link.replace("expires=", "expires=1"), "a later expiry"),
        (
            link.replace("signature=", &format!("signature={flipped}")),
            "another signature",
        ),
        (link.split('&').next().unwrap().to_owned(), "no signature"),
        (server.url(&format!("/files/original/{id}")), "nothing"),
        (server.url(&signed_path(&data_dir, id, now - 10)), "expired"),
    ] {
        let response = anonymous(tampered).await;
        assert_eq!(response.status(), 403, "{why}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{why}"
        );
    }

    // The file gone: 404, by link and by token alike.
    std::fs::remove_dir_all(data_dir.join("files")).unwrap();
    assert_eq!(anonymous(link).await.status(), 404);
    let (status, _) = server
        .get_json(&format!("/api/v1.0/external/sdtask/originalfile/{id}"))
        .await;
    assert_eq!(status, 404);
}
