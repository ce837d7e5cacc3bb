//! Recognition of the generated corpus through the pipeline's public entry point. Here, not in
//! the pipeline's own tests: the corpus binds PDFium through its copy of the pipeline, and a
//! process can bind PDFium once.

use std::path::Path;

use docket_pipeline::pdf;
use docket_pipeline::recognize::{recognize, Options};
use docket_testkit::corpus::{self, Language};

/// Every field of a born-digital invoice in each corpus language, read from the page (the
/// languages without a fiscal QR code have nothing else to go by).
#[test]
fn invoices_in_every_language_are_read_from_the_page() {
    pdf::init(Path::new(pdf::DEFAULT_LIBRARY)).unwrap();
    let options = Options {
        languages: "eng".into(),
        invoice_fields: true,
        receipt_fields: false,
        embedded_invoice: true,
    };
    let mut misses = Vec::new();
    let seeds = 0..6u64;
    let all = Language::ALL
        .into_iter()
        .flat_map(|l| seeds.clone().map(move |s| (l, s)));
    for (language, seed) in all {
        let truth = corpus::invoice_in(language, seed);
        if language == Language::AmericanEnglish && !truth.dates_are_unambiguous() {
            continue;
        }
        let read = recognize(&corpus::invoice_pdf(&truth), &options).unwrap();
        let understanding = &read.understanding;
        for (name, value) in truth.expected_fields() {
            let found = understanding
                .invoice
                .iter()
                .chain(&understanding.key_values)
                .find(|f| f.category_normalized == name);
            if found.is_none_or(|f| f.content_normalized != value) {
                let got = found.map(|f| f.content_normalized.as_str());
                misses.push(format!(
                    "{language:?} #{seed} {name}: {value} read as {got:?}"
                ));
            }
        }
    }
    assert!(misses.is_empty(), "{misses:#?}");
}
