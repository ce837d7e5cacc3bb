//! `docket eval DIR`: reads every document that has a `NAME.truth.json` beside it through the
//! server's own pipeline (a sandboxed document reader, then understanding) and prints per-field
//! precision and recall, how often fields are right per confidence band, and every miss. It
//! measures; nothing here asserts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::domain::text::PageText;
use crate::domain::understanding::{Field, Understanding};
use crate::pipeline::recognize::{self, Options, RecognizedPage};
use crate::pipeline::sandbox::{self, Message, ReaderSlot, SandboxConfig};

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub dir: PathBuf,
    pub languages: String,
    /// Documents read at once, each by its own reader process.
    pub readers: usize,
    pub pdfium_library: PathBuf,
    /// Render PDFs at this many dpi into image-only PDFs first: measures reading them as scans.
    pub as_images: Option<f64>,
    /// Where to write each document's recognised lines (`NAME.txt`), to see why a field was
    /// missed.
    pub text_dir: Option<PathBuf>,
    /// Read invoice fields from the page only, not from embedded e-invoice XML.
    pub ignore_embedded: bool,
    /// Score the fields an embedded e-invoice states beyond the truth file, against the XML.
    pub embedded_truth: bool,
    /// Also measure learning from corrections: documents in name order, each read with what
    /// its supplier's earlier documents taught once a reviewer corrected them to the truth.
    pub learn: bool,
}

/// `NAME.truth.json`: the values a reader must find in `document` (a path beside it).
#[derive(Debug, Deserialize)]
struct Truth {
    document: String,
    fields: BTreeMap<String, String>,
}

/// One document's expected and found fields.
struct Scored {
    document: PathBuf,
    expected: BTreeMap<String, String>,
    /// Category → (normalised value, confidence); the first found of each category.
    found: BTreeMap<String, (String, f64)>,
    pages: Vec<PageText>,
    /// Everything found, for the text dump.
    fields: Vec<Field>,
    /// Item rows found in line-item tables.
    item_rows: usize,
    understanding: Understanding,
}

/// Confidence bands of the calibration table, lower bounds.
const BANDS: [f64; 5] = [0.0, 0.5, 0.7, 0.9, 0.95];

pub fn run(options: &EvalOptions) -> anyhow::Result<()> {
    let mut truths = Vec::new();
    collect_truths(&options.dir, &mut truths)?;
    truths.sort();
    anyhow::ensure!(
        !truths.is_empty(),
        "no NAME.truth.json files under {}",
        options.dir.display()
    );
    let readers = SandboxConfig::new(options.pdfium_library.clone());
    if options.as_images.is_some() {
        crate::pipeline::pdf::init(&options.pdfium_library)?;
    }
    let understanding = Options {
        languages: options.languages.clone(),
        invoice_fields: true,
        receipt_fields: true,
        embedded_invoice: !options.ignore_embedded,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let total = truths.len();
    let share = total.div_ceil(options.readers.max(1)).max(1);
    let scored = runtime.block_on(async {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut reads = tokio::task::JoinSet::new();
        for chunk in truths.chunks(share) {
            let (chunk, readers) = (chunk.to_vec(), readers.clone());
            let (understanding, done) = (understanding.clone(), done.clone());
            let text_dir = options.text_dir.clone();
            let (as_images, embedded_truth) = (options.as_images, options.embedded_truth);
            reads.spawn(async move {
                let mut slot = ReaderSlot::default();
                let mut scored = Vec::new();
                for truth in chunk {
                    let result = score(
                        &truth,
                        &mut slot,
                        &readers,
                        &understanding,
                        (as_images, embedded_truth),
                    )
                    .await;
                    if let (Ok(scored), Some(dir)) = (&result, &text_dir) {
                        write_text(dir, scored)?;
                    }
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    eprintln!("[{n}/{total}] {}", truth.display());
                    scored.push(result?);
                }
                anyhow::Ok(scored)
            });
        }
        let mut all = Vec::new();
        while let Some(read) = reads.join_next().await {
            all.extend(read??);
        }
        anyhow::Ok(all)
    })?;
    report(&scored);
    if options.learn {
        learning_report(scored);
    }
    Ok(())
}

/// The value of a field as a client finds it: invoice and receipt fields, then key-values.
fn found_in<'a>(understanding: &'a Understanding, category: &str) -> Option<&'a str> {
    let fields = understanding.invoice.iter().chain(&understanding.receipt);
    fields
        .chain(&understanding.key_values)
        .find(|f| f.category_normalized == category)
        .map(|f| f.content_normalized.as_str())
}

/// Simulated review with learning: documents in name order, grouped by supplier as read (its
/// tax id, else its name, as the server keys them). Each document is read with the rules its
/// supplier's earlier documents taught; then its reviewer corrects every field still wrong to
/// the truth, and docket learns from each correction whose value stands on the page. Prints,
/// over the documents whose supplier was seen before, the fields right without and with
/// learning.
fn learning_report(mut scored: Vec<Scored>) {
    use crate::domain::learning::{supplier_key, LearnedRule};
    use crate::domain::review::FieldKind;
    use crate::extract::learning;
    scored.sort_by(|a, b| a.document.cmp(&b.document));
    let mut taught: BTreeMap<String, Vec<LearnedRule>> = BTreeMap::new();
    let (mut documents, mut fields, mut before, mut after, mut rules_learnt) = (0, 0, 0, 0, 0);
    for doc in &scored {
        // The supplier as read, as the server keys it.
        let Some(supplier) = supplier_key(&doc.understanding) else {
            continue;
        };
        let mut understanding = doc.understanding.clone();
        if let Some(rules) = taught.get(&supplier) {
            learning::apply(&doc.pages, &mut understanding, rules);
            documents += 1;
            for (category, expected) in &doc.expected {
                let right = |u: &Understanding| {
                    found_in(u, category).is_some_and(|got| is_right(category, got, expected))
                };
                fields += 1;
                before += usize::from(right(&doc.understanding));
                after += usize::from(right(&understanding));
            }
        }
        let kind = if doc.understanding.receipt.is_empty() {
            FieldKind::Invoice
        } else {
            FieldKind::Receipt
        };
        let rules = taught.entry(supplier).or_default();
        for (category, expected) in &doc.expected {
            let right = found_in(&understanding, category)
                .is_some_and(|got| is_right(category, got, expected));
            if right {
                continue;
            }
            let read_as = doc
                .understanding
                .invoice
                .iter()
                .chain(&doc.understanding.receipt)
                .find(|f| f.category_normalized == *category)
                .map(|f| f.content.as_str());
            if let Some(rule) = learning::learn(&doc.pages, kind, category, expected, read_as) {
                rules.retain(|r| r.category != rule.category);
                rules.push(rule);
                rules_learnt += 1;
            }
        }
    }
    println!();
    println!(
        "learning from corrections: {documents} documents of a supplier seen before, {rules_learnt} rules learnt"
    );
    println!(
        "  fields right without learning: {before} / {fields} ({:.3})",
        ratio(before, fields)
    );
    println!(
        "  fields right with learning:    {after} / {fields} ({:.3})",
        ratio(after, fields)
    );
}

fn collect_truths(dir: &Path, into: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_truths(&path, into)?;
        } else if path.to_string_lossy().ends_with(".truth.json") {
            into.push(path);
        }
    }
    Ok(())
}

/// Reads one document as the server would and pairs what it found with its truth. A document
/// the reader refuses or cannot finish scores as finding nothing.
async fn score(
    truth_path: &Path,
    slot: &mut ReaderSlot,
    readers: &SandboxConfig,
    options: &Options,
    (as_images, embedded_truth): (Option<f64>, bool),
) -> anyhow::Result<Scored> {
    let mut truth: Truth = serde_json::from_slice(&std::fs::read(truth_path)?)
        .with_context(|| format!("{} is not a truth file", truth_path.display()))?;
    let document = truth_path.with_file_name(&truth.document);
    let mut bytes =
        std::fs::read(&document).with_context(|| format!("cannot read {}", document.display()))?;
    // A rendered PDF loses its attachments: the XML is read before.
    let mut stated = None;
    if let Some(dpi) = as_images {
        if bytes.starts_with(b"%PDF") {
            let document = crate::pipeline::pdf::Document::open(&bytes)?;
            stated = recognize::embedded_invoice(&document);
            let images = rendered(&document, dpi)?;
            drop(document);
            bytes = images;
        }
    }
    let job = sandbox::Job::Recognize {
        languages: options.languages.clone(),
        first: 0,
        count: u32::MAX,
    };
    let mut pages: Vec<RecognizedPage> = Vec::new();
    let mut reader = slot.start(readers, 0, &job, &bytes).await?;
    loop {
        match reader.next().await {
            Ok(Message::Page { page, .. }) => pages.push(*page),
            Ok(Message::Done) => break,
            Ok(other) => {
                eprintln!("{}: {other:?}", document.display());
                pages.clear();
                break;
            }
            Err(e) => {
                eprintln!("{}: {e}", document.display());
                pages.clear();
                break;
            }
        }
    }
    if embedded_truth {
        let stated = stated
            .as_ref()
            .or_else(|| pages.iter().find_map(RecognizedPage::embedded));
        for field in stated.iter().flat_map(|s| &s.fields) {
            truth
                .fields
                .entry(field.category_normalized.clone())
                .or_insert_with(|| field.content_normalized.clone());
        }
    }
    let options = options.clone();
    let recognition =
        tokio::task::spawn_blocking(move || recognize::understand(pages, &options)).await?;
    // Invoice and receipt fields first; key-values fill categories they lack (an IBAN, say), as a client
    // reading the export's entities would find them.
    let understood = &recognition.understanding;
    let mut found = BTreeMap::new();
    let fields = understood.invoice.iter().chain(&understood.receipt);
    for field in fields.chain(&understood.key_values) {
        found
            .entry(field.category_normalized.clone())
            .or_insert((field.content_normalized.clone(), field.confidence));
    }
    let item_rows = understood
        .line_items
        .iter()
        .map(|items| items.table.row_count.saturating_sub(1) as usize)
        .sum();
    Ok(Scored {
        document,
        expected: truth.fields,
        found,
        item_rows,
        understanding: understood.clone(),
        pages: recognition.pages,
        fields: understood
            .invoice
            .iter()
            .chain(&understood.key_values)
            .cloned()
            .collect(),
    })
}

/// Every page of a PDF rendered at `dpi` into a PDF of JPEGs without a text layer or
/// attachments, as a scanner would deliver it.
fn rendered(document: &crate::pipeline::pdf::Document, dpi: f64) -> anyhow::Result<Vec<u8>> {
    let mut pages = Vec::new();
    for index in 0..document.page_count() {
        let image = document.render(index, dpi, 10_000)?.image;
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&image)?;
        pages.push(jpeg);
    }
    Ok(crate::pipeline::image_pdf::image_pdf(&pages))
}

/// One line per recognised line: page, top and left of the line, then its words.
fn write_text(dir: &Path, scored: &Scored) -> anyhow::Result<()> {
    use std::fmt::Write;
    let mut out = String::new();
    for page in &scored.pages {
        for line in &page.lines {
            if let Some(b) = line.bbox() {
                let _ = writeln!(
                    out,
                    "p{} {:>6.1} {:>6.1}  {}",
                    page.page_number,
                    b.top,
                    b.left,
                    line.text()
                );
            }
        }
    }
    let _ = writeln!(out, "== found (field: value, confidence, label as read)");
    for f in &scored.fields {
        let _ = writeln!(
            out,
            "p{} {}: {:?} {:.2} {:?}{}",
            f.page_number,
            f.category_normalized,
            f.content_normalized,
            f.confidence,
            f.category,
            f.issue
                .as_ref()
                .map_or(String::new(), |i| format!(" ({i})"))
        );
    }
    let name = scored.document.file_name().unwrap_or_default();
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name).with_extension("txt"), out)?;
    Ok(())
}

/// Values must be exactly the truth's, but an invoice address only names the same place (its
/// lines may break and its country be written differently), and a name, a receipt's address or
/// other text may differ in case, spacing and punctuation ("Best Denki Malaysia" is "BEST DENKI
/// MALAYSIA"; "G F. JALAN" is "G F ,JALAN"), not in a letter.
fn is_right(category: &str, got: &str, expected: &str) -> bool {
    use crate::extract::einvoice::{kind, Kind};
    use crate::extract::normalize::{fold, same_address};
    let words = |text: &str| {
        fold(text)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let kind = match category {
        "MerchantName" | "MerchantAddress" => Kind::Text,
        other => kind(other),
    };
    match kind {
        Kind::Address => same_address(got, expected),
        Kind::Text => words(got) == words(expected),
        _ => got == expected,
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Per-field precision and recall (a field is scored only where the truth has it), the
/// calibration table, and the misses.
fn report(scored: &[Scored]) {
    #[derive(Default)]
    struct Tally {
        expected: usize,
        predicted: usize,
        right: usize,
    }
    impl Tally {
        fn print(&self, name: &str) {
            println!(
                "{name:<20}  {:>9.3}  {:>6.3}  ({} / {} / {})",
                ratio(self.right, self.predicted),
                ratio(self.right, self.expected),
                self.right,
                self.predicted,
                self.expected
            );
        }
    }
    let mut per_field: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut bands = [(0usize, 0usize); BANDS.len()];
    let mut misses = Vec::new();
    for doc in scored {
        for (name, value) in &doc.expected {
            let tally = per_field.entry(name).or_default();
            tally.expected += 1;
            let found = doc.found.get(name);
            if let Some((got, confidence)) = found {
                tally.predicted += 1;
                let right = is_right(name, got, value);
                tally.right += usize::from(right);
                let band = BANDS.iter().rposition(|low| confidence >= low).unwrap_or(0);
                bands[band].0 += 1;
                bands[band].1 += usize::from(right);
            }
            if found.is_none_or(|(got, _)| !is_right(name, got, value)) {
                let got = found.map_or("—", |(got, _)| got.as_str());
                misses.push(format!(
                    "  {}: {name} expected {value:?}, got {got:?}",
                    doc.document.display()
                ));
            }
        }
    }
    println!("== fields ({} documents) ==", scored.len());
    println!("field                 precision  recall  (right / predicted / expected)");
    let mut all = Tally::default();
    for (name, t) in &per_field {
        t.print(name);
        all.expected += t.expected;
        all.predicted += t.predicted;
        all.right += t.right;
    }
    all.print("all");
    let with_items = scored.iter().filter(|s| s.item_rows > 0).count();
    let rows: usize = scored.iter().map(|s| s.item_rows).sum();
    println!(
        "line items: {rows} rows in {with_items} of {} documents",
        scored.len()
    );
    println!("== calibration (confidence band: share right) ==");
    for (i, low) in BANDS.iter().enumerate() {
        let high = BANDS.get(i + 1).copied().unwrap_or(1.0);
        let (n, right) = bands[i];
        println!(
            "[{low:.2}, {high:.2}{}: {:.3} of {n}",
            if i + 1 == BANDS.len() { "]" } else { ")" },
            ratio(right, n)
        );
    }
    println!("== misses ({}) ==", misses.len());
    for miss in misses {
        println!("{miss}");
    }
}

#[cfg(test)]
mod tests {
    use super::is_right;

    #[test]
    fn names_compare_without_case_and_marks_but_letters_count() {
        assert!(is_right(
            "MerchantName",
            "Best Denki Malaysia",
            "BEST DENKI MALAYSIA"
        ));
        assert!(is_right(
            "MerchantAddress",
            "NO 33, 35, G F. JALAN TEMENGGUNG 3/9",
            "NO 33, 35, G F ,JALAN TEMENGGUNG 3/9"
        ));
        assert!(!is_right(
            "MerchantAddress",
            "LOT P.T. 2811, TAMAH BERKELEY",
            "LOT P.T. 2811, TAMAN BERKELEY"
        ));
        assert!(!is_right(
            "MerchantName",
            "SANYO STATIONERY",
            "SANYU STATIONERY"
        ));
        assert!(is_right(
            "SupplierAddress",
            "Musterstr. 12\n12345 Musterstadt",
            "Musterstr. 12, 12345 Musterstadt, DE"
        ));
        assert!(!is_right("GrossTotal", "10.00", "10.0"));
    }
}
