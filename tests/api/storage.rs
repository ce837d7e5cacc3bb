//! Stored files in an S3 bucket: a real S3-compatible server (SeaweedFS), which
//! `scripts/test.sh` starts on loopback and names in `DOCKET_TEST_S3_BUCKET` and the `AWS_*`
//! variables.

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::start_with;

#[tokio::test]
async fn documents_are_stored_in_and_read_from_an_s3_bucket() {
    let Ok(bucket) = std::env::var("DOCKET_TEST_S3_BUCKET") else {
        eprintln!("skipped: no S3 server (scripts/test.sh starts one)");
        return;
    };
    let prefix = format!(
        "test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let server = start_with(true, |mut s| {
        s.storage = Some(format!("s3://{bucket}/{prefix}"));
        s
    })
    .await;
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Kept in a bucket")]]);
    let part = reqwest::multipart::Part::bytes(pdf.clone())
        .file_name("bucket.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let id = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    // Processing reads the original back from the bucket.
    let done = server.wait_for(id, &[3, 32, 33, 34, 35]).await;
    assert_eq!(done["taskStatus"], 3, "{done}");
    assert!(server
        .export(id)
        .await
        .to_string()
        .contains("Kept in a bucket"));
    let response = server
        .get(&format!("/api/v1.0/external/sdtask/originalfile/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), pdf);
    assert!(
        !server.data_dir().join("files").exists(),
        "nothing was stored on local disk"
    );
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
}
