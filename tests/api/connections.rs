//! The HTTP server's own limits: idle and slow connections are closed, connections are capped,
//! and a request body the handler did not read does not break the connection's next request.

use std::time::Duration;

use docket::server::ServerLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::server::{start_with, TestServer};

/// Serves the test server's router again under `limits`; returns its address.
async fn serve_with(server: &TestServer, limits: ServerLimits) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(docket::server::serve(
        listener,
        server.docket.router(),
        limits,
        std::future::pending(),
    ));
    address
}

/// Waits for the server to close the connection (a safety bound keeps a regression from
/// hanging the suite).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .is_ok()
}

fn short_limits() -> ServerLimits {
    ServerLimits {
        header_timeout: Duration::from_secs(1),
        keep_alive: Duration::from_secs(1),
        ..ServerLimits::default()
    }
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = start_with(false, |s| s).await;
    let address = serve_with(&server, short_limits()).await;
    let mut idle = TcpStream::connect(&address).await.unwrap();
    assert!(closed_by_server(&mut idle).await);
    // Also after a request: keep-alive ends.
    let mut kept = TcpStream::connect(&address).await.unwrap();
    kept.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_by_server(&mut kept).await);
}

#[tokio::test]
async fn a_client_sending_headers_byte_by_byte_is_cut_off() {
    let server = start_with(false, |s| s).await;
    let address = serve_with(&server, short_limits()).await;
    let mut slow = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "GET /openapi.json HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-Padding: y\r\n".repeat(50)
    );
    let mut cut_off = false;
    for byte in head.bytes() {
        if slow.write_all(&[byte]).await.is_err() {
            cut_off = true;
            break;
        }
        // The pace of a slowloris client: bytes keep coming, the head never completes.
        let mut buf = [0u8; 64];
        if let Ok(read) =
            tokio::time::timeout(Duration::from_millis(100), slow.read(&mut buf)).await
        {
            assert!(!matches!(read, Ok(n) if n > 0), "answered a partial head");
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the whole head was accepted at a slowloris pace");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let server = start_with(false, |s| s).await;
    let limits = ServerLimits {
        max_connections: 2,
        ..ServerLimits::default()
    };
    let address = serve_with(&server, limits).await;
    let mut held = vec![
        TcpStream::connect(&address).await.unwrap(),
        TcpStream::connect(&address).await.unwrap(),
    ];
    let request = reqwest::get(format!("http://{address}/openapi.json"));
    tokio::pin!(request);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut request)
            .await
            .is_err(),
        "a third connection was served while two were open"
    );
    drop(held.pop());
    let response = tokio::time::timeout(Duration::from_secs(30), request)
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_unread_body_does_not_break_the_next_request() {
    let server = start_with(false, |s| s).await;
    let address = serve_with(&server, ServerLimits::default()).await;
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let body = vec![b'x'; 64 * 1024];
    // No token: refused before the body is read.
    let head = format!(
        "POST /api/v1.0/external/sdtask/process HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..1024]).await.unwrap();
    // The rest of the body arrives after the server has decided to refuse it.
    let mut early = [0u8; 1];
    let _ = tokio::time::timeout(Duration::from_millis(300), stream.peek(&mut early)).await;
    stream.write_all(&body[1024..]).await.unwrap();
    stream
        .write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the connection ended")
        .unwrap_or_default();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:.200}");
    assert_eq!(
        answer.matches("HTTP/1.1 ").count(),
        2,
        "the next request was answered: {answer:.400}"
    );
    assert!(answer.contains("HTTP/1.1 200"), "{answer:.400}");
}
