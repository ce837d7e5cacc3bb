//! `GET /sdtask/statuslist` (seed 002) and `statuslistpaginated`: filters, sorting, paging.

use serde_json::{json, Value};

use crate::common::fixtures::{text_pdf, TextRun};
use crate::common::server::{start, start_with, FileServer, TestServer};

const LIST: &str = "/api/v1.0/external/sdtask/statuslist";
const PAGED: &str = "/api/v1.0/external/sdtask/statuslistpaginated";
const SINCE: &str = "startDate=2000-01-01T00:00:00Z";

async fn list(server: &TestServer, query: &str) -> Vec<i64> {
    server.listed_ids(query).await
}

async fn code(server: &TestServer, path: &str) -> u16 {
    server.get(path).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn filters_combine_and_repeat() {
    let server = start().await;
    let files = FileServer::start().await;
    let org = server.credentials.organization.id;
    let second = server
        .docket
        .store()
        .create_workspace(org, "Second", None, "Layout", "eng")
        .await
        .unwrap();
    let good = files.add(
        "a.pdf",
        text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "hello")]]),
    );
    let missing = format!("{}/files/missing.pdf", files.base);
    let a = server.create_url_task(&good).await;
    let b = server.create_url_task(&missing).await;
    let c = server
        .create_task(json!({"workspaceId": second.id, "context": {"url": good}}))
        .await["taskId"]
        .as_i64()
        .unwrap();
    server.wait_for(a, &[3]).await;
    server.wait_for(b, &[33]).await;
    server.wait_for(c, &[3]).await;

    assert_eq!(
        list(&server, SINCE).await,
        [a, b, c],
        "sorted by createdOn by default"
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&taskStatus=3")).await,
        [a, c]
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&taskStatus=33&taskStatus=3")).await,
        [a, b, c]
    );
    assert_eq!(
        list(
            &server,
            &format!("{SINCE}&taskStatus=PreProcessingDownloadFailed")
        )
        .await,
        [b]
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&taskstatus=30")).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&integrationStatus=1")).await,
        [a, b, c]
    );
    assert_eq!(
        list(
            &server,
            &format!("{SINCE}&integrationStatus=4&integrationStatus=3")
        )
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&workspaceId={}", second.id)).await,
        [c]
    );
    assert_eq!(
        list(
            &server,
            &format!("{SINCE}&workspaceId={}&workspaceId=1", second.id)
        )
        .await,
        [a, b, c]
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&workspaceId=1&taskStatus=3")).await,
        [a]
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&sort=-taskId")).await,
        [c, b, a]
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&sort=TASKSTATUS")).await[0],
        a
    );
    assert_eq!(
        list(&server, &format!("{SINCE}&sort=-taskStatus")).await[0],
        b
    );
    assert_eq!(
        list(&server, "endDate=2000-01-01T00:00:00Z").await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list(&server, "endDate=2999-01-01T00:00:00.1234567Z").await,
        [a, b, c]
    );
    assert_eq!(
        list(&server, "startDate=2999-01-01T00:00:00Z").await,
        Vec::<i64>::new()
    );

    // The items are exactly the status response.
    let items = server.get_json(&format!("{LIST}?{SINCE}")).await.1;
    assert_eq!(items[0], server.status(a).await);
}

#[tokio::test]
async fn list_errors_are_400() {
    let server = start_with(false, |s| s).await;
    for query in [
        "",
        "taskStatus=3",
        "startDate=",
        "startDate=yesterday",
        "endDate=2022-13-45T00:00:00Z",
        "startDate=2022-01-01T00:00:00Z&endDate=bad",
        "startDate=2022-01-01T00:00:00Z&taskStatus=99",
        "startDate=2022-01-01T00:00:00Z&taskStatus=abc",
        "startDate=2022-01-01T00:00:00Z&integrationStatus=9",
        "startDate=2022-01-01T00:00:00Z&workspaceId=x",
        "startDate=2022-01-01T00:00:00Z&sort=password",
    ] {
        assert_eq!(
            code(&server, &format!("{LIST}?{query}")).await,
            400,
            "{query}"
        );
        assert_eq!(
            code(&server, &format!("{PAGED}?{query}")).await,
            400,
            "{query}"
        );
    }
    for query in [
        "pageNumber=0",
        "pageNumber=-1",
        "pageSize=0",
        "pageSize=1001",
        "pageSize=x",
    ] {
        assert_eq!(
            code(&server, &format!("{PAGED}?{SINCE}&{query}")).await,
            400,
            "{query}"
        );
    }
}

#[tokio::test]
async fn pages_carry_the_envelope() {
    let server = start_with(false, |s| s).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            server
                .create_url_task(&format!("https://example.com/{n}.pdf"))
                .await,
        );
    }
    let page = |query: String| {
        let request = server.get(&format!("{PAGED}?{SINCE}&{query}"));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let first = page("pageSize=2".into()).await;
    let first_ids: Vec<i64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].as_i64().unwrap())
        .collect();
    assert_eq!(first_ids, ids[..2]);
    assert_eq!(first["pageNumber"], 1);
    assert_eq!(first["totalPages"], 3);
    assert_eq!(first["totalCount"], 5);
    assert_eq!(first["hasPreviousPage"], false);
    assert_eq!(first["hasNextPage"], true);
    let last = page("pageSize=2&pageNumber=3".into()).await;
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert_eq!(last["items"][0]["taskId"], ids[4]);
    assert_eq!(last["hasPreviousPage"], true);
    assert_eq!(last["hasNextPage"], false);
    let beyond = page("pageSize=2&pageNumber=9".into()).await;
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["totalCount"], 5);
    let default = page(String::new()).await;
    assert_eq!(
        default["items"].as_array().unwrap().len(),
        5,
        "default page size 10"
    );
    let reversed = page("sort=-createdOn&pagesize=1".into()).await;
    assert_eq!(reversed["items"][0]["taskId"], ids[4]);

    let empty = server
        .get(&format!("{PAGED}?startDate=2999-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap();
    let empty: Value = empty.json().await.unwrap();
    assert_eq!(
        empty,
        json!({"items": [], "pageNumber": 1, "totalPages": 0, "totalCount": 0, "hasPreviousPage": false, "hasNextPage": false})
    );
}

#[tokio::test]
async fn the_status_list_refuses_more_than_its_cap_rather_than_cutting_it() {
    let server = start_with(false, |mut s| {
        s.api.status_list_cap = 3;
        s
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            server
                .create_url_task(&format!("https://example.com/{n}.pdf"))
                .await,
        );
    }
    ids.reverse();
    assert_eq!(list(&server, &format!("{SINCE}&sort=-taskId")).await, ids);
    server.create_url_task("https://example.com/3.pdf").await;
    let response = server.get(&format!("{LIST}?{SINCE}")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem.to_string().contains("statuslistpaginated"),
        "{problem}"
    );
    // The paginated list has no cap.
    let (status, page) = server
        .get_json(&format!("{PAGED}?{SINCE}&pageSize=100"))
        .await;
    assert_eq!((status, page["totalCount"].as_i64()), (200, Some(4)));
}

#[tokio::test]
async fn every_page_of_a_filtered_sorted_list_is_in_order_without_repeats() {
    let server = start_with(false, |s| s).await;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(
            server
                .create_url_task(&format!("https://example.com/{n}.pdf"))
                .await,
        );
    }
    let mut seen = Vec::new();
    for number in 1..=4 {
        let query =
            format!("{PAGED}?{SINCE}&taskStatus=30&sort=-taskId&pageSize=2&pageNumber={number}");
        let (status, page) = server.get_json(&query).await;
        assert_eq!(status, 200);
        assert_eq!(page["totalCount"], 7);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["taskId"].as_i64().unwrap()),
        );
    }
    ids.reverse();
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn paging_on_skips_no_task_when_one_leaves_the_list() {
    let server = start_with(false, |s| s).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(
            server
                .create_url_task(&format!("https://example.com/{n}.pdf"))
                .await,
        );
    }
    let page = |number: u32| {
        let path = format!(
            "{PAGED}?{SINCE}&externalIntegrationStatus=never&pageSize=2&pageNumber={number}"
        );
        let request = server.get(&path);
        async move {
            let page: Value = request.send().await.unwrap().json().await.unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["taskId"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(1).await, ids[..2]);
    // The client integrates the first task: it leaves the `never` list.
    let integrated = server
        .call(
            reqwest::Method::PATCH,
            &format!(
                "/api/v1.0/external/sdtask/externalIntegrationStatus?taskId={}",
                ids[0]
            ),
        )
        .json(&json!({"externalIntegrationStatus": "sent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(integrated.status(), 200);
    // Page 2 goes on after the last task seen, not two rows into the shorter list (which
    // would skip the third task).
    assert_eq!(page(2).await, ids[2..4]);
    assert_eq!(page(3).await, ids[4..]);
}
