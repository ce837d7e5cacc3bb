//! The PDF text layer through PDFium: page counts, words with boxes, lines, and hostile input.

mod common;

use std::path::PathBuf;

use common::fixtures::{self, TextRun, PAGE_HEIGHT, PAGE_WIDTH};
use docket::domain::text::{PageText, PageUnit};
use docket::pipeline::pdf::{self, PdfError};

fn init() {
    let path = std::env::var_os("DOCKET_PDFIUM_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/lib/docket/libpdfium.so"));
    pdf::init(&path).expect("PDFium should load");
}

fn line_texts(page: &PageText) -> Vec<String> {
    page.lines.iter().map(|l| l.text()).collect()
}

fn invoice_runs() -> Vec<Vec<TextRun>> {
    vec![
        vec![
            TextRun::new(72.0, 100.0, 12.0, "Invoice No: 2024/17"),
            TextRun::new(72.0, 300.0, 12.0, "Total 1.234,56 EUR"),
            // Drawn last but highest on the page: lines must come out top to bottom.
            TextRun::new(300.0, 60.0, 18.0, "ACME GmbH"),
        ],
        vec![TextRun::new(72.0, 72.0, 12.0, "Page two")],
    ]
}

#[test]
fn two_page_pdf_gives_words_lines_and_boxes() {
    init();
    let pages = invoice_runs();
    let bytes = fixtures::text_pdf(&pages);
    assert_eq!(pdf::page_count(&bytes).unwrap(), 2);

    let text = pdf::extract_text(&bytes).unwrap();
    assert_eq!(text.len(), 2);
    for (i, page) in text.iter().enumerate() {
        assert_eq!(page.page_number, i as u32 + 1);
        assert_eq!((page.width, page.height), (PAGE_WIDTH, PAGE_HEIGHT));
        assert_eq!(page.unit, PageUnit::Point);
    }
    assert_eq!(
        line_texts(&text[0]),
        ["ACME GmbH", "Invoice No: 2024/17", "Total 1.234,56 EUR"]
    );
    assert_eq!(line_texts(&text[1]), ["Page two"]);

    // Runs in line order, to compare each word's box with where Helvetica puts it.
    let expected = [
        (&pages[0][2], &text[0].lines[0]),
        (&pages[0][0], &text[0].lines[1]),
        (&pages[0][1], &text[0].lines[2]),
        (&pages[1][0], &text[1].lines[0]),
    ];
    for (run, line) in expected {
        let mut start = 0;
        let words: Vec<&str> = run.text.split(' ').collect();
        assert_eq!(line.words.len(), words.len());
        for (word, expected_text) in line.words.iter().zip(words) {
            assert_eq!(word.text, expected_text);
            assert_eq!(word.confidence, 1.0);
            let end = start + expected_text.len();
            let left = run.x + fixtures::helvetica_width(&run.text[..start], run.size);
            let right = run.x + fixtures::helvetica_width(&run.text[..end], run.size);
            let b = word.bbox;
            assert!(
                (b.left - left).abs() <= 1.0,
                "{word:?}: left should be ≈ {left}"
            );
            assert!(
                (b.right - right).abs() <= 2.0,
                "{word:?}: right should be ≈ {right}"
            );
            assert!(
                b.top < run.y_from_top && run.y_from_top < b.bottom,
                "{word:?}"
            );
            let ratio = b.height() / run.size;
            assert!(
                (0.6..=1.6).contains(&ratio),
                "{word:?}: height/size = {ratio}"
            );
            start = end + 1;
        }
    }
}

#[test]
fn words_split_on_wide_gaps_without_space_characters() {
    init();
    let size = 12.0;
    let foo = fixtures::helvetica_width("Foo", size);
    let gap = fixtures::helvetica_width("Far", size);
    let bytes = fixtures::text_pdf(&[vec![
        // Abutting runs make one word; a gap of 0.5 em (no space char) splits.
        TextRun::new(72.0, 100.0, size, "Foo"),
        TextRun::new(72.0 + foo, 100.0, size, "bar"),
        TextRun::new(72.0 + foo + gap + 0.5 * size, 100.0, size, "Baz"),
    ]]);
    let text = pdf::extract_text(&bytes).unwrap();
    assert_eq!(line_texts(&text[0]), ["Foobar Baz"]);
}

#[test]
fn boxes_are_measured_from_the_page_box_corner() {
    init();
    let bytes = fixtures::text_pdf(&[vec![TextRun::new(72.0, 100.0, 12.0, "Offset")]]);
    // Same length, so the xref offsets stay right: the page box now starts at (9, 9).
    let from: &[u8] = b"/MediaBox [0 0 595 842]";
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    let mut shifted = bytes.clone();
    shifted[at..at + from.len()].copy_from_slice(b"/MediaBox [9 9 604 851]");
    let text = pdf::extract_text(&shifted).unwrap();
    let word = &text[0].lines[0].words[0];
    assert_eq!(word.text, "Offset");
    assert!((word.bbox.left - 63.0).abs() <= 1.0, "{word:?}");
    // The baseline sits at user y 742, which is 851 - 742 = 109 below the top edge.
    assert!(
        word.bbox.top < 109.0 && 109.0 < word.bbox.bottom,
        "{word:?}"
    );
}

#[test]
fn page_without_text_has_no_lines() {
    init();
    let bytes = fixtures::text_pdf(&[vec![]]);
    assert_eq!(pdf::page_count(&bytes).unwrap(), 1);
    let text = pdf::extract_text(&bytes).unwrap();
    assert_eq!(text.len(), 1);
    assert!(text[0].lines.is_empty());
    assert_eq!((text[0].width, text[0].height), (PAGE_WIDTH, PAGE_HEIGHT));
}

#[test]
fn hostile_bytes_are_unreadable() {
    init();
    let valid = fixtures::text_pdf(&invoice_runs());
    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("garbage", b"this is not a PDF at all"),
        ("header only", b"%PDF-1.4\n%%EOF\n"),
        ("truncated", &valid[..valid.len() / 2]),
        ("png", &fixtures::png(4, 4)),
    ];
    for (name, bytes) in cases {
        assert!(
            matches!(pdf::page_count(bytes), Err(PdfError::Unreadable(_))),
            "{name}: page_count gave {:?}",
            pdf::page_count(bytes)
        );
        assert!(
            matches!(pdf::extract_text(bytes), Err(PdfError::Unreadable(_))),
            "{name}: extract_text should be Unreadable"
        );
    }
}

#[test]
fn encrypted_pdf_is_reported_as_such() {
    init();
    let bytes = fixtures::encrypted_pdf();
    assert!(matches!(pdf::page_count(&bytes), Err(PdfError::Encrypted)));
    assert!(matches!(
        pdf::extract_text(&bytes),
        Err(PdfError::Encrypted)
    ));
}
