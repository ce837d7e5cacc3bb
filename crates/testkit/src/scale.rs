//! `docket-bench scale`: the API at scale. Seeds an organisation with many tasks, then measures
//! over real HTTP against a docket serving that data: p50/p99 of `status` by taskId and by
//! externalId and of `statuslistpaginated` (first page, a deep page, each filter); the web
//! UI's Documents pages as a signed-in person gets them (each tab, a deep page, a search);
//! documents
//! processed per minute end to end by 1, 2, 4... `docket worker` processes on the same
//! database; and task creation throughput. On SQLite, or PostgreSQL with `--database-url`. It
//! measures; nothing here asserts.

use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{Path as AxumPath, State};
use serde_json::{json, Value};

use docket::app::{Docket, Settings};
use docket::domain::people::{self, Email, Invite, Role};
use docket::domain::{TaskStatus, Timestamp};
use docket::server::ServerLimits;
use docket::store::TaskFilter;

#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub tasks: i64,
    /// Requests timed per measure.
    pub requests: usize,
    /// Tasks created over HTTP for the creation throughput, and how many requests at once.
    pub creations: usize,
    pub concurrency: usize,
    /// Where the database (SQLite) and the stored files are built; a temporary directory when
    /// None.
    pub data_dir: Option<PathBuf>,
    /// An empty PostgreSQL database to measure instead of SQLite.
    pub database_url: Option<String>,
    pub pdfium_library: PathBuf,
    /// Worker process counts to measure end to end, one run each.
    pub worker_processes: Vec<usize>,
    /// Documents processed per end-to-end run.
    pub documents: usize,
    /// The `docket` program run as worker processes; None: the one beside this program.
    pub docket: Option<PathBuf>,
}

/// Where the API's task routes are.
const SDTASK: &str = "/api/v1.0/external/sdtask/";

/// One minute between seeded tasks: a million span about two years.
const SPACING_MS: i64 = 60_000;

pub async fn run(options: &ScaleOptions) -> anyhow::Result<()> {
    let temporary = tempfile::tempdir()?;
    let data_dir = options
        .data_dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_owned());
    let mut settings = Settings::new(&data_dir);
    settings.pdfium_library = options.pdfium_library.clone();
    settings.database_url = options.database_url.clone();
    let docket = Docket::open(settings).await?;
    let issued = docket
        .bootstrap()
        .await?
        .context("docket-bench scale needs an empty data directory and database")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // No workers: created tasks stay queued, so only the API is measured.
    let server = tokio::spawn(docket::server::serve(
        listener,
        docket.router(),
        ServerLimits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    // Pooled connections are dropped before the server's keep-alive (30 s) would close them
    // under a request: seeding leaves them idle for minutes.
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(10))
        .build()?;
    let token: Value = http
        .post(format!("{base}/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "WebAPI"),
            ("client_id", issued.organization.client_id.as_str()),
            ("client_secret", issued.client_secret.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .context("no access token")?
        .to_owned();
    let api = Api {
        http,
        base,
        token,
        cookie: None,
    };

    let template = api.create(0).await?;
    let started = Instant::now();
    eprintln!("seeding {} tasks…", options.tasks);
    docket
        .store()
        .seed_copies(template, options.tasks - 1, SPACING_MS)
        .await?;
    println!(
        "== {} tasks in one organisation (seeded in {:.1} s) ==",
        options.tasks,
        started.elapsed().as_secs_f64()
    );

    let n = options.tasks.max(2) - 1;
    let pick = |k: usize| 1 + (k as i64 * 7919) % n;
    println!("{:<52} {:>7}  {:>7}", "request", "p50 ms", "p99 ms");
    api.measure("status?taskId=", options.requests, |k| {
        format!("{SDTASK}status?taskId={}", template + pick(k))
    })
    .await?;
    api.measure("status?externalId=", options.requests, |k| {
        format!("{SDTASK}status?externalId=seed-{template}-{}", pick(k))
    })
    .await?;
    let since = "startDate=2000-01-01T00:00:00Z";
    let deep = (options.tasks / 20 / 2).max(1);
    let lists = [
        ("first page".to_owned(), format!("{since}&pageSize=20")),
        (
            format!("page {deep}"),
            format!("{since}&pageSize=20&pageNumber={deep}"),
        ),
        (
            "taskStatus=33".to_owned(),
            format!("{since}&taskStatus=33&pageSize=20"),
        ),
        (
            "integrationStatus=3, newest first".to_owned(),
            format!("{since}&integrationStatus=3&sort=-createdOn&pageSize=20"),
        ),
        (
            "workspaceId=1".to_owned(),
            format!("{since}&workspaceId=1&pageSize=20"),
        ),
        (
            "externalIntegrationStatus=SENT".to_owned(),
            format!("{since}&externalIntegrationStatus=SENT&pageSize=20"),
        ),
        (
            "one week".to_owned(),
            "startDate=2026-01-01T06:00:00Z&endDate=2026-01-08T06:00:00Z&pageSize=20".to_owned(),
        ),
    ];
    // A client paging on from a deep page: each next page starts after the last row served.
    let sequential = format!("{since}&pageSize=20");
    api.measure(
        &format!("statuslistpaginated page {deep}, then on"),
        options.requests + 1,
        |k| {
            format!(
                "{SDTASK}statuslistpaginated?{sequential}&pageNumber={}",
                deep + k as i64
            )
        },
    )
    .await?;
    for (name, query) in lists {
        api.measure(
            &format!("statuslistpaginated {name}"),
            options.requests,
            |_| format!("{SDTASK}statuslistpaginated?{query}"),
        )
        .await?;
    }

    // The web UI's lists, 50 to a page, as a signed-in Administrator.
    let mut person = api.clone();
    person.sign_in(&docket, issued.organization.id).await?;
    let deep_ui = (options.tasks * 8 / 10 / 50 / 2).max(1);
    let pages = [
        ("To Review".to_owned(), "tab=review".to_owned()),
        (
            format!("To Review page {deep_ui}"),
            format!("tab=review&page={deep_ui}"),
        ),
        ("Processed".to_owned(), "tab=processed".to_owned()),
        ("Archive".to_owned(), "tab=archive".to_owned()),
        ("My Assignments".to_owned(), "tab=mine".to_owned()),
        (
            "search by externalId".to_owned(),
            format!("tab=review&q=seed-{template}-{}", pick(1)),
        ),
        (
            "search by name".to_owned(),
            "tab=review&q=Invoice%20erp-0%2012".to_owned(),
        ),
        ("flagged".to_owned(), "tab=review&flagged=true".to_owned()),
    ];
    for (name, query) in pages {
        person
            .measure(&format!("/documents {name}"), options.requests, |_| {
                format!("/documents?{query}")
            })
            .await?;
    }

    // Before the creations, whose tasks (never fetched) would be queued ahead of the documents.
    for &processes in &options.worker_processes {
        end_to_end(
            &api,
            &docket,
            issued.organization.id,
            options,
            &data_dir,
            processes,
        )
        .await?;
    }
    let started = Instant::now();
    let mut next = 0usize;
    let mut running = tokio::task::JoinSet::new();
    while next < options.creations || !running.is_empty() {
        while next < options.creations && running.len() < options.concurrency.max(1) {
            let api = api.clone();
            next += 1;
            let k = next;
            running.spawn(async move { api.create(k).await });
        }
        if let Some(created) = running.join_next().await {
            created??;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "creation over HTTP: {} tasks in {:.2} s = {:.0} tasks/s ({} at once)",
        options.creations,
        elapsed.as_secs_f64(),
        options.creations as f64 / elapsed.as_secs_f64(),
        options.concurrency
    );
    let _ = stop.send(());
    server.await?;
    Ok(())
}

/// Queues `options.documents` born-digital invoices (fetched from a loopback server), then
/// starts `processes` `docket worker` processes on the same database and files, one
/// worker each, and times them until no job is left.
async fn end_to_end(
    api: &Api,
    docket: &Docket,
    org_id: i64,
    options: &ScaleOptions,
    data_dir: &Path,
    processes: usize,
) -> anyhow::Result<()> {
    let documents: Vec<Vec<u8>> = crate::corpus::invoices(options.documents.max(1), 7)
        .iter()
        .map(crate::corpus::invoice_pdf)
        .collect();
    let documents = Arc::new(documents);
    let files = axum::Router::new().route(
        "/{n}",
        axum::routing::get(
            |State(documents): State<Arc<Vec<Vec<u8>>>>, AxumPath(n): AxumPath<usize>| async move {
                documents.get(n).cloned().unwrap_or_default()
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let files_base = format!("http://{}", listener.local_addr()?);
    let file_server =
        tokio::spawn(axum::serve(listener, files.with_state(documents.clone())).into_future());
    let queued_from = Timestamp::now();
    for n in 0..documents.len() {
        api.create_from(&format!("{files_base}/{n}"), &format!("run{processes}-{n}"))
            .await?;
    }
    let program = match &options.docket {
        Some(program) => program.clone(),
        None => std::env::current_exe()?.with_file_name("docket"),
    };
    let started = Instant::now();
    let mut workers = Vec::with_capacity(processes);
    for _ in 0..processes {
        let mut command = tokio::process::Command::new(&program);
        command
            .arg("worker")
            .args(["--workers", "1", "--allow-private-urls"])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--pdfium-lib")
            .arg(&options.pdfium_library)
            .env_remove("DOCKET_DATABASE_URL")
            .env_remove("DOCKET_STORAGE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(url) = &options.database_url {
            command.args(["--database-url", url]);
        }
        workers.push(command.spawn()?);
    }
    // Done when none of this run's tasks is still in the pipeline.
    let in_pipeline = TaskFilter {
        start: Some(queued_from),
        task_statuses: vec![
            TaskStatus::QueuedForPreProcessing,
            TaskStatus::PreProcessingInProgress,
            TaskStatus::PreProcessingSuccessful,
            TaskStatus::QueuedForRecognition,
            TaskStatus::RecognitionInProgress,
            TaskStatus::RecognitionSuccessful,
        ],
        ..TaskFilter::default()
    };
    while docket.store().count_tasks(org_id, &in_pipeline).await? > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    for worker in &mut workers {
        if let Some(pid) = worker.id().and_then(|pid| i32::try_from(pid).ok()) {
            // SAFETY: kill(2) on a child this function started and still owns.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        worker.wait().await?;
    }
    file_server.abort();
    println!(
        "end to end, {processes} worker process(es): {} documents in {elapsed:.2} s = {:.0} documents/min",
        documents.len(),
        documents.len() as f64 * 60.0 / elapsed
    );
    Ok(())
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    /// A signed-in person's session, sent with every request once set.
    cookie: Option<String>,
}

impl Api {
    /// Creates a task from a URL (never fetched: no workers run) and returns its id.
    async fn create(&self, k: usize) -> anyhow::Result<i64> {
        let url = format!("https://example.com/invoices/{k}.pdf");
        self.create_from(&url, &format!("erp-{k}")).await
    }

    async fn create_from(&self, url: &str, external_id: &str) -> anyhow::Result<i64> {
        let body = json!({
            "displayName": format!("Invoice {external_id}"),
            "externalId": external_id,
            "context": {"url": url},
            "metadata": {"costCenter": "42", "supplier": "ACME"},
        });
        let created: Value = self
            .http
            .post(format!("{}/api/v1.0/external/sdtask/process", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        created["taskId"].as_i64().context("no taskId")
    }

    /// Signs in as a new Administrator and keeps the session for the requests that follow.
    async fn sign_in(&mut self, docket: &Docket, org_id: i64) -> anyhow::Result<()> {
        let password = "bench password, long enough";
        let invite = Invite {
            email: Email::parse("bench@example.com")?,
            role: Role::Administrator,
        };
        let hash = people::hash_password(password).map_err(|e| anyhow::anyhow!(e.0))?;
        docket
            .store()
            .create_user(org_id, &invite, Some("Bench"), &hash)
            .await?;
        // The session cookie comes with the redirect: not followed.
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?
            .post(format!("{}/signin", self.base))
            .header("sec-fetch-site", "same-origin")
            .form(&[("email", invite.email.as_str()), ("password", password)])
            .send()
            .await?;
        let cookie = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .context("signing in set no session cookie")?;
        self.cookie = Some(cookie.to_owned());
        Ok(())
    }

    /// Times `requests` GETs one after another and prints their p50 and p99.
    async fn measure(
        &self,
        name: &str,
        requests: usize,
        path: impl Fn(usize) -> String,
    ) -> anyhow::Result<()> {
        let mut times = Vec::with_capacity(requests);
        for k in 0..requests.max(1) {
            let url = format!("{}{}", self.base, path(k));
            let started = Instant::now();
            let request = self.http.get(&url).bearer_auth(&self.token);
            let request = match &self.cookie {
                Some(cookie) => request.header(reqwest::header::COOKIE, cookie),
                None => request,
            };
            request
                .send()
                .await?
                .error_for_status()
                .with_context(|| url.clone())?
                .bytes()
                .await?;
            times.push(started.elapsed());
        }
        times.sort();
        let at = |p: f64| {
            times
                .get(((times.len() - 1) as f64 * p).round() as usize)
                .copied()
                .unwrap_or(Duration::ZERO)
                .as_secs_f64()
                * 1000.0
        };
        println!("{name:<52} {:>7.2}  {:>7.2}", at(0.5), at(0.99));
        Ok(())
    }
}
