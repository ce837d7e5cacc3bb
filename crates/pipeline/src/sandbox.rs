//! Untrusted documents are parsed and rendered in child processes (`docket sandbox`), the
//! document readers, under a wall-clock limit per page and per document and an address-space
//! limit. A file that makes PDFium spin, abort or swallow memory costs one killed reader and a
//! task failed with the reason; the server, its other workers and other tenants' documents are
//! untouched. Each reader has its own PDFium, so PDFs are read in parallel on every core instead
//! of one at a time behind PDFium's process-wide lock.
//!
//! A worker keeps its reader between jobs of one organisation (starting the binary costs more
//! than reading a born-digital page), and starts a new one for another organisation, after a
//! kill, or after `JOBS_PER_READER` jobs: no process reads two tenants' documents.
//!
//! Protocol: for each job the parent writes a JSON line (`Request`) and the document's bytes to
//! the reader's stdin; the reader answers with JSON lines (`Message`) ending in `Done` or
//! `Unreadable`.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::Instant;

use super::detect::{self, DocumentKind, Unreadable};
use super::recognize::{self, RecognizedPage};

/// A reader is replaced after this many jobs, so that what a long-lived PDFium or Tesseract
/// leaks or fragments stays bounded.
const JOBS_PER_READER: u32 = 200;

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The docket executable that runs `docket sandbox`.
    pub program: PathBuf,
    pub pdfium_library: PathBuf,
    /// Longest a reader may work on one page.
    pub page_timeout: Duration,
    /// Longest a reader may work on a whole document (pre-processing included).
    pub document_timeout: Duration,
    /// Address-space limit of a reader, in MiB.
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

/// What a reader is asked to do with a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Job {
    /// Detect the format, count and validate the pages.
    Inspect { max_pages: u32 },
    /// Recognise `count` pages from index `first` on (fewer at the document's end).
    Recognize {
        languages: String,
        first: u32,
        count: u32,
    },
    /// Draw page `page` (from 0) as PNG for people, its longer side at most `max_side` pixels.
    Render { page: u32, max_side: u32 },
}

/// The line before a document's bytes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    job: Job,
    /// Length of the document that follows the line.
    bytes: u64,
    /// The reader ends itself after this long (should its parent not).
    deadline_seconds: u64,
}

/// One line a reader writes.
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
    /// A page picture, PNG in base64.
    Rendered {
        png: String,
    },
}

/// Why a reader did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The reader was killed for a limit, or died: counted against the task.
    #[error("{0}")]
    Killed(String),
    /// The reader could not be started or spoke nonsense: docket's fault, retried.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A running reader process.
struct Reader {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// The organisation whose documents it reads.
    org_id: i64,
    jobs: u32,
    /// Between jobs: its last job ended with `Done` or `Unreadable`.
    idle: bool,
}

impl Reader {
    fn spawn(config: &SandboxConfig, org_id: i64) -> Result<Self, SandboxError> {
        let mut child = Command::new(&config.program)
            .arg("sandbox")
            .arg("--memory-mb")
            .arg(config.memory_mb.to_string())
            .arg("--pdfium-lib")
            .arg(&config.pdfium_library)
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
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(anyhow::anyhow!("the document reader has no pipes").into());
        };
        tracing::debug!(pid = child.id(), org_id, "document reader started");
        Ok(Reader {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            org_id,
            jobs: 0,
            idle: true,
        })
    }
}

/// A worker's document reader, kept between the jobs it may share.
#[derive(Default)]
pub struct ReaderSlot {
    reader: Option<Reader>,
}

impl ReaderSlot {
    /// The process id of the kept reader, if one is running.
    pub fn pid(&self) -> Option<u32> {
        self.reader.as_ref().and_then(|r| r.child.id())
    }

    /// Hands `document` of organisation `org_id` to a reader: the kept one when it may read it,
    /// else a new one.
    pub async fn start(
        &mut self,
        config: &SandboxConfig,
        org_id: i64,
        job: &Job,
        document: &[u8],
    ) -> Result<Session<'_>, SandboxError> {
        let reusable = self
            .reader
            .as_ref()
            .is_some_and(|r| r.idle && r.org_id == org_id && r.jobs < JOBS_PER_READER);
        if !reusable {
            // The one it replaces, if any, is killed as it drops.
            self.reader = Some(Reader::spawn(config, org_id)?);
        }
        let reader = self
            .reader
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no document reader"))?;
        let deadline = Instant::now() + config.document_timeout;
        let request = Request {
            job: job.clone(),
            bytes: document.len() as u64,
            deadline_seconds: config.document_timeout.as_secs().saturating_add(5),
        };
        let mut line = serde_json::to_vec(&request).map_err(anyhow::Error::from)?;
        line.push(b'\n');
        reader.idle = false;
        reader.jobs += 1;
        let handed = async {
            reader.stdin.write_all(&line).await?;
            reader.stdin.write_all(document).await?;
            reader.stdin.flush().await
        };
        // A reader that died reading it shows why on its stdout, in `next`.
        let _ = tokio::time::timeout_at(deadline, handed).await;
        let doing = match job {
            Job::Inspect { .. } => "reading the file".to_owned(),
            Job::Recognize { first, .. } => format!("page {}", first + 1),
            Job::Render { page, .. } => format!("drawing page {}", page + 1),
        };
        Ok(Session {
            reader,
            config: config.clone(),
            deadline,
            per_page: matches!(job, Job::Recognize { .. }),
            doing,
        })
    }
}

/// One job on a reader, and the deadlines it works under.
pub struct Session<'a> {
    reader: &'a mut Reader,
    config: SandboxConfig,
    deadline: Instant,
    /// Whether the page limit applies (recognition) or only the document's (inspection).
    per_page: bool,
    /// What the reader is doing, for the reason when it is stopped.
    doing: String,
}

impl Session<'_> {
    /// The reader's next message, or why it stopped. The page limit runs from this call.
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
        let line = match tokio::time::timeout_at(deadline, self.reader.lines.next_line()).await {
            Err(_) => {
                // Killed now rather than when replaced, so the CPU is free at once.
                let _ = self.reader.child.start_kill();
                return Err(SandboxError::Killed(format!(
                    "reading stopped at {}: it took longer than the limit of {limit}",
                    self.doing
                )));
            }
            Ok(line) => line.map_err(|e| anyhow::anyhow!("reading the document reader: {e}"))?,
        };
        let Some(line) = line else {
            let status = self
                .reader
                .child
                .wait()
                .await
                .map_err(anyhow::Error::from)?;
            return Err(SandboxError::Killed(format!(
                "the document reader {} at {}",
                describe_exit(status, self.config.memory_mb),
                self.doing
            )));
        };
        let message: Message = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("the document reader said something unexpected: {e}"))?;
        match &message {
            Message::Page { index, .. } => self.doing = format!("page {}", index + 2),
            Message::Done | Message::Unreadable { .. } => self.reader.idle = true,
            Message::Inspected { .. } | Message::Rendered { .. } => {}
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

/// The reader's side: answers jobs from stdin until it closes. Called by `docket sandbox`
/// before any runtime or thread starts.
pub fn child_main(memory_mb: u64, pdfium_library: &std::path::Path) -> anyhow::Result<()> {
    limit_memory(memory_mb)?;
    die_with_parent();
    super::pdf::init(pdfium_library)?;
    let mut input = std::io::BufReader::new(std::io::stdin().lock());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut header = String::new();
    loop {
        header.clear();
        if input.read_line(&mut header)? == 0 {
            return Ok(());
        }
        let request: Request = serde_json::from_str(&header)?;
        let mut document = Vec::new();
        (&mut input)
            .take(request.bytes)
            .read_to_end(&mut document)?;
        anyhow::ensure!(
            document.len() as u64 == request.bytes,
            "the document ended early"
        );
        set_alarm(request.deadline_seconds);
        run_job(request.job, &document, &mut out)?;
        set_alarm(0);
    }
}

/// Runs one job, writing its messages; Err only when the parent can no longer be told.
fn run_job(job: Job, document: &[u8], out: &mut impl Write) -> anyhow::Result<()> {
    let mut send = |message: &Message| -> Result<(), Unreadable> {
        let written = serde_json::to_writer(&mut *out, message)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        // The parent has gone (it stopped the job): nothing left to do.
        written.map_err(|e| Unreadable(format!("the parent went away: {e}")))
    };
    let outcome = match job {
        Job::Inspect { max_pages } => inspect(document, max_pages).and_then(|(kind, pages)| {
            send(&Message::Inspected {
                media_type: kind.media_type().to_owned(),
                pages,
            })
        }),
        Job::Recognize {
            languages,
            first,
            count,
        } => {
            let pages = first..first.saturating_add(count);
            recognize::recognize_pages(document, &languages, pages, |index, page| {
                send(&Message::Page {
                    index,
                    page: Box::new(page),
                })
            })
        }
        Job::Render { page, max_side } => recognize::render_page(document, page, max_side)
            .and_then(|png| {
                use base64::Engine;
                let png = base64::engine::general_purpose::STANDARD.encode(png);
                send(&Message::Rendered { png })
            }),
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

/// A reader never outlives its server, even one killed with SIGKILL.
fn die_with_parent() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a process attribute from plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

/// Ends the reader after `seconds` (0: never) should nobody else: a job's own deadline.
fn set_alarm(seconds: u64) {
    #[cfg(unix)]
    // SAFETY: alarm only sets the process's timer from a plain integer.
    unsafe {
        libc::alarm(u32::try_from(seconds).unwrap_or(u32::MAX));
    }
    #[cfg(not(unix))]
    let _ = seconds;
}

/// Caps the reader's address space: an allocation past it fails (and aborts the child) instead of
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
