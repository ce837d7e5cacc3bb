//! `docket-bench recognition`: throughput, latency, peak memory and field accuracy of the recognition
//! pipeline on the generated corpus, with bare Tesseract (its command-line tool) on the same
//! scanned pages as the reference, in one run. It measures; nothing here asserts a timing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::corpus::{self, InvoiceTruth};
use docket_pipeline::pdf;
use docket_pipeline::recognize::{self, Options, Recognition};
use docket_pipeline::sandbox::{self, Message, ReaderSlot, SandboxConfig};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Folders of real documents with truth files (`../shared/testdata/realdocs`), measured
    /// with `docket eval` after the generated corpus.
    pub real_documents: Option<PathBuf>,
    pub invoices: usize,
    pub scans: usize,
    /// Pages of the scanned PDF used to show memory follows pages, not document size.
    pub long_scan_pages: u32,
    pub threads: usize,
    pub languages: String,
    pub pdfium_library: PathBuf,
}

const SEED: u64 = 2026;

pub fn run(options: &BenchOptions) -> anyhow::Result<()> {
    pdf::init(&options.pdfium_library)?;
    let recognize_options = Options {
        languages: options.languages.clone(),
        invoice_fields: true,
        receipt_fields: false,
        embedded_invoice: true,
    };
    eprintln!(
        "generating {} invoices and {} scans…",
        options.invoices, options.scans
    );
    let truths = corpus::invoices(options.invoices.max(1), SEED);
    let pdfs: Vec<Vec<u8>> = truths.iter().map(corpus::invoice_pdf).collect();
    let scans = pdfs
        .iter()
        .take(options.scans.max(1))
        .enumerate()
        .map(|(i, pdf)| corpus::scan_png(pdf, 300.0, 0.6 + 0.4 * i as f32, SEED + i as u64))
        .collect::<anyhow::Result<Vec<_>>>()?;

    println!("== throughput (pages/s) and latency (ms per page) ==");
    let born_digital = measure("born-digital PDF, 1 thread", &pdfs, 1, &recognize_options)?;
    measure(
        &format!("born-digital PDF, {} threads", options.threads),
        &pdfs,
        options.threads,
        &recognize_options,
    )?;
    // How the server reads: one child process per document, so PDFium's process-wide lock no
    // longer serialises the machine.
    let readers = SandboxConfig::new(options.pdfium_library.clone());
    let one = measure_readers(
        "born-digital PDF, 1 reader process",
        &pdfs,
        1,
        &readers,
        options,
    )?;
    let many = measure_readers(
        &format!("born-digital PDF, {} reader processes", options.threads),
        &pdfs,
        options.threads,
        &readers,
        options,
    )?;
    println!(
        "reader processes: {} at once read {:.2}× the pages/s of one",
        options.threads,
        one.as_secs_f64() / many.as_secs_f64()
    );
    let scanned = measure(
        "scanned page (PNG, OCR), 1 thread",
        &scans,
        1,
        &recognize_options,
    )?;
    measure(
        &format!("scanned page, {} threads", options.threads),
        &scans,
        options.threads,
        &recognize_options,
    )?;
    match tesseract_cli(&scans, &options.languages) {
        Ok(reference) => {
            let ours = scanned.elapsed.as_secs_f64() / scanned.pages as f64;
            let theirs = reference.as_secs_f64() / scans.len() as f64;
            println!(
                "tesseract CLI, same pages, 1 thread: {:.1} ms/page; docket/tesseract time ratio {:.2}",
                theirs * 1000.0,
                ours / theirs
            );
        }
        Err(e) => println!("tesseract CLI reference not run: {e:#}"),
    }

    println!("== memory (peak resident set while recognising one scanned PDF) ==");
    let page = corpus::scan_jpeg(&pdfs[0], 300.0, 0.8, SEED)?;
    for pages in [1, options.long_scan_pages.max(2)] {
        let document = corpus::image_pdf(&vec![page.clone(); pages as usize]);
        reset_peak_memory();
        let before = peak_memory_kib().unwrap_or(0);
        recognize::recognize(&document, &recognize_options).map_err(|e| anyhow::anyhow!(e.0))?;
        let peak = peak_memory_kib().unwrap_or(0);
        println!(
            "{pages:>3} pages ({:>6} KiB file): peak {} MiB, {} MiB above the resident set before",
            document.len() / 1024,
            peak / 1024,
            peak.saturating_sub(before) / 1024
        );
    }

    println!("== field accuracy (invoice fields and IBAN against the generator's ground truth) ==");
    accuracy("born-digital", &truths, &born_digital.results);
    accuracy(
        "scanned",
        &truths[..scans.len().min(truths.len())],
        &scanned.results,
    );
    real_documents(options)
}

/// `docket eval` on the real development documents, each set read from the page (embedded
/// e-invoice XML ignored), and a set holding PDFs again rendered as 200 dpi scans (rendering
/// leaves images as they are, so an image set would only be read twice).
fn real_documents(options: &BenchOptions) -> anyhow::Result<()> {
    let Some(root) = options.real_documents.as_ref().filter(|d| d.is_dir()) else {
        println!("== real documents: none (pass --real-documents DIR) ==");
        return Ok(());
    };
    let mut sets: Vec<_> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    for set in sets {
        let renderings = if holds_pdfs(&set)? {
            &[None, Some(200.0)][..]
        } else {
            &[None]
        };
        for &as_images in renderings {
            let rendered =
                as_images.map_or(String::new(), |dpi| format!(", rendered at {dpi} dpi"));
            println!("== real documents: {}{rendered} ==", set.display());
            docket::eval::run(&docket::eval::EvalOptions {
                dir: set.clone(),
                languages: docket_domain::workspace::AUTO_LANGUAGES.to_owned(),
                readers: options.threads,
                pdfium_library: options.pdfium_library.clone(),
                ignore_embedded: true,
                embedded_truth: false,
                text_dir: None,
                learn: false,
                as_images,
            })?;
        }
    }
    Ok(())
}

fn holds_pdfs(dir: &Path) -> anyhow::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let pdf = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
        if pdf || (path.is_dir() && holds_pdfs(&path)?) {
            return Ok(true);
        }
    }
    Ok(false)
}

struct Measured {
    pages: usize,
    elapsed: Duration,
    results: Vec<Recognition>,
}

/// Reads every document in sandboxed reader processes, `at_once` at a time, as the server's
/// workers do; prints throughput and returns the time taken.
fn measure_readers(
    label: &str,
    documents: &[Vec<u8>],
    at_once: usize,
    config: &SandboxConfig,
    options: &BenchOptions,
) -> anyhow::Result<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    // Each of `at_once` workers reads its share with one kept reader, as the server does.
    let share = documents.len().div_ceil(at_once.max(1)).max(1);
    let pages = runtime.block_on(async {
        let mut reads = tokio::task::JoinSet::new();
        for chunk in documents.chunks(share) {
            let (config, chunk) = (config.clone(), chunk.to_vec());
            let languages = options.languages.clone();
            reads.spawn(async move {
                let mut slot = ReaderSlot::default();
                let job = sandbox::Job::Recognize {
                    languages,
                    first: 0,
                    count: u32::MAX,
                };
                let mut pages = 0usize;
                for document in &chunk {
                    let mut reader = slot.start(&config, 0, &job, document).await?;
                    loop {
                        match reader.next().await? {
                            Message::Page { .. } => pages += 1,
                            Message::Done => break,
                            other => anyhow::bail!("the reader answered {other:?}"),
                        }
                    }
                }
                anyhow::Ok(pages)
            });
        }
        let mut pages = 0;
        while let Some(read) = reads.join_next().await {
            pages += read??;
        }
        anyhow::Ok(pages)
    })?;
    let elapsed = started.elapsed();
    println!(
        "{label}: {pages} pages in {:.2} s = {:.1} pages/s",
        elapsed.as_secs_f64(),
        pages as f64 / elapsed.as_secs_f64()
    );
    Ok(elapsed)
}

/// Recognises every document on `threads` threads, printing progress, throughput and latency.
fn measure(
    label: &str,
    documents: &[Vec<u8>],
    threads: usize,
    options: &Options,
) -> anyhow::Result<Measured> {
    let threads = threads.clamp(1, documents.len().max(1));
    let started = Instant::now();
    let per_thread = documents.len().div_ceil(threads);
    let outcomes: Vec<anyhow::Result<(Duration, Recognition)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = documents
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|document| {
                            let start = Instant::now();
                            let result = recognize::recognize(document, options)
                                .map_err(|e| anyhow::anyhow!(e.0))?;
                            Ok((start.elapsed(), result))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed();
    let mut latencies = Vec::new();
    let mut results = Vec::new();
    for outcome in outcomes {
        let (latency, result) = outcome?;
        latencies.push(latency.as_secs_f64() * 1000.0 / result.pages.len().max(1) as f64);
        results.push(result);
    }
    let pages: usize = results.iter().map(|r| r.pages.len()).sum();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{label}: {pages} pages in {:.2} s = {:.1} pages/s; per page p50 {:.1} ms, p95 {:.1} ms",
        elapsed.as_secs_f64(),
        pages as f64 / elapsed.as_secs_f64(),
        percentile(0.5),
        percentile(0.95)
    );
    Ok(Measured {
        pages,
        elapsed,
        results,
    })
}

/// The same scanned pages through the `tesseract` command-line tool, one at a time, single
/// threaded, with the page segmentation and languages docket uses.
fn tesseract_cli(scans: &[Vec<u8>], languages: &str) -> anyhow::Result<Duration> {
    let dir = std::env::temp_dir().join(format!("docket-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let paths: Vec<PathBuf> = scans
        .iter()
        .enumerate()
        .map(|(i, png)| {
            let path = dir.join(format!("scan-{i}.png"));
            std::fs::write(&path, png).map(|_| path)
        })
        .collect::<std::io::Result<_>>()?;
    let started = Instant::now();
    for path in &paths {
        let status = Command::new("tesseract")
            .arg(path)
            .arg("-")
            .args(["--psm", "1", "-l", languages, "tsv"])
            .env("OMP_THREAD_LIMIT", "1")
            .output()
            .context("cannot run tesseract (apt-get install tesseract-ocr)")?
            .status;
        anyhow::ensure!(status.success(), "tesseract failed on {}", path.display());
    }
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(elapsed)
}

/// Field-level precision and recall over the categories the ground truth states: a predicted
/// field is right when its normalised value equals the ground truth's.
fn accuracy(label: &str, truths: &[InvoiceTruth], results: &[Recognition]) {
    let mut expected_total = 0;
    let mut predicted_total = 0;
    let mut correct_total = 0;
    let mut misses: BTreeMap<String, usize> = BTreeMap::new();
    for (truth, result) in truths.iter().zip(results) {
        let expected: BTreeMap<String, String> = truth
            .expected_fields()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        let understanding = &result.understanding;
        let mut predicted: BTreeMap<String, String> = understanding
            .invoice
            .iter()
            .map(|f| (f.category_normalized.clone(), f.content_normalized.clone()))
            .collect();
        if let Some(iban) = understanding
            .key_values
            .iter()
            .find(|f| f.category_normalized == "Iban")
        {
            predicted.insert("Iban".into(), iban.content_normalized.clone());
        }
        expected_total += expected.len();
        // Only categories the generator states are scored (as `docket eval` does): a supplier
        // name it does not record is not a wrong field.
        predicted_total += predicted
            .keys()
            .filter(|k| expected.contains_key(*k))
            .count();
        for (name, value) in &expected {
            if predicted.get(name) == Some(value) {
                correct_total += 1;
            } else {
                *misses.entry(name.clone()).or_default() += 1;
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    println!(
        "{label}: {} documents, precision {:.3}, recall {:.3} ({correct_total} of {expected_total} fields right, {predicted_total} predicted)",
        truths.len().min(results.len()),
        ratio(correct_total, predicted_total),
        ratio(correct_total, expected_total)
    );
    if !misses.is_empty() {
        let list: Vec<String> = misses
            .iter()
            .map(|(name, n)| format!("{name} ×{n}"))
            .collect();
        println!("  missed or wrong: {}", list.join(", "));
    }
}

/// Resets the kernel's peak-RSS counter for this process (Linux), so the next reading is the
/// peak of what follows.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
