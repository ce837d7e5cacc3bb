//! Untrusted documents are parsed and rendered in child processes (`docket sandbox ...`), one per
//! job, under a wall-clock limit per page and per document and an address-space limit. A file
//! that makes PDFium spin, abort or swallow memory costs one killed child and a task failed with
//! the reason; the server, its other workers and other tenants' documents are untouched. Each
//! child has its own PDFium, so PDFs are read in parallel on every core instead of one at a time
//! behind PDFium's process-wide lock.
//!
//! The parent writes the document to the child's stdin; the child answers with JSON lines.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::Instant;

use super::detect::{self, DocumentKind, Unreadable};
use super::recognize::{self, RecognizedPage};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The docket executable that runs `docket sandbox`.
    pub program: PathBuf,
    pub pdfium_library: PathBuf,
    /// Longest a child may work on one page.
    pub page_timeout: Duration,
    /// Longest one child may run for a whole document (pre-processing included).
    pub document_timeout: Duration,
    /// Address-space limit of a child, in MiB.
    pub memory_mb: u64,
}

impl SandboxConfig {
    /// Defaults: this executable, 60 s a page, an hour a document, 3 GiB.
    pub fn new(pdfium_library: PathBuf) -> Self {
        SandboxConfig {
            program: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("docket")),
            pdfium_library,
            page_timeout: Duration::from_secs(60),
            document_timeout: Duration::from_secs(3600),
            memory_mb: 3072,
        }
    }
}

/// What a child asks of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Detect the format, count and validate the pages.
    Inspect { max_pages: u32 },
    /// Recognise the pages from index `first` on.
    Recognize { languages: String, first: u32 },
}

/// One line a child writes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Message {
    Inspected {
        media_type: String,
        pages: u32,
    },
    Page {
        index: u32,
        page: Box<RecognizedPage>,
    },
    Done,
    Unreadable {
        reason: String,
    },
}

/// Why a child did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The child was killed for a limit, or died: counted against the task.
    #[error("{0}")]
    Killed(String),
    /// The child could not be started or spoke nonsense: docket's fault, retried.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A running child and the deadlines it works under.
pub struct Session {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    config: SandboxConfig,
    deadline: Instant,
    /// Whether the page limit applies (recognition) or only the document's (inspection).
    per_page: bool,
    /// What the child is doing, for the reason when it is stopped.
    doing: String,
}

impl Session {
    /// Starts a child on `document`.
    pub async fn start(
        config: &SandboxConfig,
        job: &Job,
        document: Vec<u8>,
    ) -> Result<Self, SandboxError> {
        let mut command = Command::new(&config.program);
        command
            .arg("sandbox")
            .arg("--memory-mb")
            .arg(config.memory_mb.to_string())
            .arg("--deadline-seconds")
            .arg(
                config
                    .document_timeout
                    .as_secs()
                    .saturating_add(5)
                    .to_string(),
            )
            .arg("--pdfium-lib")
            .arg(&config.pdfium_library);
        let doing = match job {
            Job::Inspect { max_pages } => {
                command
                    .arg("inspect")
                    .arg("--max-pages")
                    .arg(max_pages.to_string());
                "reading the file".to_owned()
            }
            Job::Recognize { languages, first } => {
                command
                    .arg("recognize")
                    .arg("--languages")
                    .arg(languages)
                    .arg("--first")
                    .arg(first.to_string());
                format!("page {}", first + 1)
            }
        };
        let mut child = command
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot start the document reader {}: {e}",
                    config.program.display()
                )
            })?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(anyhow::anyhow!("the document reader has no pipes").into());
        };
        // Written beside the reads: a child may answer before it has read everything.
        tokio::spawn(async move {
            // A child that dies early closes the pipe; its exit tells why.
            let _ = stdin.write_all(&document).await;
        });
        Ok(Session {
            child,
            lines: BufReader::new(stdout).lines(),
            config: config.clone(),
            deadline: Instant::now() + config.document_timeout,
            per_page: matches!(job, Job::Recognize { .. }),
            doing,
        })
    }

    /// The child's next message, or why it stopped. The page limit runs from this call.
    pub async fn next(&mut self) -> Result<Message, SandboxError> {
        let page_deadline = Instant::now() + self.config.page_timeout;
        let (deadline, limit) = if self.per_page && page_deadline <= self.deadline {
            (
                page_deadline,
                format!("{} s per page", self.config.page_timeout.as_secs()),
            )
        } else {
            (
                self.deadline,
                format!("{} s per document", self.config.document_timeout.as_secs()),
            )
        };
        let line = match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
            Err(_) => {
                // Killed now rather than on drop, so the CPU is free at once.
                let _ = self.child.start_kill();
                return Err(SandboxError::Killed(format!(
                    "reading stopped at {}: it took longer than the limit of {limit}",
                    self.doing
                )));
            }
            Ok(line) => line.map_err(|e| anyhow::anyhow!("reading the document reader: {e}"))?,
        };
        let Some(line) = line else {
            let status = self.child.wait().await.map_err(anyhow::Error::from)?;
            return Err(SandboxError::Killed(format!(
                "the document reader {} at {}",
                describe_exit(status, self.config.memory_mb),
                self.doing
            )));
        };
        let message: Message = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("the document reader said something unexpected: {e}"))?;
        if let Message::Page { index, .. } = &message {
            self.doing = format!("page {}", index + 2);
        }
        Ok(message)
    }
}

fn describe_exit(status: ExitStatus, memory_mb: u64) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!(
                "crashed (signal {signal}; it may have reached its memory limit of {memory_mb} MiB)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = memory_mb;
    match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => "stopped".to_owned(),
    }
}

/// The child's side: runs `job` on the document read from stdin and writes `Message`s to stdout.
/// Called by `docket sandbox` before any runtime or thread starts.
pub fn child_main(
    job: Job,
    memory_mb: u64,
    deadline_seconds: u64,
    pdfium_library: &std::path::Path,
) -> anyhow::Result<()> {
    limit_memory(memory_mb)?;
    outlive_nothing(deadline_seconds);
    super::pdf::init(pdfium_library)?;
    let mut document = Vec::new();
    std::io::stdin().lock().read_to_end(&mut document)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut send = |message: &Message| -> Result<(), Unreadable> {
        let written = serde_json::to_writer(&mut out, message)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        // The parent has gone (it stopped the job): nothing left to do.
        written.map_err(|e| Unreadable(format!("the parent went away: {e}")))
    };
    let outcome = match job {
        Job::Inspect { max_pages } => inspect(&document, max_pages).and_then(|(kind, pages)| {
            send(&Message::Inspected {
                media_type: kind.media_type().to_owned(),
                pages,
            })
        }),
        Job::Recognize { languages, first } => {
            recognize::recognize_pages(&document, &languages, first, |index, page| {
                send(&Message::Page {
                    index,
                    page: Box::new(page),
                })
            })
        }
    };
    match outcome {
        Ok(()) => send(&Message::Done),
        Err(Unreadable(reason)) => send(&Message::Unreadable { reason }),
    }
    .map_err(|e| anyhow::anyhow!(e.0))
}

/// Format and page count, with every image frame decoded so that a truncated or corrupt image
/// is refused in pre-processing rather than failing recognition later.
fn inspect(bytes: &[u8], max_pages: u32) -> Result<(DocumentKind, u32), Unreadable> {
    let kind = detect::detect(bytes)?;
    let pages = detect::page_count(kind, bytes)?;
    if pages > max_pages {
        return Err(Unreadable(format!(
            "the document has {pages} pages; the limit is {max_pages}"
        )));
    }
    match kind {
        DocumentKind::Pdf => {}
        DocumentKind::Tiff => recognize::validate_tiff(bytes)?,
        _ => {
            recognize::decode_image(bytes)?;
        }
    }
    Ok((kind, pages))
}

/// A reader never outlives its server (killed with it, even by SIGKILL) nor its deadline (an
/// alarm ends it if nobody else does).
fn outlive_nothing(deadline_seconds: u64) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG) and alarm only set process attributes from plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::alarm(u32::try_from(deadline_seconds).unwrap_or(u32::MAX));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = deadline_seconds;
}

/// Caps the child's address space: an allocation past it fails (and aborts the child) instead of
/// pushing the machine into swap or the OOM killer.
fn limit_memory(memory_mb: u64) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let bytes = memory_mb.saturating_mul(1024 * 1024);
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // SAFETY: setrlimit only reads the struct passed by reference.
        if unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = memory_mb;
    Ok(())
}
