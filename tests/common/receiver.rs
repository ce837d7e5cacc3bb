//! A client's webhook endpoint on loopback, for the tests of what docket sends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::watch;

/// What the receiver does with a request.
#[derive(Clone)]
pub enum Reply {
    Status(u16, &'static str),
    /// Answers only after this long (longer than docket waits).
    Stall(Duration),
}

/// A client's endpoint on loopback: answers each POST with its next scripted reply (204 once
/// they run out), and keeps every request.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    script: Arc<Mutex<VecDeque<Reply>>>,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    count: watch::Sender<usize>,
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    receiver.got.lock().unwrap().push((headers, body));
    receiver.count.send_modify(|n| *n += 1);
    let reply = receiver.script.lock().unwrap().pop_front();
    match reply {
        Some(Reply::Status(status, text)) => (StatusCode::from_u16(status).unwrap(), text),
        Some(Reply::Stall(wait)) => {
            tokio::time::sleep(wait).await;
            (StatusCode::OK, "too late")
        }
        None => (StatusCode::NO_CONTENT, ""),
    }
}

impl Receiver {
    pub async fn start(script: Vec<Reply>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            script: Arc::new(Mutex::new(script.into())),
            got: Arc::default(),
            count: watch::channel(0).0,
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        receiver
    }

    /// The first `n` requests, once they have come.
    pub async fn requests(&self, n: usize) -> Vec<(HeaderMap, Bytes)> {
        let mut count = self.count.subscribe();
        tokio::time::timeout(Duration::from_secs(60), count.wait_for(|got| *got >= n))
            .await
            .expect("the requests come")
            .unwrap();
        self.got.lock().unwrap()[..n].to_vec()
    }
}

/// A URL where nothing listens.
pub async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    url
}
