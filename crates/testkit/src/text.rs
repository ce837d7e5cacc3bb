//! Recognised text built by hand, for tests of what reads it: lines laid out in a monospace
//! font, and pages of them.

use docket_domain::text::{Line, PageText, PageUnit, Rect, Word};

/// A line laid out in a monospace font: 6pt per character, 10pt high; runs of three or
/// more spaces leave column gaps.
pub fn line_at(x: f64, top: f64, text: &str, confidence: f64) -> Line {
    let mut words = Vec::new();
    let mut left = x;
    for part in text.split(' ') {
        let width = 6.0 * part.chars().count() as f64;
        if !part.is_empty() {
            let bbox = Rect {
                left,
                top,
                right: left + width,
                bottom: top + 10.0,
            };
            words.push(Word {
                text: part.to_string(),
                bbox,
                confidence,
            });
        }
        left += width + 6.0;
    }
    Line { words }
}

/// A page of the given lines, A4 in points.
pub fn page_of(number: u32, lines: Vec<Line>) -> PageText {
    PageText {
        page_number: number,
        width: 595.0,
        height: 842.0,
        unit: PageUnit::Point,
        lines,
    }
}

/// Lines at 20pt steps from the top, all starting at x = 40, on page 1.
pub fn page(rows: &[&str]) -> PageText {
    let lines = rows
        .iter()
        .enumerate()
        .map(|(i, r)| line_at(40.0, 40.0 + 20.0 * i as f64, r, 1.0));
    page_of(1, lines.collect())
}
