//! Learning from corrections: where a reviewer's value for a field sits on the page gives a
//! rule (the label before it, the value's shape); on the supplier's next documents the rule
//! finds the field the same way, as strong evidence over what the general reading found.

use docket_domain::learning::{fold, shape, LearnedRule};
use docket_domain::review::FieldKind;
use docket_domain::text::{Line, PageText, Rect, Word};
use docket_domain::understanding::{Field, Understanding};

/// Confidence of a field found by a supplier's rule.
const LEARNED_CONFIDENCE: f64 = 0.99;
/// Words of a label kept at most (the ones nearest the value).
const LABEL_WORDS: usize = 4;

/// Where `value` is on the pages: page, line index and the range of its words.
fn locate<'a>(pages: &'a [PageText], value: &str) -> Option<(&'a PageText, usize, usize, usize)> {
    let wanted = fold(value);
    if wanted.is_empty() {
        return None;
    }
    for page in pages {
        for (l, line) in page.lines.iter().enumerate() {
            for start in 0..line.words.len() {
                let mut joined = String::new();
                for end in start..line.words.len() {
                    joined.push_str(&fold(&line.words[end].text));
                    if joined == wanted {
                        return Some((page, l, start, end + 1));
                    }
                    if !wanted.starts_with(&joined) {
                        break;
                    }
                }
            }
        }
    }
    None
}

fn words_text(words: &[Word]) -> String {
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    texts.join(" ")
}

/// The rule a corrected value gives, when the value is on the page with a label before it.
pub fn derive_rule(
    pages: &[PageText],
    kind: FieldKind,
    category: &str,
    value: &str,
) -> Option<LearnedRule> {
    let (page, l, start, _) = locate(pages, value)?;
    let line = &page.lines[l];
    let before = &line.words[start.saturating_sub(LABEL_WORDS)..start];
    let label = if before.is_empty() {
        // The label stands above the value.
        let above = l.checked_sub(1).map(|i| &page.lines[i])?;
        let words = &above.words[above.words.len().saturating_sub(LABEL_WORDS)..];
        fold(&words_text(words))
    } else {
        fold(&words_text(before))
    };
    (label.chars().count() >= 2).then(|| LearnedRule {
        kind,
        category: category.to_owned(),
        label,
        shape: shape(value),
    })
}

/// The value a rule finds: words after its label on the label's line (or, when the label ends
/// its line, the start of the next line) whose text has the rule's shape.
fn find(pages: &[PageText], rule: &LearnedRule) -> Option<(u32, String, Rect)> {
    for page in pages {
        for (l, line) in page.lines.iter().enumerate() {
            let Some(after) = label_end(line, &rule.label) else {
                continue;
            };
            let rest = &line.words[after..];
            let candidates = if rest.is_empty() {
                page.lines
                    .get(l + 1)
                    .map_or(&[][..], |next| &next.words[..])
            } else {
                rest
            };
            for start in 0..candidates.len() {
                for end in start + 1..=candidates.len().min(start + 8) {
                    let words = &candidates[start..end];
                    let text = words_text(words);
                    if shape(&text) == rule.shape {
                        let bbox = words[1..]
                            .iter()
                            .fold(words[0].bbox, |b, w| b.union(&w.bbox));
                        return Some((page.page_number, text, bbox));
                    }
                }
            }
        }
    }
    None
}

/// Index of the first word after the label in the line, when the line holds the label.
fn label_end(line: &Line, label: &str) -> Option<usize> {
    let mut folded = String::new();
    for (i, word) in line.words.iter().enumerate() {
        folded.push_str(&fold(&word.text));
        if folded.ends_with(label) {
            return Some(i + 1);
        }
    }
    None
}

/// Applies the supplier's rules: each field a rule finds takes the value it found, with high
/// confidence. Returns the categories changed.
pub fn apply(
    pages: &[PageText],
    understanding: &mut Understanding,
    rules: &[LearnedRule],
) -> Vec<String> {
    let mut changed = Vec::new();
    for rule in rules {
        let Some((page_number, text, bbox)) = find(pages, rule) else {
            continue;
        };
        let fields = match rule.kind {
            FieldKind::Invoice => &mut understanding.invoice,
            FieldKind::Receipt => &mut understanding.receipt,
            FieldKind::KeyValue => &mut understanding.key_values,
        };
        let field = Field {
            page_number,
            category: rule.category.clone(),
            category_normalized: rule.category.clone(),
            content: text.clone(),
            content_normalized: text,
            bbox: Some(bbox),
            confidence: LEARNED_CONFIDENCE,
            issue: None,
        };
        match fields
            .iter_mut()
            .find(|f| f.category_normalized == rule.category)
        {
            Some(existing) if existing.content.trim() == field.content.trim() => {
                existing.confidence = existing.confidence.max(LEARNED_CONFIDENCE);
                continue;
            }
            Some(existing) => *existing = field,
            None => fields.push(field),
        }
        changed.push(rule.category.clone());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_domain::text::PageUnit;

    fn page(lines: &[&[(&str, f64)]]) -> PageText {
        let lines = lines
            .iter()
            .enumerate()
            .map(|(row, words)| Line {
                words: words
                    .iter()
                    .map(|(text, left)| Word {
                        text: (*text).into(),
                        bbox: Rect {
                            left: *left,
                            top: row as f64 * 20.0,
                            right: left + 40.0,
                            bottom: row as f64 * 20.0 + 10.0,
                        },
                        confidence: 1.0,
                    })
                    .collect(),
            })
            .collect();
        PageText {
            page_number: 1,
            width: 600.0,
            height: 800.0,
            unit: PageUnit::Point,
            lines,
        }
    }

    #[test]
    fn a_correction_teaches_where_the_next_document_holds_the_field() {
        let first = [page(&[
            &[("Acme", 10.0), ("Lda", 60.0)],
            &[("Encomenda", 10.0), ("n.º", 80.0), ("PO-4411", 120.0)],
        ])];
        let rule = derive_rule(&first, FieldKind::Invoice, "PurchaseOrder", "PO-4411").unwrap();
        assert_eq!(rule.label, "encomendanº");
        assert_eq!(rule.shape, "AA-9999");

        let second = [page(&[
            &[("Acme", 10.0), ("Lda", 60.0)],
            &[("Data", 10.0), ("2026-01-02", 60.0)],
            &[
                ("Encomenda", 10.0),
                ("n.º", 80.0),
                ("PO-5123", 120.0),
                ("urgente", 200.0),
            ],
        ])];
        let mut understanding = Understanding::default();
        let changed = apply(&second, &mut understanding, std::slice::from_ref(&rule));
        assert_eq!(changed, ["PurchaseOrder"]);
        let found = &understanding.invoice[0];
        assert_eq!(
            (found.content.as_str(), found.confidence),
            ("PO-5123", 0.99)
        );
        assert_eq!(found.bbox.unwrap().left, 120.0);

        let label_above = [page(&[&[("Encomenda", 10.0)], &[("PO-7000", 10.0)]])];
        let rule =
            derive_rule(&label_above, FieldKind::Invoice, "PurchaseOrder", "PO-7000").unwrap();
        let mut understanding = Understanding::default();
        apply(&label_above, &mut understanding, &[rule]);
        assert_eq!(understanding.invoice[0].content, "PO-7000");
        assert!(derive_rule(&first, FieldKind::Invoice, "X", "not on the page").is_none());
    }
}
