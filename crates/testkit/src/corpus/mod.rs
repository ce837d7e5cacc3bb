//! Deterministic test and benchmark documents with exact ground truth: Portuguese-style
//! invoices (truth, born-digital PDF, phone/scanner captures, scanned PDFs, multi-page TIFFs)
//! and hostile inputs (a PNG decompression bomb, a PDF with thousands of pages, a PDF that
//! floods PDFium), and e-invoices (the invoice PDF with its Factur-X CII XML attached).
//!
//! Everything is a pure function of its arguments and seed, so tests and the benchmark can
//! regenerate the same corpus instead of committing binary fixtures.

mod einvoice;
mod fonts;
mod hostile;
mod invoice;
mod layout;
mod scan;

pub use einvoice::{cii_xml, einvoice_pdf};
pub use hostile::{bomb_png, huge_image_pdf, many_page_pdf, operator_flood_pdf};
pub use invoice::{invoice_in, invoices};
pub use layout::{german_receipt_pdf, invoice_pdf, ruled_text_table_pdf, till_receipt_pdf};
pub use scan::{image_pdf, multipage_tiff, scan_jpeg, scan_png, small_qr_capture, SmallQr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Language {
    Portuguese,
    English,
    /// American English: dates month first, no VAT but a sales tax.
    AmericanEnglish,
    German,
    French,
    Spanish,
    Dutch,
    Italian,
}

impl Language {
    pub const ALL: [Language; 8] = [
        Language::Portuguese,
        Language::English,
        Language::AmericanEnglish,
        Language::German,
        Language::French,
        Language::Spanish,
        Language::Dutch,
        Language::Italian,
    ];

    /// Portuguese invoices carry the tax authority's QR code and ATCUD, and so do the English
    /// ones (a Portuguese issuer's English copy); the others are read from the page alone.
    pub fn has_fiscal_qr(self) -> bool {
        matches!(self, Language::Portuguese | Language::English)
    }
}

/// What an invoice says, exactly; the documents are rendered from this and nothing else.
/// Amounts are decimal strings with two places and no grouping ("1234.56"), dates ISO.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InvoiceTruth {
    pub language: Language,
    pub supplier_name: String,
    /// Street and postal-code/city lines, printed under the supplier name.
    pub supplier_address: Vec<String>,
    /// A valid Portuguese NIF, nine digits.
    pub supplier_tax_id: String,
    pub customer_name: String,
    pub customer_address: Vec<String>,
    /// A valid Portuguese NIF, nine digits.
    pub customer_tax_id: String,
    /// Document type, series and number, e.g. "FT A2024/123".
    pub invoice_number: String,
    /// Validation code and the document's sequential number, e.g. "CSDF7T5H-123".
    pub atcud: String,
    pub invoice_date: String,
    pub due_date: String,
    pub currency: String,
    /// A valid Portuguese IBAN, compact (no spaces).
    pub iban: String,
    pub lines: Vec<InvoiceLine>,
    pub net_total: String,
    pub tax_total: String,
    pub gross_total: String,
    /// One band per VAT rate used, highest rate first.
    pub vat_breakdown: Vec<VatBand>,
    /// The AT fiscal QR payload ("A:…*B:…*…*R:…") consistent with the fields above.
    pub qr_payload: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InvoiceLine {
    pub description: String,
    /// A decimal without trailing zeros: "3", "2.5".
    pub quantity: String,
    pub unit_price: String,
    /// "23.00", "13.00" or "6.00".
    pub vat_rate: String,
    /// quantity × unit price, rounded half up to the cent, before VAT.
    pub total: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VatBand {
    pub rate: String,
    pub base: String,
    pub amount: String,
}

/// splitmix64: tiny, fast and good enough to make varied documents; its output for a seed
/// never changes, unlike a library RNG's across versions.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high` (the modulo bias is irrelevant for test data).
    pub(crate) fn range(&mut self, low: i64, high: i64) -> i64 {
        let span = high.saturating_sub(low).max(0) as u64 + 1;
        low + (self.next_u64() % span) as i64
    }

    /// An element of a non-empty table.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

#[cfg(test)]
pub fn init_pdfium() {
    docket_pipeline::pdf::init(std::path::Path::new(docket_pipeline::pdf::DEFAULT_LIBRARY))
        .expect("PDFium should load; run scripts/setup.sh");
}

/// The README walk-through's sample document, `samples/invoice.pdf`: the first generated invoice.
pub fn walkthrough_invoice() -> Vec<u8> {
    invoices(1, 17)
        .first()
        .map(layout::invoice_pdf)
        .unwrap_or_default()
}

#[cfg(test)]
mod samples {
    use std::time::Instant;

    use super::*;

    /// The shipped sample is what the generator makes; `DOCKET_WRITE_SAMPLE=1` rewrites it.
    #[test]
    fn the_shipped_sample_is_the_generated_invoice() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/invoice.pdf");
        let generated = walkthrough_invoice();
        if std::env::var_os("DOCKET_WRITE_SAMPLE").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        assert!(
            std::fs::read(&path).unwrap() == generated,
            "samples/invoice.pdf is stale: run with DOCKET_WRITE_SAMPLE=1"
        );
    }

    /// Writes one of each document to /tmp/corpus-samples for eyeballing, with timings:
    /// `cargo test -p docket-testkit --lib corpus::samples -- --ignored --nocapture`.
    #[test]
    #[ignore = "writes files for manual inspection"]
    fn write_samples() {
        init_pdfium();
        let dir = std::path::Path::new("/tmp/corpus-samples");
        std::fs::create_dir_all(dir).unwrap();

        let started = Instant::now();
        let corpus = invoices(100, 1);
        let pdfs: Vec<Vec<u8>> = corpus.iter().map(invoice_pdf).collect();
        let per_invoice = started.elapsed() / 100;
        println!("truth + PDF: {per_invoice:?} per invoice");

        for (i, name) in [(0, "invoice-pt"), (1, "invoice-en")] {
            std::fs::write(dir.join(format!("{name}.pdf")), &pdfs[i]).unwrap();
            let truth = serde_json::to_string_pretty(&corpus[i]).unwrap();
            std::fs::write(dir.join(format!("{name}.json")), truth).unwrap();
            let document = docket_pipeline::pdf::Document::open(&pdfs[i]).unwrap();
            let page = document.render(0, 110.0, 4000).unwrap().image;
            page.save(dir.join(format!("{name}-render.png"))).unwrap();
        }
        let started = Instant::now();
        let png = scan_png(&pdfs[0], 200.0, 1.5, 7).unwrap();
        println!("scan_png at 200 dpi: {:?}", started.elapsed());
        std::fs::write(dir.join("scan.png"), &png).unwrap();
        let started = Instant::now();
        let jpeg = scan_jpeg(&pdfs[1], 150.0, -1.0, 8).unwrap();
        println!("scan_jpeg at 150 dpi: {:?}", started.elapsed());
        std::fs::write(dir.join("scan.jpg"), &jpeg).unwrap();
        std::fs::write(dir.join("scanned.pdf"), image_pdf(&[jpeg])).unwrap();
        let started = Instant::now();
        let many = many_page_pdf(2000);
        println!(
            "many_page_pdf(2000): {:?}, {} bytes",
            started.elapsed(),
            many.len()
        );
        std::fs::write(dir.join("many-pages.pdf"), many).unwrap();
        std::fs::write(dir.join("bomb.png"), bomb_png()).unwrap();
    }
}
