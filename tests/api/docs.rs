//! `/docs`: Swagger UI served from the binary, showing `/openapi.json`.

use crate::common::server::start_with;

#[tokio::test]
async fn docs_page_and_its_assets_are_served() {
    let server = start_with(false, |s| s).await;
    let page = server.http.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("./"))
        .collect();
    assert!(assets.len() >= 3, "{html}");
    for asset in &assets {
        let url = server.url(&format!("/docs/{}", &asset[2..]));
        let response = server.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let body = response.text().await.unwrap();
        assert!(!body.is_empty(), "{url}");
        if asset.contains("initializer") {
            assert!(body.contains("/openapi.json"), "{body}");
        }
    }
    assert!(
        assets.iter().any(|a| a.contains("initializer")),
        "{assets:?}"
    );
    let doc = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
}
