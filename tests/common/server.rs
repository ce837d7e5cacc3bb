//! Test harness: a real docket (SQLite file in a temp dir, or a fresh PostgreSQL schema with
//! `DOCKET_TEST_BACKEND=postgres`; real workers) serving its router on a loopback port, a
//! loopback file server for document URLs, and an HTTP client with helpers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use docket::app::{Docket, Settings};
use docket::server::ServerLimits;
use docket::store::IssuedCredentials;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use tokio::sync::watch;

pub struct TestServer {
    pub base: String,
    pub workers: Option<docket::pipeline::Workers>,
    pub http: reqwest::Client,
    pub docket: Docket,
    pub credentials: IssuedCredentials,
    pub token: String,
    _dir: tempfile::TempDir,
}

/// Starts docket with workers running and a token for its first organisation.
pub async fn start() -> TestServer {
    start_with(true, |s| s).await
}

pub async fn start_with(workers: bool, configure: impl FnOnce(Settings) -> Settings) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = Settings::new(dir.path()).allow_private_urls(true);
    settings.pipeline.poll_interval = Duration::from_millis(100);
    settings.pipeline.workers = 2;
    settings.api.public_url = base.clone();
    // Documents are read by the real binary's sandboxed reader, as in `docket serve`.
    settings.pipeline.sandbox.program = env!("CARGO_BIN_EXE_docket").into();
    if std::env::var("DOCKET_TEST_BACKEND").as_deref() == Ok("postgres") {
        let url = fresh_postgres()
            .await
            .expect("DOCKET_TEST_BACKEND=postgres needs DOCKET_TEST_DATABASE_URL");
        settings.database_url = Some(url);
    }
    let docket = Docket::open(configure(settings)).await.unwrap();
    let credentials = docket.bootstrap().await.unwrap().unwrap();
    let workers = workers.then(|| docket.start_workers());
    tokio::spawn(docket::server::serve(
        listener,
        docket.router(),
        ServerLimits::default(),
        std::future::pending(),
    ));
    // Pooled connections are dropped before the server's keep-alive ends them, as a client
    // should: a test busy generating a document must not reuse a connection closed meanwhile.
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = request_token(
        &http,
        &base,
        &credentials.organization.client_id,
        &credentials.client_secret,
    )
    .await;
    TestServer {
        base,
        workers,
        http,
        docket,
        credentials,
        token,
        _dir: dir,
    }
}

/// A URL naming a new, empty schema of the PostgreSQL cluster `scripts/test.sh` starts (named
/// in `DOCKET_TEST_DATABASE_URL`), or None when none runs.
pub async fn fresh_postgres() -> Option<String> {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let url = std::env::var("DOCKET_TEST_DATABASE_URL").ok()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = format!(
        "t{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{separator}options[search_path]={schema}"))
}

pub async fn request_token(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
) -> String {
    let response = http
        .post(format!("{base}/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "WebAPI"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

impl TestServer {
    pub async fn stop_workers(&mut self) {
        if let Some(workers) = self.workers.take() {
            workers.stop().await;
        }
    }

    pub fn start_workers(&mut self) {
        self.workers
            .get_or_insert_with(|| self.docket.start_workers());
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with this server's token.
    pub fn call(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.call(Method::GET, path)
    }

    /// A second organisation with its own token.
    pub async fn other_tenant_token(&self) -> String {
        let issued = self
            .docket
            .store()
            .create_organization("Other")
            .await
            .unwrap();
        request_token(
            &self.http,
            &self.base,
            &issued.organization.client_id,
            &issued.client_secret,
        )
        .await
    }

    /// Creates a task for a document URL; returns the response body.
    pub async fn create_task(&self, body: Value) -> Value {
        let response = self
            .call(Method::POST, "/api/v1.0/external/sdtask/process")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn create_url_task(&self, url: &str) -> i64 {
        self.create_task(json!({"context": {"url": url}})).await["taskId"]
            .as_i64()
            .unwrap()
    }

    /// GETs a path and returns its status code and JSON body (Null when there is none).
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The ids in `GET /sdtask/statuslist?{query}`, in order.
    pub async fn listed_ids(&self, query: &str) -> Vec<i64> {
        let (status, list) = self
            .get_json(&format!("/api/v1.0/external/sdtask/statuslist?{query}"))
            .await;
        assert_eq!(status, 200, "{query}: {list}");
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| t["taskId"].as_i64().unwrap())
            .collect()
    }

    /// Posts a multipart create request; returns the new task.
    pub async fn create_multipart(&self, form: reqwest::multipart::Form) -> Value {
        let response = self
            .call(Method::POST, "/api/v1.0/external/sdtask/process")
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn status(&self, task_id: i64) -> Value {
        self.get_ok(&format!(
            "/api/v1.0/external/sdtask/status?taskId={task_id}"
        ))
        .await
    }

    /// GETs a path that must answer 200; returns its JSON.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get_json(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Polls the task until its status is one of `done`, failing after a generous deadline.
    pub async fn wait_for(&self, task_id: i64, done: &[i64]) -> Value {
        wait_for_status(|| self.status(task_id), done).await
    }

    pub async fn export(&self, task_id: i64) -> Value {
        self.get_ok(&format!(
            "/api/v1.0/external/sdtask/GetExportData/{task_id}"
        ))
        .await
    }

    pub async fn history(&self, task_id: i64) -> Vec<Value> {
        let path = format!("/api/v1.0/external/sdtask/statushistory?taskId={task_id}");
        self.get(&path).send().await.unwrap().json().await.unwrap()
    }
}

/// Sends a request and reads its JSON body, whatever the status.
/// Creates a task for a document URL with any organisation's token; returns its id.
pub async fn create_url_task_as(http: &reqwest::Client, base: &str, token: &str, url: &str) -> i64 {
    http.post(format!("{base}/api/v1.0/external/sdtask/process"))
        .bearer_auth(token)
        .json(&json!({"context": {"url": url}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["taskId"]
        .as_i64()
        .unwrap()
}

pub async fn json_of(request: RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

pub async fn wait_for_status<F, Fut>(mut status: F, done: &[i64]) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let current = status().await;
        if done.contains(&current["taskStatus"].as_i64().unwrap()) {
            return current;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task never reached {done:?}: {current}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn status_code(response: Response) -> u16 {
    response.status().as_u16()
}

/// Serves documents on loopback: `/files/{name}` at once, `/gated/{name}` only once the gate is
/// opened (to hold tasks in pre-processing), counting requests per name.
#[derive(Clone)]
pub struct FileServer {
    pub base: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    gate: watch::Sender<bool>,
    pub hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl FileServer {
    pub async fn start() -> FileServer {
        let (gate, _) = watch::channel(false);
        let server = FileServer {
            base: String::new(),
            files: Arc::default(),
            gate,
            hits: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/files/{name}", axum::routing::get(serve_file))
            .route("/gated/{name}", axum::routing::get(serve_gated))
            .with_state(server.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        FileServer { base, ..server }
    }

    pub fn add(&self, name: &str, bytes: Vec<u8>) -> String {
        self.files.lock().unwrap().insert(name.to_owned(), bytes);
        format!("{}/files/{name}", self.base)
    }

    pub fn add_gated(&self, name: &str, bytes: Vec<u8>) -> String {
        self.files.lock().unwrap().insert(name.to_owned(), bytes);
        format!("{}/gated/{name}", self.base)
    }

    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    pub fn hits(&self, name: &str) -> usize {
        self.hits.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

impl FileServer {
    fn respond(&self, name: &str) -> (StatusCode, Vec<u8>) {
        *self
            .hits
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_default() += 1;
        match self.files.lock().unwrap().get(name) {
            Some(bytes) => (StatusCode::OK, bytes.clone()),
            None => (StatusCode::NOT_FOUND, Vec::new()),
        }
    }
}

async fn serve_file(
    State(server): State<FileServer>,
    Path(name): Path<String>,
) -> impl IntoResponse {
    server.respond(&name)
}

async fn serve_gated(
    State(server): State<FileServer>,
    Path(name): Path<String>,
) -> impl IntoResponse {
    let mut gate = server.gate.subscribe();
    // Counted before waiting, so a test can see that a download has started.
    *server
        .hits
        .lock()
        .unwrap()
        .entry(format!("{name}:started"))
        .or_default() += 1;
    let _ = gate.wait_for(|open| *open).await;
    server.respond(&name)
}
