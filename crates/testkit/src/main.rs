//! `docket-bench`: docket's benchmarks, apart from the server. `recognition` reads a generated
//! corpus (and the real development documents); `scale` measures the API and the workers at a
//! million tasks. Both report; neither asserts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "docket-bench", version, about = "docket's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure recognition on a generated corpus: pages/s (born-digital and scanned), latency,
    /// peak memory, bare Tesseract on the same pages, and field precision/recall.
    Recognition(BenchArgs),
    /// Measure the API at scale: seeds many tasks, then prints p50/p99 of status look-ups and
    /// paginated lists and the task creation throughput, over HTTP, and documents per minute
    /// end to end with 1, 2, 4 worker processes.
    Scale(ScaleArgs),
    /// Read documents handed over on stdin, as a child process of the recognition bench
    /// (internal).
    #[command(hide = true)]
    Sandbox(SandboxArgs),
}

#[derive(Args)]
struct SandboxArgs {
    #[arg(long)]
    memory_mb: u64,
    #[arg(long)]
    pdfium_lib: PathBuf,
}

#[derive(Args)]
struct ScaleArgs {
    /// Tasks seeded in one organisation.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(i64).range(2..))]
    tasks: i64,
    /// Requests timed per measure.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Tasks created over HTTP to measure creation throughput.
    #[arg(long, default_value_t = 2_000)]
    creations: usize,
    /// Creation requests at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// An empty directory to build the database and files in (default: a temporary one).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// An empty PostgreSQL database to measure instead of SQLite (postgres://...).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Worker process counts to measure end to end (documents per minute), one run each.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4])]
    worker_processes: Vec<usize>,
    /// Born-digital documents processed per end-to-end run.
    #[arg(long, default_value_t = 200)]
    documents: usize,
    /// The `docket` program whose worker processes are measured (default: the one beside this
    /// program).
    #[arg(long)]
    docket: Option<PathBuf>,
    /// PDFium shared library.
    #[arg(long, env = "DOCKET_PDFIUM_LIB", default_value = docket_pipeline::pdf::DEFAULT_LIBRARY)]
    pdfium_lib: PathBuf,
}

#[derive(Args)]
struct BenchArgs {
    /// Born-digital invoices to generate.
    #[arg(long, default_value_t = 40)]
    invoices: usize,
    /// Of those, how many to also "scan" (rendered, rotated, noisy) and OCR.
    #[arg(long, default_value_t = 4)]
    scans: usize,
    /// Pages of a scanned PDF recognised to show peak memory follows pages in flight.
    #[arg(long, default_value_t = 12)]
    long_scan_pages: u32,
    /// Threads for the parallel runs (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// OCR languages.
    #[arg(long, default_value = docket_domain::workspace::DEFAULT_LANGUAGES)]
    languages: String,
    /// PDFium shared library.
    #[arg(long, env = "DOCKET_PDFIUM_LIB", default_value = docket_pipeline::pdf::DEFAULT_LIBRARY)]
    pdfium_lib: PathBuf,
    /// Folders of real documents with truth files, measured with `docket eval` (skipped when
    /// absent).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "../shared/testdata/realdocs"
    )]
    real_documents: PathBuf,
}

fn main() -> anyhow::Result<()> {
    docket_pipeline::ocr::restart_with_one_omp_thread()?;
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Command::Sandbox(args) = cli.command {
        return docket_pipeline::sandbox::child_main(args.memory_mb, &args.pdfium_lib);
    }
    tokio::runtime::Runtime::new()?.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Sandbox(_) => anyhow::bail!("the sandbox runs without a runtime"),
        Command::Scale(args) => {
            docket_testkit::scale::run(&docket_testkit::scale::ScaleOptions {
                tasks: args.tasks,
                requests: args.requests,
                creations: args.creations,
                concurrency: args.concurrency,
                data_dir: args.data_dir,
                database_url: args.database_url,
                pdfium_library: args.pdfium_lib,
                worker_processes: args.worker_processes,
                documents: args.documents,
                docket: args.docket,
            })
            .await
        }
        Command::Recognition(args) => {
            let options = docket_testkit::bench::BenchOptions {
                invoices: args.invoices,
                scans: args.scans,
                long_scan_pages: args.long_scan_pages,
                threads: args
                    .threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
                languages: args.languages,
                pdfium_library: args.pdfium_lib,
                real_documents: Some(args.real_documents),
            };
            tokio::task::spawn_blocking(move || docket_testkit::bench::run(&options)).await?
        }
    }
}
