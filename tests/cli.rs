//! The `docket` binary itself: first-start credentials, admin subcommands, flags from the
//! environment, and a server killed with SIGKILL mid-work that resumes after a restart.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use common::fixtures::{text_pdf, TextRun};
use common::receiver::{Receiver, Reply};
use common::server::{
    create_url_task_as, fresh_postgres, json_of, request_token, wait_for_status, FileServer,
};

fn docket() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_docket"));
    command.env("RUST_LOG", "warn");
    command
}

/// Runs an admin subcommand and returns its stdout as `key: value` pairs.
fn admin(args: &[&str]) -> Vec<(String, String)> {
    let output = docket().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    &pairs
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {pairs:?}"))
        .1
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `docket serve` configured through the environment, as a deployment would.
async fn serve(data_dir: &Path, port: u16) -> Server {
    serve_with(data_dir, port, &[]).await
}

async fn serve_with(data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Server {
    let mut child = docket()
        .arg("serve")
        .env("DOCKET_DATA_DIR", data_dir)
        .env("DOCKET_BIND", format!("127.0.0.1:{port}"))
        .env("DOCKET_ALLOW_PRIVATE_URLS", "true")
        .env("DOCKET_LEASE_SECONDS", "1")
        .env("DOCKET_WORKERS", "2")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "docket serve did not start"
        );
        assert!(child.try_wait().unwrap().is_none(), "docket serve exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        stdout,
    }
}

/// The client_id and client_secret a first start printed.
fn printed_credentials(server: &mut Server) -> (String, String) {
    let lines = first_lines(&mut server.stdout, 2);
    let value = |line: &str, key: &str| line.strip_prefix(key).unwrap().to_owned();
    (
        value(&lines[0], "client_id: "),
        value(&lines[1], "client_secret: "),
    )
}

fn first_lines(stdout: &mut BufReader<ChildStdout>, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.trim_end().to_owned()
        })
        .collect()
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: String,
    token: &str,
) -> T {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The statuses a task went through, in order.
async fn status_history(http: &reqwest::Client, base: &str, token: &str, id: i64) -> Vec<i64> {
    let history: Vec<Value> = get_json(
        http,
        format!("{base}/api/v1.0/external/sdtask/statushistory?taskId={id}"),
        token,
    )
    .await;
    history
        .iter()
        .map(|e| e["taskStatus"].as_i64().unwrap())
        .collect()
}

async fn status(http: &reqwest::Client, base: &str, token: &str, id: i64) -> Value {
    get_json(
        http,
        format!("{base}/api/v1.0/external/sdtask/status?taskId={id}"),
        token,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_resumes_interrupted_work_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start().await;
    let http = reqwest::Client::new();
    let port = free_port();
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Survives a crash")]]);

    let mut first = serve(dir.path(), port).await;
    let lines = first_lines(&mut first.stdout, 2);
    let client_id = lines[0]
        .strip_prefix("client_id: ")
        .expect("client_id line");
    let secret = lines[1]
        .strip_prefix("client_secret: ")
        .expect("client_secret line");
    let token = request_token(&http, &first.base, client_id, secret).await;
    let create = |url: String| {
        let request = http
            .post(format!("{}/api/v1.0/external/sdtask/process", first.base))
            .bearer_auth(&token)
            .json(&json!({"context": {"url": url}}));
        async move {
            request.send().await.unwrap().json::<Value>().await.unwrap()["taskId"]
                .as_i64()
                .unwrap()
        }
    };
    let finished = create(files.add("done.pdf", pdf.clone())).await;
    wait_for_status(|| status(&http, &first.base, &token, finished), &[3]).await;
    let mut held = Vec::new();
    for n in 0..3 {
        held.push(create(files.add_gated(&format!("held{n}.pdf"), pdf.clone())).await);
    }
    // Both workers are now stuck mid-download; the third task waits in the queue.
    let started = || {
        (0..3)
            .map(|n| files.hits(&format!("held{n}.pdf:started")))
            .sum::<usize>()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while started() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "downloads never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let in_progress = status(&http, &first.base, &token, held[0]).await;
    assert_eq!(in_progress["taskStatus"], 31);

    first.child.kill().unwrap(); // SIGKILL: no cleanup at all
    first.child.wait().unwrap();
    drop(first);
    files.open_gate();

    let mut second = serve(dir.path(), port).await;
    for id in &held {
        let done = wait_for_status(|| status(&http, &second.base, &token, *id), &[3]).await;
        assert_eq!(done["totalPages"], 1);
    }
    let list: Vec<Value> = get_json(
        &http,
        format!(
            "{}/api/v1.0/external/sdtask/statuslist?startDate=2000-01-01T00:00:00Z",
            second.base
        ),
        &token,
    )
    .await;
    assert_eq!(list.len(), 4, "no task lost");
    assert!(
        list.iter().all(|t| t["taskStatus"] == 3),
        "none stuck: {list:?}"
    );
    let statuses = status_history(&http, &second.base, &token, held[0]).await;
    assert_eq!(
        statuses,
        [30, 31, 31, 34, 40, 41, 43, 3],
        "pre-processing was resumed"
    );
    let export: Value = get_json(
        &http,
        format!(
            "{}/api/v1.0/external/sdtask/GetExportData/{}",
            second.base, held[0]
        ),
        &token,
    )
    .await;
    assert_eq!(
        export["chunks"][0]["entities"][1]["keyValues"][0]["content"],
        "Survives a crash"
    );

    // A data dir that already has an organisation prints no new credentials.
    second.child.kill().unwrap();
    second.child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut second.stdout, &mut rest).unwrap();
    assert!(!rest.contains("client_secret"), "{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_subcommands_manage_organisations_and_workspaces() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let created = admin(&["org", "new", "--data-dir", data, "--name", "Acme"]);
    let client_id = value(&created, "client_id").to_owned();
    let old_secret = value(&created, "client_secret").to_owned();
    assert!(value(&created, "secret_expires_on").ends_with('Z'));
    let workspace = admin(&[
        "workspace",
        "new",
        "--data-dir",
        data,
        "--client-id",
        &client_id,
        "--name",
        "Faturas",
        "--template",
        "invoices (portugal)",
    ]);
    assert_eq!(value(&workspace, "workspace_id"), "2");
    let rotated = admin(&[
        "org",
        "rotate-secret",
        "--data-dir",
        data,
        "--client-id",
        &client_id,
    ]);
    let secret = value(&rotated, "client_secret").to_owned();
    assert_ne!(secret, old_secret);
    let second = admin(&["org", "new", "--data-dir", data, "--name", "Beta Lda"]);

    let listed = docket()
        .args(["org", "list", "--data-dir", data])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(
        listed,
        format!(
            "id\tclient_id\tname\n1\t{client_id}\tAcme\n2\t{}\tBeta Lda\n",
            value(&second, "client_id")
        )
    );
    assert!(!listed.contains(&secret) && !listed.contains(value(&second, "client_secret")));

    for args in [
        vec![
            "workspace",
            "new",
            "--data-dir",
            data,
            "--client-id",
            &client_id,
            "--name",
            "x",
            "--template",
            "nope",
        ],
        vec![
            "workspace",
            "new",
            "--data-dir",
            data,
            "--client-id",
            "unknown",
            "--name",
            "x",
        ],
        vec![
            "org",
            "rotate-secret",
            "--data-dir",
            data,
            "--client-id",
            "unknown",
        ],
        vec!["serve", "--data-dir", data, "--bind", "not-an-address"],
    ] {
        let output = docket().args(&args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?} says why");
    }

    // A data directory docket cannot write in stops it at start, saying so. One under a regular
    // file cannot even be created, whoever runs the test (modes do not stop root).
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let blocked = dir.path().join("file/data");
    let blocked = blocked.to_str().unwrap();
    for args in [
        vec!["serve", "--data-dir", blocked, "--bind", "127.0.0.1:0"],
        vec!["org", "list", "--data-dir", blocked],
    ] {
        let output = docket().args(&args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("data directory {blocked} is not writable")),
            "{args:?}: {stderr}"
        );
    }

    let server = serve(dir.path(), free_port()).await;
    let http = reqwest::Client::new();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &client_id),
        ("client_secret", &old_secret),
    ];
    let refused = http
        .post(format!("{}/connect/token", server.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let token = request_token(&http, &server.base, &client_id, &secret).await;
    let workspaces: Value = get_json(
        &http,
        format!(
            "{}/api/v1.0/external/sdworkspace/CurrentWorkspaces",
            server.base
        ),
        &token,
    )
    .await;
    assert_eq!(
        workspaces[1]["workspaceTemplateName"],
        "Invoices (Portugal)"
    );
}

/// Starts `docket worker` on a data directory: one worker, leases of a second.
/// Runs a command that must fail; returns what it printed on stderr.
fn refused(args: &[&str]) -> String {
    let output = docket().args(args).output().unwrap();
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

#[tokio::test]
async fn user_subcommands_add_list_and_reset_people_who_then_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let first = [
        "user",
        "new",
        "--data-dir",
        data,
        "--email",
        "admin@acme.pt",
    ];
    assert!(refused(&first).contains("no organisation yet"));
    admin(&["org", "new", "--data-dir", data, "--name", "Acme"]);
    let link = admin(&[&first[..], &["--public-url", "https://docket.example/"]].concat());
    let url = value(&link, "password_url");
    assert!(url.starts_with("https://docket.example/password/"), "{url}");
    assert!(value(&link, "password_url_expires_on").ends_with('Z'));

    let mut with_password = docket()
        .args(["user", "new", "--data-dir", data, "--email", "Rev@Acme.pt"])
        .args(["--role", "reviewer", "--name", "Rev", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = with_password.stdin.take().unwrap();
    stdin.write_all(b"long enough secret\n").unwrap();
    drop(stdin);
    assert!(with_password.wait().unwrap().success());
    let again = ["user", "new", "--data-dir", data, "--email", "rev@acme.pt"];
    assert!(refused(&again).contains("already a member"));

    let list = docket()
        .args(["user", "list", "--data-dir", data])
        .output()
        .unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    assert_eq!(
        list,
        "id\temail\trole\tstatus\tname\n\
         1\tadmin@acme.pt\tAdministrator\tInvited\t\n\
         2\trev@acme.pt\tReviewer\tActive\tRev\n"
    );
    let reset = ["user", "reset-password", "--data-dir", data];
    let reset_link = admin(&[&reset[..], &["--email", "REV@acme.pt"]].concat());
    assert!(value(&reset_link, "password_url").contains("/password/"));
    assert!(refused(&[&reset[..], &["--email", "nobody@acme.pt"]].concat()).contains("no user"));

    let port = free_port();
    let _server = serve(dir.path(), port).await;
    let base = format!("http://127.0.0.1:{port}");
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/signin"))
        .header("Origin", &base)
        .form(&[("email", "rev@acme.pt"), ("password", "long enough secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        303,
        "the password set on the CLI signs in"
    );

    admin(&["org", "new", "--data-dir", data, "--name", "Other"]);
    let list = ["user", "list", "--data-dir", data];
    assert!(refused(&list).contains("--client-id"));
}

fn worker(data_dir: &Path) -> Child {
    worker_with(data_dir, &[])
}

fn worker_with(data_dir: &Path, env: &[(&str, &str)]) -> Child {
    docket()
        .arg("worker")
        .env("DOCKET_DATA_DIR", data_dir)
        .env("DOCKET_ALLOW_PRIVATE_URLS", "true")
        .env("DOCKET_WORKERS", "1")
        .env("DOCKET_LEASE_SECONDS", "1")
        .envs(env.iter().copied())
        .spawn()
        .unwrap()
}

/// Sends SIGTERM and waits for the process to exit, failing if it does not within `bound`.
fn terminate(server: &mut Server, bound: Duration) {
    terminate_child(&mut server.child, bound);
}

fn terminate_child(child: &mut Child, bound: Duration) -> std::process::ExitStatus {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a pid this test started and still owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "docket did not stop within {bound:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_process_without_workers_and_a_worker_process_share_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start().await;
    let http = reqwest::Client::new();
    let mut server = serve_with(dir.path(), free_port(), &[("DOCKET_NO_WORKERS", "true")]).await;
    let (client_id, secret) = printed_credentials(&mut server);
    let token = request_token(&http, &server.base, &client_id, &secret).await;
    let url = files.add(
        "a.pdf",
        text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Read by a worker")]]),
    );
    let id = create_url_task_as(&http, &server.base, &token, &url).await;
    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("task_status=\"QueuedForPreProcessing\",leased=\"false\"} 1"),
        "the API process took no job: {metrics}"
    );
    let mut worker = worker(dir.path());
    let done = wait_for_status(|| status(&http, &server.base, &token, id), &[3, 32, 33]).await;
    assert_eq!(done["taskStatus"], 3, "{done}");
    let stopped = terminate_child(&mut worker, Duration::from_secs(10));
    assert!(
        stopped.success(),
        "the worker stops cleanly on SIGTERM: {stopped}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_during_a_job_stop_promptly_and_fail_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start().await;
    let http = reqwest::Client::new();
    let port = free_port();
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Outlives deploys")]]);

    let mut server = serve(dir.path(), port).await;
    let (client_id, secret) = printed_credentials(&mut server);
    let token = request_token(&http, &server.base, &client_id, &secret).await;
    let url = files.add_gated("slow.pdf", pdf);
    let id = create_url_task_as(&http, &server.base, &token, &url).await;
    // More deploys than a job's attempts, each while a worker is in the middle of the job.
    for deploy in 1..=4 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while files.hits("slow.pdf:started") < deploy {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the job never started"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        terminate(&mut server, Duration::from_secs(10));
        server = serve(dir.path(), port).await;
    }
    files.open_gate();
    let done = wait_for_status(|| status(&http, &server.base, &token, id), &[3, 32, 35]).await;
    assert_eq!(done["taskStatus"], 3, "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let output = docket()
        .arg("serve")
        .env("DOCKET_DATA_DIR", dir.path().join("data"))
        .env("DOCKET_BIND", taken.local_addr().unwrap().to_string())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen"), "{stderr}");
    assert!(output.stdout.is_empty(), "credentials printed and lost");
    assert!(
        !dir.path().join("data").exists(),
        "data created before the bind"
    );
}

/// The README's walk-through, run verbatim with bash against a real `docket serve` (only the
/// address and the credentials filled in, as its comments tell the reader to).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walk_through_works_verbatim() {
    let readme = include_str!("../README.md");
    let script = readme
        .split("```sh\n")
        .nth(2)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the walk-through's shell block");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = serve(&dir.path().join("data"), port).await;
    let lines = first_lines(&mut server.stdout, 2);
    let client_id = lines[0].strip_prefix("client_id: ").unwrap();
    let secret = lines[1].strip_prefix("client_secret: ").unwrap();
    let script = script
        .replace(
            "BASE=http://127.0.0.1:8080",
            &format!("BASE={}", server.base),
        )
        .replace("CLIENT_ID=...", &format!("CLIENT_ID={client_id}"))
        .replace("CLIENT_SECRET=...", &format!("CLIENT_SECRET={secret}"));
    // Run from a copy of the project directory's layout: the sample, and room for original.pdf.
    let project = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::os::unix::fs::symlink(project.join("samples"), dir.path().join("samples")).unwrap();
    let output = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("the walk-through finished")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A problem body ({"detail": "...", "status": 4xx, ...}) means a step was refused.
    assert!(
        !stdout.contains("\"detail\":\""),
        "a step failed: {stdout:.2000}"
    );
    assert!(
        stdout.contains("\"chunks\""),
        "the export has content: {stdout:.2000}"
    );
    let original = std::fs::read(dir.path().join("original.pdf")).unwrap();
    assert!(original.starts_with(b"%PDF-"));
}

/// Modes (permission bits) of `root` and everything under it.
fn modes(root: &Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = vec![(
        root.to_owned(),
        std::fs::metadata(root).unwrap().permissions().mode() & 0o777,
    )];
    if root.is_dir() {
        for entry in std::fs::read_dir(root).unwrap() {
            found.extend(modes(&entry.unwrap().path()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private_to_docket() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = admin(&[
        "org",
        "new",
        "--data-dir",
        data.to_str().unwrap(),
        "--name",
        "A",
    ]);
    let server = serve(&data, free_port()).await;
    let http = reqwest::Client::new();
    let token = request_token(
        &http,
        &server.base,
        value(&created, "client_id"),
        value(&created, "client_secret"),
    )
    .await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"not a document".to_vec()).file_name("a.txt"),
    );
    let response = http
        .post(format!("{}/api/v1.0/external/sdtask/process", server.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let found = modes(&data);
    for name in [
        "docket.db",
        "docket.db-wal",
        "docket.db-shm",
        "link.key",
        "files",
    ] {
        assert!(
            found.iter().any(|(p, _)| p.ends_with(name)),
            "{name}: {found:?}"
        );
    }
    assert!(found.len() > 8, "a stored file: {found:?}");
    for (path, mode) in found {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, expected, "{}: {mode:o}", path.display());
    }
}

/// Live (not zombie) processes whose parent is `parent`.
fn live_children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after its last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        if fields.get(1) == Some(&parent.to_string().as_str()) && fields.first() != Some(&"Z") {
            found.push(pid);
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Waits (bounded) for `pid` to be gone.
fn gone(pid: u32) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Starts recognising a document that keeps its reader busy; returns the reader's pid.
async fn busy_reader(server: &Server, http: &reqwest::Client, token: &str) -> u32 {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(docket_testkit::corpus::operator_flood_pdf())
            .file_name("f.pdf"),
    );
    let created = json_of(
        http.post(format!("{}/api/v1.0/external/sdtask/process", server.base))
            .bearer_auth(token)
            .multipart(form),
    )
    .await;
    let id = created["taskId"].as_i64().unwrap();
    wait_for_status(|| status(http, &server.base, token, id), &[41]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(&reader) = live_children(server.child.id()).first() {
            return reader;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reader process");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_readers_end_with_their_server_however_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let port = free_port();
    let mut server = serve(dir.path(), port).await;
    let (client_id, secret) = printed_credentials(&mut server);
    let token = request_token(&http, &server.base, &client_id, &secret).await;

    // A graceful stop mid-recognition does not wait for the page.
    let reader = busy_reader(&server, &http, &token).await;
    terminate(&mut server, Duration::from_secs(10));
    assert!(gone(reader), "the reader outlived a stopped server");

    // A crash takes the reader with it.
    let mut server = serve(dir.path(), port).await;
    let reader = busy_reader(&server, &http, &token).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(gone(reader), "the reader outlived a crashed server");
}

/// openapi-python-client, installed by scripts/setup.sh.
const CLIENT_GENERATOR: &str = "/usr/local/lib/docket/openapi-python-client";

/// A client generated from `/openapi.json` by openapi-python-client does the whole walk
/// unpatched (tests/python/generated_client_walk.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_does_the_whole_walk() {
    let generator = Path::new(
        &std::env::var("DOCKET_CLIENT_GENERATOR_VENV").unwrap_or(CLIENT_GENERATOR.into()),
    )
    .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start().await;
    let http = reqwest::Client::new();
    let mut server = serve(&dir.path().join("data"), free_port()).await;
    let (client_id, secret) = printed_credentials(&mut server);
    let openapi = http
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(dir.path().join("openapi.json"), &openapi).unwrap();
    let generated = tokio::process::Command::new(generator.join("bin/openapi-python-client"))
        .args([
            "generate",
            "--path",
            "openapi.json",
            "--output-path",
            "client",
        ])
        .current_dir(dir.path())
        .output()
        .await
        .expect("openapi-python-client (run scripts/setup.sh)");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let document = dir.path().join("invoice.pdf");
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Generated client")]]);
    std::fs::write(&document, &pdf).unwrap();
    let url = files.add("by-url.pdf", pdf);
    let walk = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/generated_client_walk.py");
    let walked = tokio::process::Command::new(generator.join("bin/python"))
        .arg(walk)
        .args([&server.base, &client_id, &secret, &url])
        .arg(&document)
        .env("PYTHONPATH", dir.path().join("client"))
        .output();
    let walked = tokio::time::timeout(Duration::from_secs(180), walked)
        .await
        .expect("the walk finished")
        .unwrap();
    let stdout = String::from_utf8_lossy(&walked.stdout);
    assert!(
        walked.status.success() && stdout.contains("walked"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&walked.stderr)
    );
}

/// `docket eval` on generated invoices with their truth files: every field is scored, and the
/// born-digital corpus is read right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_scores_documents_against_their_truth_files() {
    let dir = tempfile::tempdir().unwrap();
    let invoices = docket_testkit::corpus::invoices(2, 7);
    for (n, invoice) in invoices.iter().enumerate() {
        let name = format!("invoice-{n}.pdf");
        std::fs::write(
            dir.path().join(&name),
            docket_testkit::corpus::invoice_pdf(invoice),
        )
        .unwrap();
        let fields: serde_json::Map<String, Value> = invoice
            .expected_fields()
            .into_iter()
            .map(|(field, value)| (field.to_owned(), Value::String(value)))
            .collect();
        let truth = json!({"document": name, "fields": fields});
        let path = dir.path().join(format!("invoice-{n}.truth.json"));
        std::fs::write(path, truth.to_string()).unwrap();
    }
    let output = docket()
        .args(["eval", "--readers", "1"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("== fields (2 documents) =="), "{stdout}");
    let all = stdout.lines().find(|l| l.starts_with("all ")).unwrap();
    let expected: usize = invoices.iter().map(|i| i.expected_fields().len()).sum();
    assert!(all.ends_with(&format!("/ {expected})")), "{all}");
    assert!(all.contains("1.000   1.000"), "{stdout}");
    assert!(stdout.contains("== misses (0) =="), "{stdout}");
}

/// An accuracy floor on a few real documents of the development set, as a regression guard.
/// They live beside the project (`../shared/testdata/realdocs`), not in it: where they are
/// absent the test says so and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_documents_stay_above_their_accuracy_floor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/realdocs");
    if !root.is_dir() {
        eprintln!("skipped: no development documents at {}", root.display());
        return;
    }
    // (set, document, fields right at least, of expected)
    let floors: [(&str, &str, usize, usize); 9] = [
        ("einvoices", "EN16931_Rabatte.pdf", 7, 7),
        ("einvoices", "zugferd_2p0_EN16931_Physiotherapeut.pdf", 8, 8),
        ("einvoices", "zugferd_2p1_BASIC_Taxifahrt.pdf", 8, 8),
        ("receipts", "sroie-401.jpg", 2, 4),
        ("receipts", "sroie-403.jpg", 2, 4),
        // A date line between dashed rulings (read as a till roll's block of lines).
        ("receipts", "sroie-478.jpg", 2, 4),
        ("receipts", "sroie-483.jpg", 3, 4),
        // Rounded after the total was printed: the total is what was paid.
        ("receipts", "sroie-418.jpg", 2, 4),
        // "TOTAL s2.00": a look-alike letter for a digit.
        ("receipts", "sroie-516.jpg", 3, 4),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (set, document, _, _) in floors {
        let from = root.join(set);
        let stem = document.rsplit_once('.').unwrap().0;
        for name in [document.to_owned(), format!("{stem}.truth.json")] {
            std::fs::copy(from.join(&name), dir.path().join(&name)).unwrap();
        }
    }
    let output = docket()
        .args(["eval", "--ignore-embedded", "--readers", "2"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("\nline items: "), "{stdout}");
    let misses = |document: &str| stdout.lines().filter(|l| l.contains(document)).count();
    for (_, document, right, expected) in floors {
        assert!(
            expected.saturating_sub(misses(document)) >= right,
            "{document}: fewer than {right} of {expected} fields right\n{stdout}"
        );
    }
}

#[test]
fn eval_refuses_a_resolution_it_cannot_render() {
    let dir = tempfile::tempdir().unwrap();
    let output = docket()
        .args(["eval", "--as-images", "0"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("between 50 and 600 dpi"), "{stderr}");
}

/// Scoring against the embedded XML while reading it would score the XML against itself.
#[test]
fn embedded_truth_needs_the_page_reading() {
    let output = docket()
        .args(["eval", ".", "--embedded-truth"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--ignore-embedded"), "{stderr}");
}

#[tokio::test]
async fn bench_scale_measures_lookups_lists_creation_and_workers() {
    bench_scale(None);
    match fresh_postgres().await {
        Some(url) => bench_scale(Some(&url)),
        None => eprintln!("skipped on PostgreSQL: none runs (scripts/test.sh starts one)"),
    }
}

fn bench_scale(database_url: Option<&str>) {
    // `docket-bench` lives in crates/testkit; `cargo test --workspace` builds it beside docket.
    let program = Path::new(env!("CARGO_BIN_EXE_docket")).with_file_name("docket-bench");
    assert!(
        program.exists(),
        "{} missing: build the workspace",
        program.display()
    );
    let mut command = Command::new(program);
    command.args([
        "scale",
        "--tasks",
        "50",
        "--requests",
        "3",
        "--creations",
        "5",
        "--worker-processes",
        "1,2",
        "--documents",
        "3",
    ]);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{database_url:?}: {stdout}");
    for line in [
        "50 tasks in one organisation",
        "status?externalId=",
        "statuslistpaginated page 1",
        "statuslistpaginated externalIntegrationStatus=SENT",
        "creation over HTTP: 5 tasks",
        "end to end, 1 worker process(es): 3 documents",
        "end to end, 2 worker process(es): 3 documents",
    ] {
        assert!(stdout.contains(line), "{database_url:?}: {line}: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_backup_starts_as_a_data_directory_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start().await;
    let http = reqwest::Client::new();
    let mut server = serve(dir.path(), free_port()).await;
    let (client_id, secret) = printed_credentials(&mut server);
    let token = request_token(&http, &server.base, &client_id, &secret).await;
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Kept in the backup")]]);
    let url = files.add("kept.pdf", pdf.clone());
    let id = create_url_task_as(&http, &server.base, &token, &url).await;
    wait_for_status(|| status(&http, &server.base, &token, id), &[3]).await;

    let copy = dir.path().join("backup");
    let backup = docket()
        .args(["backup", "--to"])
        .arg(&copy)
        .env("DOCKET_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(backup.status.success(), "{backup:?}");
    let refused = docket()
        .args(["backup", "--to"])
        .arg(&copy)
        .env("DOCKET_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "an existing directory is not overwritten"
    );
    terminate(&mut server, Duration::from_secs(10));

    let restored = serve(&copy, free_port()).await;
    let token = request_token(&http, &restored.base, &client_id, &secret).await;
    assert_eq!(
        status(&http, &restored.base, &token, id).await["taskStatus"],
        3
    );
    let original = http
        .get(format!(
            "{}/api/v1.0/external/sdtask/originalfile/{id}",
            restored.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(original.status(), 200);
    assert_eq!(original.bytes().await.unwrap().to_vec(), pdf);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_task_leaves_it_to_another_which_finishes_it_once() {
    worker_killed_mid_task(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_worker_killed_mid_task_leaves_it_to_another_which_finishes_it_once() {
    let Some(url) = fresh_postgres().await else {
        eprintln!("skipped: no PostgreSQL (scripts/test.sh starts one)");
        return;
    };
    worker_killed_mid_task(&[("DOCKET_DATABASE_URL", &url)]).await;
}

/// An API process and two worker processes in turn, on the store `env` names: the first
/// worker is killed with SIGKILL while it holds the task.
async fn worker_killed_mid_task(env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start().await;
    let http = reqwest::Client::new();
    let api_env = [&[("DOCKET_NO_WORKERS", "true")], env].concat();
    let mut server = serve_with(dir.path(), free_port(), &api_env).await;
    let (client_id, secret) = printed_credentials(&mut server);
    let token = request_token(&http, &server.base, &client_id, &secret).await;
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Outlives its worker")]]);
    let url = files.add_gated("held.pdf", pdf);
    let id = create_url_task_as(&http, &server.base, &token, &url).await;
    let mut first = worker_with(dir.path(), env);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while files.hits("held.pdf:started") < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL: the job's lease is left to run out
    first.wait().unwrap();
    files.open_gate();
    let mut second = worker_with(dir.path(), env);
    let done = wait_for_status(|| status(&http, &server.base, &token, id), &[3, 32, 33]).await;
    assert_eq!(done["taskStatus"], 3, "{done}");
    let statuses = status_history(&http, &server.base, &token, id).await;
    assert_eq!(
        statuses,
        [30, 31, 31, 34, 40, 41, 43, 3],
        "pre-processing resumed by the second worker, recognised once"
    );
    terminate_child(&mut second, Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_api_processes_and_two_workers_on_one_database_and_bucket_process_every_task_once() {
    let (Some(url), Ok(bucket)) = (
        fresh_postgres().await,
        std::env::var("DOCKET_TEST_S3_BUCKET"),
    ) else {
        eprintln!("skipped: no PostgreSQL or S3 server (scripts/test.sh starts them)");
        return;
    };
    let prefix = url.rsplit('=').next().unwrap();
    let storage = format!("s3://{bucket}/{prefix}");
    let shared = [
        ("DOCKET_DATABASE_URL", url.as_str()),
        ("DOCKET_STORAGE", storage.as_str()),
    ];
    let api_env = [&[("DOCKET_NO_WORKERS", "true")], &shared[..]].concat();
    // Each process has a data directory of its own: all they share is the database and the
    // bucket.
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut first = serve_with(dirs[0].path(), free_port(), &api_env).await;
    let (client_id, secret) = printed_credentials(&mut first);
    let second = serve_with(dirs[1].path(), free_port(), &api_env).await;
    let mut workers: Vec<Child> = dirs[2..]
        .iter()
        .map(|dir| worker_with(dir.path(), &shared))
        .collect();
    let http = reqwest::Client::new();
    let apis = [&first.base, &second.base];
    let token = request_token(&http, apis[0], &client_id, &secret).await;
    let files = FileServer::start().await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, &format!("Task {n}"))]]);
        let url = files.add(&format!("{n}.pdf"), pdf);
        ids.push(create_url_task_as(&http, apis[n % 2], &token, &url).await);
    }
    for (n, id) in ids.iter().enumerate() {
        // Read through the API process that did not create it.
        let api = apis[(n + 1) % 2];
        let done = wait_for_status(|| status(&http, api, &token, *id), &[3, 32, 33]).await;
        assert_eq!(done["taskStatus"], 3, "{done}");
        let statuses = status_history(&http, api, &token, *id).await;
        assert_eq!(
            statuses,
            [30, 31, 34, 40, 41, 43, 3],
            "task {id} processed once"
        );
    }
    for worker in &mut workers {
        let stopped = terminate_child(worker, Duration::from_secs(10));
        assert!(stopped.success(), "{stopped}");
    }
}

/// A result reviewed just before docket is killed with SIGKILL, its webhook attempt still
/// waiting for an answer, is delivered after the restart: the same message, the same id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_whose_delivery_was_cut_by_sigkill_is_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start().await;
    let receiver = Receiver::start(vec![Reply::Stall(Duration::from_secs(60))]).await;
    let http = reqwest::Client::new();
    let port = free_port();
    let mut first = serve(dir.path(), port).await;
    let (client_id, secret) = printed_credentials(&mut first);
    let token = request_token(&http, &first.base, &client_id, &secret).await;
    let api = |path: &str| format!("{}/api/v1.0/external/{path}", first.base);
    let workspaces: Vec<Value> =
        get_json(&http, api("sdworkspace/CurrentWorkspaces"), &token).await;
    let workspace = workspaces[0]["workspaceId"].as_i64().unwrap();
    let webhook: Value = http
        .put(api(&format!("sdworkspace/{workspace}/webhook")))
        .bearer_auth(&token)
        .json(&json!({"url": receiver.url, "timeoutSeconds": 2, "schedule": "1s"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, "Sent once at least")]]);
    let task = create_url_task_as(&http, &first.base, &token, &files.add("a.pdf", pdf)).await;
    wait_for_status(|| status(&http, &first.base, &token, task), &[3]).await;
    for step in ["checkout", "complete"] {
        let response = http
            .post(api(&format!("sdtask/{task}/{step}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{step}");
    }
    let cut = receiver.requests(1).await.remove(0);
    first.child.kill().unwrap(); // SIGKILL between the review and its delivery
    first.child.wait().unwrap();
    drop(first);

    let second = serve(dir.path(), port).await;
    let done = wait_for_status(|| status(&http, &second.base, &token, task), &[9]).await;
    assert_eq!(done["integrationStatusText"], "Successful");
    let delivered = receiver.requests(2).await.remove(1);
    assert_eq!(
        cut.0["webhook-id"], delivered.0["webhook-id"],
        "exactly the same id"
    );
    let secret = webhook["secret"].as_str().unwrap();
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&delivered.1, &delivered.0)
        .unwrap();
}

#[test]
fn webhook_subcommands_set_show_rotate_and_remove_a_workspaces_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    admin(&["org", "new", "--data-dir", data, "--name", "Acme"]);
    fn on<'a>(data: &'a str, command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "webhook",
            command,
            "--data-dir",
            data,
            "--workspace-id",
            "1",
        ];
        args.extend_from_slice(extra);
        args
    }
    let refusal = refused(&on(data, "show", &[]));
    assert!(refusal.contains("no webhook"), "{refusal}");
    let refusal = refused(&on(data, "set", &["--schedule", "5s"]));
    assert!(refusal.contains("needs a url"), "{refusal}");
    let refusal = refused(&on(
        data,
        "set",
        &["--url", "https://e.com", "--timeout-seconds", "0"],
    ));
    assert!(refusal.contains("timeoutSeconds"), "{refusal}");

    let set = admin(&on(
        data,
        "set",
        &[
            "--url",
            "https://erp.example.com/hook",
            "--schedule",
            "1s,2m",
        ],
    ));
    assert_eq!(value(&set, "url"), "https://erp.example.com/hook");
    assert_eq!(value(&set, "schedule"), "1s,2m");
    assert_eq!(value(&set, "enabled"), "true");
    assert_eq!(value(&set, "timeout_seconds"), "15");
    let secret = value(&set, "secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    let off = admin(&on(data, "set", &["--enabled", "false"]));
    assert_eq!(
        (value(&off, "enabled"), value(&off, "secret")),
        ("false", secret.as_str())
    );
    let rotated = admin(&on(data, "rotate-secret", &[]));
    assert_ne!(value(&rotated, "secret"), secret);
    assert_eq!(
        value(&admin(&on(data, "show", &[])), "secret"),
        value(&rotated, "secret")
    );
    admin(&on(data, "remove", &[]));
    refused(&on(data, "show", &[]));
    let refusal = refused(&["webhook", "show", "--data-dir", data, "--workspace-id", "9"]);
    assert!(refusal.contains("no workspace 9"), "{refusal}");
}

/// `docket folder-worker` beside `docket serve`, one woken by inotify and one polling (as on a
/// network share): a PDF dropped in each folder becomes a task that the server processes; each
/// file moves to processed/ with its taskId beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_workers_turn_dropped_files_into_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let mut server = serve(dir.path(), free_port()).await;
    let (client_id, secret) = printed_credentials(&mut server);
    let token = request_token(&http, &server.base, &client_id, &secret).await;
    let mut watched = Vec::new();
    for poll in ["false", "true"] {
        let inbox = tempfile::tempdir().unwrap();
        let folder = format!("{}=1", inbox.path().display());
        let worker = docket()
            .args(["folder-worker", "--folder", &folder])
            .env("DOCKET_DATA_DIR", dir.path())
            .env("DOCKET_SCAN_INTERVAL_SECONDS", "1")
            .env("DOCKET_SETTLE_SECONDS", "0")
            .env("DOCKET_POLL", poll)
            .spawn()
            .unwrap();
        let text = format!("Dropped in a folder (poll {poll})");
        let pdf = text_pdf(&[vec![TextRun::new(72.0, 72.0, 12.0, &text)]]);
        std::fs::write(inbox.path().join("scan.pdf"), pdf).unwrap();
        watched.push((inbox, worker));
    }
    for (inbox, worker) in &mut watched {
        let sidecar = inbox.path().join("processed/scan.pdf.json");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !sidecar.exists() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the file was not taken"
            );
            assert!(
                worker.try_wait().unwrap().is_none(),
                "the folder worker exited"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let taken: Value = serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
        let task = taken["taskId"].as_i64().unwrap();
        let done = wait_for_status(|| status(&http, &server.base, &token, task), &[3]).await;
        assert_eq!(done["displayName"], "scan.pdf");
        terminate_child(worker, Duration::from_secs(10));
    }
}
