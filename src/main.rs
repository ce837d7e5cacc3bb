//! The `docket` command: `serve` runs the API and the workers, `worker` the workers alone; `org`,
//! `workspace` and `user` administer tenants, credentials, workspaces and people. Every flag also reads `DOCKET_<FLAG>`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use docket::app::{Docket, Settings};
use docket::domain::lifecycle::LifecyclePolicy;
use docket::domain::WorkspaceTemplate;
use docket::server::ServerLimits;
use docket::store::IssuedCredentials;

#[derive(Parser)]
#[command(
    name = "docket",
    version,
    about = "Self-hosted IDP server speaking the SmartDocumentor External API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format.
    #[arg(
        long,
        env = "DOCKET_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and process tasks. On an empty data dir, creates an organisation and prints
    /// its client_id and client_secret.
    Serve(ServeArgs),
    /// Process tasks only, beside `serve --no-workers` or other workers on the same data.
    Worker(WorkerArgs),
    /// Take documents dropped in folders as tasks: each folder feeds a workspace (and a
    /// batch); taken files move to processed/ (with <name>.json holding the taskId) or failed/
    /// (with the reason). The tasks are processed by `serve` and `worker` processes.
    FolderWorker(FolderWorkerArgs),
    /// Organisations (tenants) and their API credentials.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Workspaces of an organisation.
    Workspace {
        #[command(subcommand)]
        command: WorkspaceCommand,
    },
    /// A workspace's webhook: where its reviewed tasks are sent, signed with its secret.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// People who sign in to the web UI: the first administrator, the list, password resets.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Copy a data directory, while docket runs, into a new directory docket can start on
    /// (restore: start with --data-dir on the copy). Files kept in S3 are not copied.
    Backup {
        #[command(flatten)]
        data: DataDir,
        /// The new directory.
        #[arg(long)]
        to: PathBuf,
    },
    /// Read documents handed over on stdin, as a child process of `serve` (internal).
    #[command(hide = true)]
    Sandbox(SandboxArgs),
    /// Measure field extraction on documents with `NAME.truth.json` beside them (e.g.
    /// ../shared/testdata/realdocs): per-field precision and recall, calibration, misses.
    Eval(EvalArgs),
}

#[derive(Args)]
struct SandboxArgs {
    #[arg(long)]
    memory_mb: u64,
    #[arg(long)]
    pdfium_lib: PathBuf,
}

#[derive(Args)]
struct EvalArgs {
    /// Folder searched (recursively) for NAME.truth.json files.
    dir: PathBuf,
    /// OCR languages.
    #[arg(long, default_value = docket::domain::workspace::AUTO_LANGUAGES)]
    languages: String,
    /// Documents read at once (default: one per core).
    #[arg(long)]
    readers: Option<usize>,
    /// PDFium shared library.
    #[arg(long, env = "DOCKET_PDFIUM_LIB", default_value = docket::app::DEFAULT_PDFIUM_LIBRARY)]
    pdfium_lib: PathBuf,
    /// Write each document's recognised lines to DIR/NAME.txt.
    #[arg(long, value_name = "DIR")]
    text: Option<PathBuf>,
    /// Read invoice fields from the page even where a PDF carries e-invoice XML (measures the
    /// visual reading).
    #[arg(long)]
    ignore_embedded: bool,
    /// Also score every field a PDF's embedded e-invoice states that its truth file lacks
    /// (parties, addresses, order, IBAN), the XML standing for the truth; use with
    /// --ignore-embedded.
    #[arg(long, requires = "ignore_embedded")]
    embedded_truth: bool,
    /// Render PDFs into image-only PDFs at DPI first (e.g. 200): measures reading them as scans.
    #[arg(long, value_name = "DPI")]
    as_images: Option<f64>,
    /// Also measure learning from corrections: in name order, each document read with the
    /// rules its supplier's earlier documents taught once corrected to their truth.
    #[arg(long)]
    learn: bool,
}

#[derive(Args)]
struct DataDir {
    /// Where the SQLite database and the stored files live.
    #[arg(long, env = "DOCKET_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// A PostgreSQL database to use instead of the SQLite file (postgres://user:pass@host/db),
    /// shared by any number of `serve` and `worker` processes.
    #[arg(
        long,
        env = "DOCKET_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
}

/// What `serve` and `worker` share: the data, and how documents are fetched and read.
#[derive(Args)]
struct PipelineArgs {
    #[command(flatten)]
    data: DataDir,
    /// Where documents are stored: s3://bucket/prefix (endpoint, region and credentials from
    /// AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; AWS_ALLOW_HTTP=true
    /// for a plain-HTTP endpoint). Default: files/ in the data directory.
    #[arg(long, env = "DOCKET_STORAGE", value_name = "URL")]
    storage: Option<String>,
    /// Allow document URLs on loopback and private networks (off: SSRF protection).
    #[arg(long, env = "DOCKET_ALLOW_PRIVATE_URLS", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    allow_private_urls: bool,
    /// Processing workers (default: one per core).
    #[arg(long, env = "DOCKET_WORKERS")]
    workers: Option<usize>,
    /// Seconds a worker holds a job without renewing it; after a crash, the wait before another
    /// worker resumes it.
    #[arg(long, env = "DOCKET_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..))]
    lease_seconds: i64,
    /// Largest document accepted, by upload or download, in MiB.
    #[arg(long, env = "DOCKET_MAX_FILE_MB", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    max_file_mb: u64,
    /// Seconds a document download may take.
    #[arg(long, env = "DOCKET_DOWNLOAD_TIMEOUT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    download_timeout_seconds: u64,
    /// Documents with more pages are refused (status 35).
    #[arg(long, env = "DOCKET_MAX_PAGES", default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..))]
    max_pages: u32,
    /// Pages recognised per turn of a long document; after each batch its job goes back to the
    /// queue so other organisations' work goes in between.
    #[arg(long, env = "DOCKET_PAGE_BATCH", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    page_batch: u32,
    /// Pages one organisation may have in hand across all workers (a held job counts its
    /// document's pages, at most a batch); its next job waits until some finish.
    #[arg(long, env = "DOCKET_PAGES_IN_FLIGHT", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pages_in_flight: u32,
    /// PDFium shared library (installed by scripts/setup.sh).
    #[arg(long, env = "DOCKET_PDFIUM_LIB", default_value = docket::app::DEFAULT_PDFIUM_LIBRARY)]
    pdfium_lib: PathBuf,
    /// Seconds a document reader may spend on one page before it is killed.
    #[arg(long, env = "DOCKET_PAGE_TIMEOUT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    page_timeout_seconds: u64,
    /// Seconds a document reader may spend on a whole document (and on checking a file).
    #[arg(long, env = "DOCKET_DOCUMENT_TIMEOUT_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    document_timeout_seconds: u64,
    /// Address space of a document reader, in MiB; past it the reader dies, not the server.
    #[arg(long, env = "DOCKET_READER_MEMORY_MB", default_value_t = 3072, value_parser = clap::value_parser!(u64).range(256..))]
    reader_memory_mb: u64,
    /// How long a task may stay in a transient status with nothing working on it before the
    /// sweeper puts it back, as STATUS=SECONDS pairs (code or name), e.g. "41=7200,InReview=600";
    /// unnamed transient statuses: one hour.
    #[arg(long, env = "DOCKET_STUCK_AFTER", default_value = "")]
    stuck_after: String,
    /// Days after which Processed and ExportCompleted tasks move to history.
    #[arg(long, env = "DOCKET_HISTORY_AFTER_DAYS", default_value_t = 31, value_parser = clap::value_parser!(i64).range(1..))]
    history_after_days: i64,
    /// Days a deleted task's original file is kept before it is removed.
    #[arg(long, env = "DOCKET_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(0..))]
    retention_days: i64,
    /// Seconds between the sweeper's rounds (stuck tasks, history, retention).
    #[arg(long, env = "DOCKET_SWEEP_INTERVAL_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    sweep_interval_seconds: u64,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Serve the API only; `docket worker` processes (any number, sharing the data).
    #[arg(long, env = "DOCKET_NO_WORKERS", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    no_workers: bool,
    /// Address to listen on.
    #[arg(long, env = "DOCKET_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Lifetime of bearer tokens, in seconds.
    #[arg(long, env = "DOCKET_TOKEN_TTL_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    token_ttl_seconds: i64,
    /// Base URL for links docket hands out, as clients reach docket (default: http://<bind>).
    #[arg(long, env = "DOCKET_PUBLIC_URL")]
    public_url: Option<String>,
    /// Most tasks `statuslist` returns at once; when more match it answers 400 (use
    /// `statuslistpaginated`).
    #[arg(long, env = "DOCKET_STATUS_LIST_CAP", default_value_t = 10_000, value_parser = clap::value_parser!(i64).range(1..))]
    status_list_cap: i64,
    /// Days a signed `originalFileUrl` link works.
    #[arg(long, env = "DOCKET_LINK_TTL_DAYS", default_value_t = 180, value_parser = clap::value_parser!(i64).range(1..=3650))]
    link_ttl_days: i64,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, env = "DOCKET_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Seconds a client has to send a request's headers.
    #[arg(long, env = "DOCKET_HEADER_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_seconds: u64,
    /// Seconds an idle keep-alive connection stays open between requests.
    #[arg(long, env = "DOCKET_KEEP_ALIVE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    keep_alive_seconds: u64,
    /// Seconds a connection may go without a byte moving (stalled uploads or downloads).
    #[arg(long, env = "DOCKET_STALL_TIMEOUT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    stall_timeout_seconds: u64,
}

#[derive(Args)]
struct WorkerArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
}

#[derive(Args)]
struct FolderWorkerArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// The organisation's client id; may be left out when there is only one organisation.
    #[arg(long)]
    client_id: Option<String>,
    /// A folder and where its documents go: DIR=WORKSPACE_ID or DIR=WORKSPACE_ID:BATCH_ID
    /// (repeatable; several in DOCKET_FOLDER separated by commas).
    #[arg(
        long = "folder",
        env = "DOCKET_FOLDER",
        value_delimiter = ',',
        required = true
    )]
    folders: Vec<String>,
    /// Seconds between scans of the folders.
    #[arg(long, env = "DOCKET_SCAN_INTERVAL_SECONDS", default_value_t = 2)]
    scan_interval_seconds: u64,
    /// Seconds a file must be left unchanged (and keep its size over a scan) to be taken.
    #[arg(long, env = "DOCKET_SETTLE_SECONDS", default_value_t = 2)]
    settle_seconds: u64,
    /// Once a file's task is reviewed, write its export (GetExportData) beside the file in
    /// processed/ as <name>.export.json.
    #[arg(long, env = "DOCKET_WRITE_EXPORTS", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    write_exports: bool,
    /// Scan on the interval only, without change notifications (inotify), which network
    /// shares never send.
    #[arg(long, env = "DOCKET_POLL", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    poll: bool,
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation with a default workspace; prints its credentials once.
    New {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        name: String,
    },
    /// List organisations: id, client id and name, one a line (never secrets).
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Issue a new client secret; the old one and every token issued with it stop working.
    RotateSecret {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace in the organisation of a client id.
    New {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// A template key or name, e.g. Layout, InvoicesPortugal, "Invoices (Universal)".
        #[arg(long, default_value = "Layout")]
        template: String,
        /// OCR languages: Tesseract codes joined by '+' (their language data must be installed),
        /// or "auto" to find each page's language. Default: "auto" for InvoicesUniversal and
        /// Receipts, "por+eng" for the other templates.
        #[arg(long)]
        languages: Option<String>,
    },
}

/// Which workspace's webhook a command is about.
#[derive(Args)]
struct WebhookTarget {
    #[command(flatten)]
    data: DataDir,
    /// The organisation's client id; may be left out when there is only one organisation.
    #[arg(long)]
    client_id: Option<String>,
    #[arg(long)]
    workspace_id: i64,
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Set the webhook (a new one gets a new secret); prints it.
    Set {
        #[command(flatten)]
        target: WebhookTarget,
        /// http or https; no private address unless docket runs with --allow-private-urls.
        #[arg(long)]
        url: Option<String>,
        /// What messages carry: exportData (the task's export, the default) or fileUrl (a
        /// signed link to the exported file).
        #[arg(long)]
        body: Option<String>,
        /// For fileUrl: how long its links work, 1 to 168 hours (default 168).
        #[arg(long)]
        file_link_hours: Option<u32>,
        /// Waits before each retry, e.g. 5s,5m,30m,2h,5h,10h,10h (the default).
        #[arg(long)]
        schedule: Option<String>,
        /// How long an attempt waits for the answer, 1 to 300 (default 15).
        #[arg(long)]
        timeout_seconds: Option<u32>,
        /// Turn it on (also after a 410 Gone turned it off) or off.
        #[arg(long)]
        enabled: Option<bool>,
    },
    /// Print the webhook and its secret.
    Show {
        #[command(flatten)]
        target: WebhookTarget,
    },
    /// A new secret, used from the next attempt on; prints the webhook.
    RotateSecret {
        #[command(flatten)]
        target: WebhookTarget,
    },
    /// Remove the webhook: reviewed tasks stay Reviewed.
    Remove {
        #[command(flatten)]
        target: WebhookTarget,
    },
}

/// Where a command about people finds them, and how the links it prints begin.
#[derive(Args)]
struct PeopleArgs {
    #[command(flatten)]
    data: DataDir,
    /// The organisation's client id; may be left out when there is only one organisation.
    #[arg(long)]
    client_id: Option<String>,
    /// Base URL of docket as people reach it, for the links printed.
    #[arg(
        long,
        env = "DOCKET_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    public_url: String,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person; prints a link where they set their password (valid 7 days), or, with
    /// --password-stdin, sets the password read from stdin.
    New {
        #[command(flatten)]
        people: PeopleArgs,
        #[arg(long)]
        email: String,
        /// Administrator, Manager, Creator, Reviewer or Viewer.
        #[arg(long, default_value = "Administrator")]
        role: String,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of stdin instead of printing a link.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the organisation's people: id, e-mail, role, status and name, one a line.
    List {
        #[command(flatten)]
        people: PeopleArgs,
    },
    /// Print a new link where the person sets a new password; their sessions end when it is used.
    ResetPassword {
        #[command(flatten)]
        people: PeopleArgs,
        #[arg(long)]
        email: String,
    },
}

fn main() -> anyhow::Result<()> {
    docket::pipeline::ocr::restart_with_one_omp_thread()?;
    // The data directory holds every tenant's documents: whatever docket creates there (the
    // database and its WAL, stored files, the link key) is for its own user only.
    // SAFETY: umask only replaces the process's file-creation mask; it has no failure mode.
    #[cfg(unix)]
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    // A document reader is a plain single-threaded process: no runtime.
    if let Command::Sandbox(args) = cli.command {
        return docket::pipeline::sandbox::child_main(args.memory_mb, &args.pdfium_lib);
    }
    tokio::runtime::Runtime::new()?.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Sandbox(_) => anyhow::bail!("the sandbox runs without a runtime"),
        Command::Serve(args) => serve(args).await,
        Command::Worker(args) => worker(args).await,
        Command::FolderWorker(args) => folder_worker(args).await,
        Command::Eval(args) => {
            anyhow::ensure!(
                args.as_images
                    .is_none_or(|dpi| (50.0..=600.0).contains(&dpi)),
                "--as-images takes a resolution between 50 and 600 dpi"
            );
            let options = docket::eval::EvalOptions {
                dir: args.dir,
                languages: args.languages,
                readers: args
                    .readers
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
                pdfium_library: args.pdfium_lib,
                text_dir: args.text,
                as_images: args.as_images,
                ignore_embedded: args.ignore_embedded,
                embedded_truth: args.embedded_truth,
                learn: args.learn,
            };
            tokio::task::spawn_blocking(move || docket::eval::run(&options)).await?
        }
        Command::Backup { data, to } => {
            anyhow::ensure!(
                data.database_url.is_none(),
                "backup copies a data directory's SQLite database; back up PostgreSQL with pg_dump"
            );
            docket::app::backup(&data.data_dir, &to).await?;
            println!("backed up into {}", to.display());
            Ok(())
        }
        Command::Org {
            command: OrgCommand::New { data, name },
        } => {
            let store = open_store(&data).await?;
            print_credentials(&store.create_organization(&name).await?);
            Ok(())
        }
        Command::Org {
            command: OrgCommand::List { data },
        } => {
            let store = open_store(&data).await?;
            println!("id\tclient_id\tname");
            for org in store.organizations().await? {
                println!("{}\t{}\t{}", org.id, org.client_id, org.name);
            }
            Ok(())
        }
        Command::Org {
            command: OrgCommand::RotateSecret { data, client_id },
        } => {
            let store = open_store(&data).await?;
            print_credentials(&store.rotate_secret(&client_id).await?);
            Ok(())
        }
        Command::User { command } => user_command(command).await,
        Command::Webhook { command } => webhook_command(command).await,
        Command::Workspace {
            command:
                WorkspaceCommand::New {
                    data,
                    client_id,
                    name,
                    description,
                    template,
                    languages,
                },
        } => {
            let template = WorkspaceTemplate::parse(&template).with_context(|| {
                let known: Vec<&str> = WorkspaceTemplate::ALL.iter().map(|t| t.key()).collect();
                format!(
                    "unknown template {template:?}; use one of {}",
                    known.join(", ")
                )
            })?;
            let languages = languages.unwrap_or_else(|| template.default_languages().to_owned());
            anyhow::ensure!(
                docket::domain::workspace::valid_languages(&languages),
                "languages must be Tesseract codes joined by '+', e.g. por+eng, or auto"
            );
            let store = open_store(&data).await?;
            let org = store
                .find_organization(&client_id)
                .await?
                .context("no organisation has that client id")?;
            let workspace = store
                .create_workspace(
                    org.id,
                    &name,
                    description.as_deref(),
                    template.key(),
                    &languages,
                )
                .await?;
            println!("workspace_id: {}", workspace.id);
            Ok(())
        }
    }
}

async fn webhook_command(command: WebhookCommand) -> anyhow::Result<()> {
    use docket::domain::webhook::{WebhookChange, WebhookSecret, WebhookSettings};
    let (WebhookCommand::Set { target, .. }
    | WebhookCommand::Show { target }
    | WebhookCommand::RotateSecret { target }
    | WebhookCommand::Remove { target }) = &command;
    let store = open_store(&target.data).await?;
    let org_id = organisation(&store, target.client_id.as_deref()).await?;
    let workspace = target.workspace_id;
    anyhow::ensure!(
        store.workspace(org_id, Some(workspace)).await?.is_some(),
        "the organisation has no workspace {workspace}"
    );
    let current = store.webhook(org_id, workspace).await?;
    let print = |w: &WebhookSettings| {
        println!("url: {}", w.url);
        println!("body: {}", w.body.name());
        println!("secret: {}", w.secret.to_text());
        println!("enabled: {}", w.enabled);
        println!("schedule: {}", w.schedule);
        println!("timeout_seconds: {}", w.timeout_seconds);
        if let Some(reason) = &w.disabled_reason {
            println!("disabled_reason: {reason}");
        }
    };
    let changed = match command {
        WebhookCommand::Set {
            url,
            body,
            file_link_hours,
            schedule,
            timeout_seconds,
            enabled,
            ..
        } => {
            let change = WebhookChange {
                url,
                body,
                file_link_hours,
                enabled,
                schedule,
                timeout_seconds,
            };
            change.apply(current).map_err(|e| anyhow::anyhow!(e.0))?
        }
        WebhookCommand::Show { .. } => {
            print(&current.context("the workspace has no webhook")?);
            return Ok(());
        }
        WebhookCommand::RotateSecret { .. } => {
            let mut webhook = current.context("the workspace has no webhook")?;
            webhook.secret = WebhookSecret::generate();
            webhook
        }
        WebhookCommand::Remove { .. } => {
            current.context("the workspace has no webhook")?;
            store.set_webhook(org_id, workspace, None).await?;
            return Ok(());
        }
    };
    store.set_webhook(org_id, workspace, Some(&changed)).await?;
    print(&changed);
    Ok(())
}

async fn user_command(command: UserCommand) -> anyhow::Result<()> {
    use docket::domain::people::{self, Email, Invite, Role};
    let (UserCommand::New { people: args, .. }
    | UserCommand::List { people: args }
    | UserCommand::ResetPassword { people: args, .. }) = &command;
    let store = open_store(&args.data).await?;
    let org_id = organisation(&store, args.client_id.as_deref()).await?;
    let base = args.public_url.trim_end_matches('/').to_owned();
    let print_link = |link: &docket::store::PasswordLink| {
        println!("user_id: {}", link.user.id);
        println!(
            "password_url: {base}{}/{}",
            docket::api::PASSWORD_PATH,
            link.token
        );
        println!(
            "password_url_expires_on: {}",
            link.expires_at.to_api_string()
        );
    };
    match command {
        UserCommand::New {
            email,
            role,
            name,
            password_stdin,
            ..
        } => {
            let invite = Invite {
                email: Email::parse(&email).map_err(|e| anyhow::anyhow!(e.0))?,
                role: Role::parse(&role).map_err(|e| anyhow::anyhow!(e.0))?,
            };
            if password_stdin {
                let mut password = String::new();
                std::io::stdin().read_line(&mut password)?;
                let password = password.trim_end_matches(['\r', '\n']);
                people::check_new_password(password).map_err(|e| anyhow::anyhow!(e.0))?;
                let hash = people::hash_password(password).map_err(|e| anyhow::anyhow!(e.0))?;
                let user = store
                    .create_user(org_id, &invite, name.as_deref(), &hash)
                    .await?;
                println!("user_id: {}", user.id);
            } else {
                let invited = store.invite_users(org_id, &[invite], None).await?;
                if let Some(docket::store::Invited::New(link)) = invited.first() {
                    print_link(link);
                }
            }
        }
        UserCommand::List { .. } => {
            println!("id\temail\trole\tstatus\tname");
            for u in store.users(org_id).await? {
                let name = u.name.as_deref().unwrap_or_default();
                let (email, role, status) = (u.email.as_str(), u.role.name(), u.status.name());
                println!("{}\t{email}\t{role}\t{status}\t{name}", u.id);
            }
        }
        UserCommand::ResetPassword { email, .. } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!(e.0))?;
            let user = store
                .user_by_email(org_id, &email)
                .await?
                .context("no user with that e-mail in the organisation")?;
            print_link(&store.issue_password_link(user.id).await?);
        }
    }
    Ok(())
}

/// The organisation a client id names, or the only one there is.
async fn organisation(
    store: &docket::store::Store,
    client_id: Option<&str>,
) -> anyhow::Result<i64> {
    if let Some(client_id) = client_id {
        let org = store.find_organization(client_id).await?;
        return Ok(org.context("no organisation has that client id")?.id);
    }
    match store.organizations().await?.as_slice() {
        [only] => Ok(only.id),
        [] => anyhow::bail!("no organisation yet: start docket serve once, or docket org new"),
        _ => anyhow::bail!("several organisations: name one with --client-id"),
    }
}

async fn open_store(data: &DataDir) -> anyhow::Result<docket::store::Store> {
    docket::app::prepare_data_dir(&data.data_dir)?;
    docket::store::Store::open_at(&data.data_dir, data.database_url.as_deref()).await
}

fn print_credentials(issued: &IssuedCredentials) {
    println!("client_id: {}", issued.organization.client_id);
    println!("client_secret: {}", issued.client_secret);
    println!(
        "secret_expires_on: {}",
        issued.secret_expires_at.to_api_string()
    );
}

/// Settings of the data directory, the pipeline and its workers.
fn settings(args: &PipelineArgs) -> anyhow::Result<Settings> {
    let mut settings = Settings::new(&args.data.data_dir)
        .allow_private_urls(args.allow_private_urls)
        .max_file_bytes(args.max_file_mb * 1024 * 1024)
        .download_timeout(Duration::from_secs(args.download_timeout_seconds));
    settings.pdfium_library = args.pdfium_lib.clone();
    settings.storage = args.storage.clone();
    settings.database_url = args.data.database_url.clone();
    let pipeline = &mut settings.pipeline;
    pipeline.lease_seconds = args.lease_seconds;
    pipeline.max_pages = args.max_pages;
    pipeline.page_batch = args.page_batch;
    pipeline.pages_in_flight = args.pages_in_flight;
    pipeline.sandbox.page_timeout = Duration::from_secs(args.page_timeout_seconds);
    pipeline.sandbox.document_timeout = Duration::from_secs(args.document_timeout_seconds);
    pipeline.sandbox.memory_mb = args.reader_memory_mb;
    if let Some(workers) = args.workers {
        pipeline.workers = workers.max(1);
    }
    pipeline.lifecycle = LifecyclePolicy {
        history_after_days: args.history_after_days,
        retention_days: args.retention_days,
        ..LifecyclePolicy::default()
    }
    .with_stuck_after(&args.stuck_after)
    .map_err(|e| anyhow::anyhow!("--stuck-after: {}", e.0))?;
    pipeline.sweep_interval = Duration::from_secs(args.sweep_interval_seconds);
    Ok(settings)
}

/// `docket worker`: processes tasks of a data directory an API process (`serve --no-workers`)
/// or another worker shares, until SIGTERM, when its jobs are given back at once.
async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let docket = Docket::open(settings(&args.pipeline)?).await?;
    tracing::info!(data_dir = %args.pipeline.data.data_dir.display(), "docket worker running");
    let workers = docket.start_workers();
    shutdown_signal().await;
    tracing::info!("stopping");
    workers.stop().await;
    Ok(())
}

async fn folder_worker(args: FolderWorkerArgs) -> anyhow::Result<()> {
    use docket::pipeline::folders::{wake_on_changes, FolderIntake, IntakeConfig, WatchedFolder};
    let docket = Docket::open(settings(&args.pipeline)?).await?;
    let store = docket.store().clone();
    let org_id = organisation(&store, args.client_id.as_deref()).await?;
    let mut folders = Vec::new();
    for spec in &args.folders {
        let bad = || {
            format!("--folder takes DIR=WORKSPACE_ID or DIR=WORKSPACE_ID:BATCH_ID, not {spec:?}")
        };
        let (dir, target) = spec.rsplit_once('=').with_context(bad)?;
        let (workspace, batch) = match target.split_once(':') {
            Some((workspace, batch)) => (workspace, Some(batch)),
            None => (target, None),
        };
        let workspace_id: i64 = workspace.trim().parse().with_context(bad)?;
        let batch_id = batch
            .map(|b| b.trim().parse::<i64>())
            .transpose()
            .with_context(bad)?;
        anyhow::ensure!(
            store.workspace(org_id, Some(workspace_id)).await?.is_some(),
            "the organisation has no workspace {workspace_id}"
        );
        if let Some(batch_id) = batch_id {
            let batch = store.batch(org_id, batch_id).await?;
            anyhow::ensure!(
                batch.is_some_and(|b| b.workspace_id == workspace_id),
                "workspace {workspace_id} has no batch {batch_id}"
            );
        }
        folders.push(WatchedFolder {
            path: dir.into(),
            org_id,
            workspace_id,
            batch_id,
        });
    }
    let config_settle = Duration::from_secs(args.settle_seconds);
    let config = IntakeConfig {
        settle: config_settle,
        write_exports: args.write_exports,
        ..IntakeConfig::default()
    };
    let changed = std::sync::Arc::new(tokio::sync::Notify::new());
    let _watcher = match args.poll {
        true => None,
        false => Some(wake_on_changes(&folders, changed.clone())?),
    };
    let blobs = docket.state.blobs.clone();
    let mut intake = FolderIntake::new(store, blobs, folders, config)?;
    tracing::info!(folders = ?args.folders, poll = args.poll, "docket folder-worker running");
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let interval = Duration::from_secs(args.scan_interval_seconds);
    loop {
        if let Err(e) = intake.scan().await {
            tracing::warn!(error = %e, "scanning the folders failed; trying again");
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(interval) => {}
            // A change: look again soon, when the file has had time to settle.
            _ = changed.notified() => {
                tokio::time::sleep(config_settle.min(interval)).await;
            }
        }
    }
    tracing::info!("stopping");
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Bound first: when the port is taken, nothing is created (and no credentials are printed
    // and lost).
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let mut settings = settings(&args.pipeline)?;
    settings.api.token_ttl_seconds = args.token_ttl_seconds;
    settings.api.link_ttl_days = args.link_ttl_days;
    settings.api.status_list_cap = args.status_list_cap;
    settings.api.public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", args.bind));
    let limits = ServerLimits {
        max_connections: args.max_connections as usize,
        header_timeout: Duration::from_secs(args.header_timeout_seconds),
        keep_alive: Duration::from_secs(args.keep_alive_seconds),
        stall_timeout: Duration::from_secs(args.stall_timeout_seconds),
        ..ServerLimits::default()
    };
    let docket = Docket::open(settings).await?;
    if let Some(issued) = docket.bootstrap().await? {
        print_credentials(&issued);
    }
    tracing::info!(address = %listener.local_addr()?, data_dir = %args.pipeline.data.data_dir.display(), "docket listening");
    let workers = (!args.no_workers).then(|| docket.start_workers());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping");
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    // Connections drain while workers give their jobs back.
    tokio::join!(
        docket::server::serve(listener, docket.router(), limits, stopped(stopping.clone())),
        async {
            stopped(stopping).await;
            if let Some(workers) = workers {
                workers.stop().await;
            }
        }
    );
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Logs go to stderr so stdout carries only what the command prints (credentials).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
