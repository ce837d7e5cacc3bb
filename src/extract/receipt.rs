//! Receipt fields for the Receipts template (SmartDocumentor's `receiptField` entities):
//! merchant name, address and tax id, transaction date and time, subtotal, tax, total,
//! currency and payment method. Values come from the same candidates and joint choice as
//! invoice fields; the merchant is read from the head of the receipt, where tills print it.

use super::fields;
use super::keyvalues;
use super::normalize;
use crate::domain::text::{Line, PageText, Word};
use crate::domain::understanding::Field;

/// Receipt fields in output order.
const ORDER: [&str; 10] = [
    "MerchantName",
    "MerchantAddress",
    "MerchantTaxId",
    "TransactionDate",
    "TransactionTime",
    "Subtotal",
    "TaxTotal",
    "Total",
    "Currency",
    "PaymentMethod",
];

/// How sure the merchant read from the receipt's head is: position is the only evidence.
const HEAD_CONFIDENCE: f64 = 0.6;
/// Mean OCR confidence below which a head line is taken for a logo's noise.
const MIN_NAME_CONFIDENCE: f64 = 0.6;
/// Lines of the head that may continue the address.
const ADDRESS_LINES: usize = 4;

pub fn extract(pages: &[PageText], key_values: &[Field]) -> Vec<Field> {
    let candidates = fields::candidates(pages, key_values);
    let mut out = Vec::new();
    if let Some(first) = pages.first() {
        out.extend(merchant(first, key_values));
    }
    out.extend(
        fields::best_of(&candidates, "SupplierTaxId", "MerchantTaxId")
            .or_else(|| fields::best_of(&candidates, "TaxId", "MerchantTaxId")),
    );
    let date = fields::issue_date(&candidates, "InvoiceDate", "TransactionDate");
    out.extend(date.as_ref().and_then(|d| time(pages, d)));
    out.extend(date);
    let totals = fields::totals(&candidates, ["Subtotal", "TaxTotal", "Total"]);
    let total = totals.iter().find(|f| f.category_normalized == "Total");
    out.extend(
        fields::best_of(&candidates, "Currency", "Currency")
            .or_else(|| total.and_then(|t| currency_beside(pages, t))),
    );
    out.extend(totals);
    out.extend(payment_method(pages));
    out.sort_by_key(|f| ORDER.iter().position(|c| *c == f.category_normalized));
    out
}

fn field(page: &PageText, lines: &[&Line], category: &str, value: String) -> Option<Field> {
    let words = lines.iter().flat_map(|l| &l.words);
    let bbox = words.clone().map(|w| w.bbox).reduce(|a, b| a.union(&b));
    let count = words.clone().count().max(1) as f64;
    let ocr = words.map(|w| w.confidence).sum::<f64>() / count;
    Some(Field {
        page_number: page.page_number,
        category: String::new(),
        category_normalized: category.to_string(),
        content: value.clone(),
        content_normalized: value,
        bbox: Some(bbox?),
        confidence: ocr * HEAD_CONFIDENCE,
        issue: None,
    })
}

/// Mostly letters: a name or an address line, not a row of numbers or marks.
fn wordy(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let visible = text.chars().filter(|c| !c.is_whitespace()).count();
    letters >= 3 && letters * 2 >= visible
}

/// OCR of a logo reads as a few unsure fragments ("a PS ee ee ON"); a title ("TAX INVOICE")
/// names the document, not the shop.
fn name_like(line: &Line) -> bool {
    let words = &line.words;
    let sure = words.iter().map(|w| w.confidence).sum::<f64>() / words.len().max(1) as f64;
    let text = line.text();
    let key = keyvalues::label_key(&text);
    let last = words.last().map(|w| keyvalues::label_key(&w.text));
    let title = keyvalues::lexicons()
        .titles
        .iter()
        .any(|t| last.as_ref() == Some(t) || (t.len() >= 6 && key.ends_with(t.as_str())));
    wordy(&text) && sure >= MIN_NAME_CONFIDENCE && !title
}

/// A line the merchant block ends at: a labelled value (phone, tax id, date, document number).
fn labelled(line: &Line, key_values: &[Field], page: &PageText) -> bool {
    let Some(at) = line.bbox() else { return true };
    key_values.iter().any(|kv| {
        kv.page_number == page.page_number
            && kv
                .bbox
                .is_some_and(|b| b.top < at.bottom && at.top < b.bottom)
    }) || normalize::date(&line.text()).is_some()
}

/// The merchant's name (the first wordy line, without a registration number in parentheses)
/// and address (the lines after it, up to the first labelled one).
fn merchant(page: &PageText, key_values: &[Field]) -> Vec<Field> {
    let mut lines = page.lines.iter().filter(|l| !l.words.is_empty());
    let Some(name) = lines.by_ref().find(|l| name_like(l)) else {
        return Vec::new();
    };
    let text = name.text();
    // A registration number in parentheses is not part of the name; "(M)" in "MR. D.I.Y. (M)
    // SDN BHD" is.
    let trimmed = match text.rfind('(') {
        Some(at) if at > 0 && text[at..].chars().any(|c| c.is_ascii_digit()) => {
            text[..at].trim_end().to_string()
        }
        _ => text.clone(),
    };
    let mut out: Vec<Field> = field(page, &[name], "MerchantName", trimmed)
        .into_iter()
        .collect();
    let address: Vec<&Line> = lines
        .take(ADDRESS_LINES)
        .take_while(|l| {
            !labelled(l, key_values, page) && l.text().chars().any(char::is_alphanumeric)
        })
        .collect();
    if !address.is_empty() {
        let joined = address
            .iter()
            .map(|l| l.text())
            .collect::<Vec<_>>()
            .join(" ");
        out.extend(field(page, &address, "MerchantAddress", joined));
    }
    out
}

/// The line a field's value stands on.
fn line_of<'a>(pages: &'a [PageText], field: &Field) -> Option<(&'a PageText, &'a Line)> {
    let at = field.bbox?;
    let page = pages.iter().find(|p| p.page_number == field.page_number)?;
    let line = page.lines.iter().find(|l| {
        l.bbox()
            .is_some_and(|b| b.top < at.bottom && at.top < b.bottom)
    })?;
    Some((page, line))
}

/// A field read from one word.
fn word_field(page: &PageText, word: &Word, category: &str, value: String, sure: f64) -> Field {
    Field {
        page_number: page.page_number,
        category: String::new(),
        category_normalized: category.into(),
        content: word.text.clone(),
        content_normalized: value,
        bbox: Some(word.bbox),
        confidence: word.confidence * sure,
        issue: None,
    }
}

/// A time on the line of the transaction date ("18/04/2017 13:05", "1:05:26 PM").
fn time(pages: &[PageText], date: &Field) -> Option<Field> {
    let (page, line) = line_of(pages, date)?;
    let words = &line.words;
    let (i, value) = words.iter().enumerate().find_map(|(i, w)| {
        let next = words.get(i + 1).map(|n| n.text.to_ascii_uppercase());
        normalize::time(&w.text, next.as_deref()).map(|v| (i, v))
    })?;
    let sure = date.confidence.max(0.5);
    Some(word_field(page, &words[i], "TransactionTime", value, sure))
}

/// The currency printed beside the total ("RM 8.70", "8,70 €").
fn currency_beside(pages: &[PageText], total: &Field) -> Option<Field> {
    let (page, line) = line_of(pages, total)?;
    let (word, code) = line.words.iter().find_map(|w| {
        let short = w.text.chars().filter(|c| c.is_alphabetic()).count() <= 4;
        short
            .then(|| normalize::currency(&w.text))
            .flatten()
            .map(|c| (w, c))
    })?;
    Some(word_field(page, word, "Currency", code, 0.8))
}

/// How the customer paid, from the lexicons' payment words ("CASH", "VISA", "Multibanco").
fn payment_method(pages: &[PageText]) -> Option<Field> {
    let methods = &keyvalues::lexicons().payment_methods;
    pages.iter().rev().find_map(|page| {
        page.lines.iter().rev().find_map(|line| {
            let words = &line.words;
            (0..words.len()).find_map(|i| {
                (1..=2).rev().find_map(|n| {
                    let run = words.get(i..i + n)?;
                    let text: Vec<&str> = run.iter().map(|w| w.text.as_str()).collect();
                    let key = keyvalues::label_key(&text.join(" "));
                    let (_, name) = methods.iter().find(|(k, _)| *k == key)?;
                    Some(Field {
                        page_number: page.page_number,
                        category: String::new(),
                        category_normalized: "PaymentMethod".into(),
                        content: text.join(" "),
                        content_normalized: name.clone(),
                        bbox: run.iter().map(|w| w.bbox).reduce(|a, b| a.union(&b)),
                        confidence: run.iter().map(|w| w.confidence).sum::<f64>() / n as f64 * 0.8,
                        issue: None,
                    })
                })
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::keyvalues::tests::page;

    #[test]
    fn the_merchant_is_the_first_name_like_line_not_a_title() {
        let pages = [page(&[
            "TAX INVOICE",
            "MR. D.I.Y. (M) SDN BHD",
            "LOT 1851-A, JALAN KPB 6",
        ])];
        let found = extract(&pages, &keyvalues::extract(&pages));
        let name = found
            .iter()
            .find(|f| f.category_normalized == "MerchantName");
        assert_eq!(
            name.map(|f| f.content_normalized.as_str()),
            Some("MR. D.I.Y. (M) SDN BHD")
        );
    }
}
