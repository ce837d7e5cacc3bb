//! Learning from corrections: where a reviewer's value for a field sits on the page gives a
//! rule (the label before it, the value's shape); on the supplier's next documents the rule
//! finds the field the same way, as strong evidence over what the general reading found.

use docket_domain::learning::{fold, shape, LearnedRule};
use docket_domain::review::FieldKind;
use docket_domain::text::{Line, PageText, Rect, Word};
use docket_domain::understanding::{Field, Understanding};

use crate::normalize;

/// Confidence of a field found by a supplier's rule.
const LEARNED_CONFIDENCE: f64 = 0.99;
/// Words of a label kept at most (the ones nearest the value).
const LABEL_WORDS: usize = 4;

/// Longest value, in words, a rule looks for.
const VALUE_WORDS: usize = 8;

/// A field's value typed by its category (dates ISO, amounts with `.`, compact ids), so that
/// a value given as `2018-03-05` is found where the page says `05.03.2018`.
pub fn normalized(category: &str, text: &str) -> String {
    let typed = if category.ends_with("Date") {
        // A value given already typed (ISO) is taken as it is.
        let iso = shape(text) == "9999-99-99";
        normalize::date(text).or_else(|| iso.then(|| text.trim().to_owned()))
    } else if category.contains("Total") || category.starts_with("Vat") || category == "Amount" {
        normalize::amount(text)
    } else if category.ends_with("TaxId") {
        normalize::tax_id(text)
    } else if category == "Iban" {
        normalize::iban(text)
    } else {
        None
    };
    typed.unwrap_or_else(|| fold(text))
}

/// Where `value` of the field `category` is on the pages: page, line index and the range of
/// its words.
fn locate<'a>(
    pages: &'a [PageText],
    category: &str,
    value: &str,
) -> Option<(&'a PageText, usize, usize, usize)> {
    let wanted = normalized(category, value);
    if wanted.is_empty() {
        return None;
    }
    // Shortest first: a longer run may hold the value with its label ("Datum: 05.03.2018").
    for length in 1..=VALUE_WORDS {
        for page in pages {
            for (l, line) in page.lines.iter().enumerate() {
                for start in 0..line.words.len().saturating_sub(length - 1) {
                    let end = start + length;
                    if normalized(category, &words_text(&line.words[start..end])) == wanted {
                        return Some((page, l, start, end));
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
    let (page, l, start, end) = locate(pages, category, value)?;
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
        // The shape of the value as the page writes it, which is what the next page shows.
        shape: shape(&words_text(&line.words[start..end])),
        replace: None,
    })
}

/// Fields that are the same on every document of a supplier: its name, address, ids, account.
fn constant_per_supplier(category: &str) -> bool {
    category.starts_with("Supplier") || category.starts_with("Merchant") || category == "Iban"
}

/// The rule a correction gives: where the value stands after a label, or else, when the field
/// had been read as something else (a misread name), that reading and its correction.
pub fn learn(
    pages: &[PageText],
    kind: FieldKind,
    category: &str,
    value: &str,
    read_as: Option<&str>,
) -> Option<LearnedRule> {
    derive_rule(pages, kind, category, value).or_else(|| {
        // Only what stays the same on all of a supplier's documents: a total read wrong once
        // says nothing about the next one.
        if !constant_per_supplier(category) {
            return None;
        }
        let read_as = read_as.filter(|r| !fold(r).is_empty() && fold(r) != fold(value))?;
        Some(LearnedRule {
            kind,
            category: category.to_owned(),
            label: String::new(),
            shape: String::new(),
            replace: Some((read_as.trim().to_owned(), value.trim().to_owned())),
        })
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
                for end in start + 1..=candidates.len().min(start + VALUE_WORDS) {
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

/// The typed value where the category has a type, else the text as found.
fn normalized_or_as_is(category: &str, text: &str) -> String {
    let typed = normalized(category, text);
    if typed == fold(text) {
        text.trim().to_owned()
    } else {
        typed
    }
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
        let fields = match rule.kind {
            FieldKind::Invoice => &mut understanding.invoice,
            FieldKind::Receipt => &mut understanding.receipt,
            FieldKind::KeyValue => &mut understanding.key_values,
        };
        if let Some((read_as, corrected)) = &rule.replace {
            let misread = fields.iter_mut().find(|f| {
                f.category_normalized == rule.category && fold(&f.content) == fold(read_as)
            });
            if let Some(field) = misread {
                field.content = corrected.clone();
                field.content_normalized = normalized_or_as_is(&rule.category, corrected);
                field.confidence = LEARNED_CONFIDENCE;
                field.issue = None;
                changed.push(rule.category.clone());
            }
            continue;
        }
        let Some((page_number, text, bbox)) = find(pages, rule) else {
            continue;
        };
        let field = Field {
            page_number,
            category: rule.category.clone(),
            category_normalized: rule.category.clone(),
            content_normalized: normalized_or_as_is(&rule.category, &text),
            content: text,
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

        // A misread name is corrected the same way on the supplier's next document.
        let misread = learn(
            &first,
            FieldKind::Receipt,
            "MerchantName",
            "SANYU",
            Some("SANYO"),
        );
        let rule = misread.unwrap();
        assert_eq!(rule.replace, Some(("SANYO".into(), "SANYU".into())));
        let mut understanding = Understanding {
            receipt: vec![Field {
                page_number: 1,
                category: "MerchantName".into(),
                category_normalized: "MerchantName".into(),
                content: "SANYO".into(),
                content_normalized: "SANYO".into(),
                bbox: None,
                confidence: 0.6,
                issue: None,
            }],
            ..Understanding::default()
        };
        apply(&first, &mut understanding, std::slice::from_ref(&rule));
        assert_eq!(understanding.receipt[0].content, "SANYU");
        let total = learn(&first, FieldKind::Receipt, "Total", "10.00", Some("1O.00"));
        assert!(
            total.is_none(),
            "a document's own values are not replaced on the next one"
        );

        let dated = [page(&[&[("Lieferdatum:", 10.0), ("05.03.2018", 90.0)]])];
        let rule = derive_rule(&dated, FieldKind::Invoice, "DeliveryDate", "2018-03-05").unwrap();
        assert_eq!(rule.shape, "99.99.9999");
        let next = [page(&[&[("Lieferdatum:", 10.0), ("17.04.2018", 90.0)]])];
        let mut understanding = Understanding::default();
        apply(&next, &mut understanding, &[rule]);
        let found = &understanding.invoice[0];
        assert_eq!(
            (found.content.as_str(), found.content_normalized.as_str()),
            ("17.04.2018", "2018-04-17")
        );
    }
}
