//! Receipt fields for the Receipts template (SmartDocumentor's `receiptField` entities):
//! merchant name, address and tax id, transaction date and time, subtotal, tax, total,
//! currency and payment method. Values come from the same candidates and joint choice as
//! invoice fields; the merchant is read from the head of the receipt, where tills print it.

use super::fields::{self, Candidate};
use super::keyvalues;
use super::normalize;
use super::parties;
use docket_domain::text::{Line, PageText, Word};
use docket_domain::understanding::Field;

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
    let mut totals = fields::totals(&candidates, ["Subtotal", "TaxTotal", "Total"], None);
    settle(&mut totals, &candidates);
    rounded_total(&mut totals, &candidates);
    // Nothing was sold for nothing: a zero total is a misread line ("TOTAL SAVING 0.00").
    totals.retain(|f| {
        f.category_normalized != "Total"
            || normalize::amount_cents(&f.content_normalized) != Some(0)
    });
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

/// The most a till rounds a total by (to 5 or 10 cents, as cash-rounding countries do).
const ROUNDING_CENTS: i128 = 10;

/// How much surer the payment must be than a read total to replace it outright.
const WEAK_MARGIN: f64 = 0.3;

/// What a total read only from the amount handed (no change printed) is worth.
const NO_CHANGE: f64 = 0.6;

/// What the customer paid, as the till's payment lines say: handed − change, or what was handed
/// when no change is printed (exact cash, a card), which then only counts near the read total.
struct Paid<'a> {
    cents: i128,
    handed_cents: i128,
    evidence: f64,
    with_change: bool,
    handed: &'a Candidate,
}

fn paid(candidates: &[Candidate]) -> Option<Paid<'_>> {
    let handed = *fields::amounts(candidates, "Tendered").first()?;
    let handed_cents = fields::cents(handed)?;
    let change = fields::amounts(candidates, "Change")
        .into_iter()
        .find_map(|c| Some((fields::cents(c)?, c)))
        .filter(|(cents, _)| (0..=handed_cents).contains(cents));
    Some(match change {
        Some((change_cents, change)) => Paid {
            cents: handed_cents - change_cents,
            handed_cents,
            evidence: handed.evidence.min(change.evidence),
            with_change: true,
            handed,
        },
        None => Paid {
            cents: handed_cents,
            handed_cents,
            evidence: handed.evidence,
            with_change: false,
            handed,
        },
    })
}

/// One digit misread: the same digits but one ("55.20" for "53.20").
fn one_digit_apart(a: i128, b: i128) -> bool {
    let (a, b) = (a.abs().to_string(), b.abs().to_string());
    a.len() == b.len() && a.chars().zip(b.chars()).filter(|(x, y)| x != y).count() == 1
}

/// Every reading of `cents` as an amount of one of `categories`.
fn printed<'a>(
    candidates: &'a [Candidate],
    categories: &'a [&str],
    cents: i128,
) -> impl Iterator<Item = &'a Candidate> + 'a {
    candidates.iter().filter(move |c| {
        categories.contains(&c.field.category_normalized.as_str())
            && c.field.issue.is_none()
            && fields::cents(c) == Some(cents)
    })
}

/// The total is what was paid. Handed − change confirms a read total, or corrects one read a
/// digit wrong or printed before the till rounded it (`Rounding -0.02`); where no total was read,
/// it is the total. The total takes the box of an amount printed with the paid value, else none.
fn settle(totals: &mut Vec<Field>, candidates: &[Candidate]) {
    let Some(paid) = paid(candidates) else { return };
    if paid.cents <= 0 {
        return;
    }
    let at = totals.iter().position(|f| f.category_normalized == "Total");
    let read = at.and_then(|i| normalize::amount_cents(&totals[i].content_normalized));
    if let (Some(i), Some(read)) = (at, read) {
        if let Some(other) = confirmed_instead(candidates, &paid, read) {
            let confidence = (other.evidence.min(paid.evidence) * 0.8).min(1.0);
            totals[i] = as_total(&other.field, confidence);
            return;
        }
    }
    // A till that prints "Rounding 0.00" did not round.
    let rounded = fields::amounts(candidates, "Rounding")
        .first()
        .and_then(|c| fields::cents(c))
        .is_none_or(|r| r != 0);
    let near = |read: i128| rounded && (paid.cents - read).abs() <= ROUNDING_CENTS;
    // A total printed twice ("Total 16.00", "Final Total 16.00") outweighs a misread payment.
    let printed_twice = |read: i128| {
        let mut lines: Vec<(u32, i64)> =
            printed(candidates, &["Total", "AmountDue", "NetTotal"], read)
                .filter_map(|c| Some((c.field.page_number, c.field.bbox?.top.round() as i64)))
                .collect();
        lines.sort_unstable();
        lines.dedup();
        lines.len() >= 2
    };
    // The paid amount is printed as a total too ("Total 9.30" under "Total Sales 9.36").
    let printed_total = printed(candidates, &["Total", "AmountDue"], paid.cents)
        .next()
        .is_some();
    let corrects = match read {
        Some(read) if read == paid.cents => {
            if let Some(i) = at {
                totals[i].confidence = (totals[i].confidence + 0.1).min(1.0);
            }
            return;
        }
        // Without change, what was handed near the total is the rounded total ("CREDIT
        // 177.20" under "Total 177.22"), unless it is a round note a few cents over it.
        Some(read) if !paid.with_change => near(read) && paid.cents % 100 != 0,
        Some(read) => {
            let slip = (paid.cents - read).abs() > ROUNDING_CENTS
                && one_digit_apart(paid.cents, read)
                && !printed_twice(read);
            // A total only loosely labelled ("GST included in total RM 0.71") against a
            // payment surely read.
            let weak = at.is_some_and(|i| totals[i].confidence + WEAK_MARGIN < paid.evidence);
            // With change given, the total cannot exceed what was handed ("TOTAL 110.600").
            let exceeds = read > paid.handed_cents;
            near(read) || slip || weak || exceeds || printed_total
        }
        // Cash handed without change read is often a round note, not the total; an odd
        // amount ("Cash RM51.30") is the total, if less surely.
        None => paid.with_change || paid.cents % 100 != 0,
    };
    if !corrects {
        return;
    }
    let shown = printed(
        candidates,
        &["Total", "AmountDue", "Rounding", "Tendered"],
        paid.cents,
    )
    .max_by(|a, b| a.evidence.total_cmp(&b.evidence));
    let value = normalize::format_cents(paid.cents);
    let sure = if paid.with_change { 1.0 } else { NO_CHANGE };
    let total = match shown {
        Some(shown) => {
            let confidence = (shown.evidence.max(paid.evidence) * 0.8 + 0.1).min(1.0) * sure;
            as_total(&shown.field, confidence)
        }
        None => Field {
            category: "paid".into(),
            category_normalized: "Total".into(),
            content: value.clone(),
            content_normalized: value,
            bbox: None,
            confidence: paid.evidence * 0.7 * sure,
            issue: None,
            ..paid.handed.field.clone()
        },
    };
    match at {
        Some(i) => totals[i] = total,
        None => totals.push(total),
    }
}

/// The rounded total, where the till prints it after rounding: on the rounding line itself
/// ("Rounding RM 14.40" under "Total Sales 14.38"), or as a total below the rounding line
/// ("Grand Total 87.08", "Rounding Adjustment 0.02", "Net Total 87.10"). An amount there within
/// a rounding step of the total, and larger than any step (so not the adjustment itself), is
/// the total.
fn rounded_total(totals: &mut [Field], candidates: &[Candidate]) {
    let Some(total) = totals.iter_mut().find(|f| f.category_normalized == "Total") else {
        return;
    };
    let Some(read) = normalize::amount_cents(&total.content_normalized) else {
        return;
    };
    let top = |c: &Candidate| c.field.bbox.map(|b| (c.field.page_number, b.top));
    // Where the rounding line is, even when its amount is unreadable.
    let rounding = candidates
        .iter()
        .filter(|c| c.field.category_normalized == "Rounding")
        .filter_map(top)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let below_rounding = |c: &&Candidate| {
        let on_rounding_line = c.field.category_normalized == "Rounding";
        let below = matches!((rounding, top(c)), (Some(r), Some(at)) if at.0 == r.0 && at.1 > r.1);
        let total_like =
            ["Total", "NetTotal", "AmountDue"].contains(&c.field.category_normalized.as_str());
        on_rounding_line || (below && total_like)
    };
    let rounded = candidates
        .iter()
        .filter(|c| c.field.issue.is_none())
        .filter(below_rounding)
        .find(|c| {
            fields::cents(c).is_some_and(|cents| {
                cents > ROUNDING_CENTS && cents != read && (cents - read).abs() <= ROUNDING_CENTS
            })
        });
    if let Some(rounded) = rounded {
        *total = as_total(&rounded.field, total.confidence);
    }
}

/// `field` (an amount read under another label) as the receipt's total.
fn as_total(field: &Field, confidence: f64) -> Field {
    Field {
        category_normalized: "Total".into(),
        confidence,
        ..field.clone()
    }
}

/// Another printed total the payment (nearly) confirms, where it does not confirm the total
/// `read`: with change given, the payment arbitrates between them ("Total Sales 16.00" misread
/// over "Total 10.00", paid with 20.00 − 10.00 read as 20.60 − 10.00).
fn confirmed_instead<'a>(
    candidates: &'a [Candidate],
    paid: &Paid,
    read: i128,
) -> Option<&'a Candidate> {
    let close = |cents: i128| {
        (cents - paid.cents).abs() <= ROUNDING_CENTS || one_digit_apart(cents, paid.cents)
    };
    if !paid.with_change || close(read) {
        return None;
    }
    fields::amounts(candidates, "Total")
        .into_iter()
        .find(|c| fields::cents(c).is_some_and(|cents| cents != read && close(cents)))
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

/// A line the merchant block ends at: a labelled value (phone, tax id, date, document number),
/// but not a numbered address line ("No: G3, Blk G, Jln PJU 1A/3,").
fn labelled(line: &Line, key_values: &[Field], page: &PageText) -> bool {
    let Some(at) = line.bbox() else { return true };
    let marks = &keyvalues::lexicons().number_marks;
    key_values.iter().any(|kv| {
        let numbered_place = kv.content.contains(',')
            && kv
                .category
                .split_whitespace()
                .last()
                .is_some_and(|w| marks.contains(&keyvalues::label_key(w)));
        kv.page_number == page.page_number
            && kv
                .bbox
                .is_some_and(|b| b.top < at.bottom && at.top < b.bottom)
            && !numbered_place
    }) || normalize::date(&line.text()).is_some()
}

/// The merchant's name and address from the receipt's head: the first name-like line, or a
/// registered company's name printed under a shop's brand, then the lines after it that make
/// the address.
fn merchant(page: &PageText, key_values: &[Field]) -> Vec<Field> {
    let lines: Vec<&Line> = page.lines.iter().filter(|l| !l.words.is_empty()).collect();
    let Some(first) = lines.iter().position(|l| name_like(l)) else {
        return Vec::new();
    };
    let named = registered_name(&lines[first..], key_values, page);
    let name = &lines[first + named.start()..=first + named.end()];
    let text = name.iter().map(|l| marked_words(l)).collect::<Vec<_>>();
    let value = without_registration(&text.join(" "));
    let mut out: Vec<Field> = field(page, name, "MerchantName", value)
        .into_iter()
        .collect();
    let rest = lines[first + named.end() + 1..].iter().copied();
    let address = merchant_address(rest, key_values, page);
    if !address.is_empty() {
        let joined = address
            .iter()
            .map(|l| marked_words(l))
            .collect::<Vec<_>>()
            .join(" ");
        out.extend(field(page, &address, "MerchantAddress", joined));
    }
    out
}

/// Head lines looked at for a registered company's name under a brand ("Sushi Q" over
/// "EDEN IMPRESSION SDN BHD").
const NAME_LINES: usize = 3;

/// Which of the head's first lines are the name: a line ending with a legal form ("... SDN
/// BHD"), or followed by its registration number in parentheses, is the company's registered
/// name and wins over a brand above it; a line holding only a legal form continues the line
/// before. Without one, the first line.
fn registered_name(
    head: &[&Line],
    key_values: &[Field],
    page: &PageText,
) -> std::ops::RangeInclusive<usize> {
    let lexicons = keyvalues::lexicons();
    for (k, line) in head.iter().take(NAME_LINES).enumerate() {
        if labelled(line, key_values, page) || parties::has_postcode(&keyvalues::tokens(line)) {
            break;
        }
        let text = marked_words(line);
        if k > 0 && lexicons.legal_forms.contains(&keyvalues::name_words(&text)) {
            return k - 1..=k;
        }
        let registered = keyvalues::ends_with_legal_form(&without_registration(&text))
            || registration_at(&text).is_some()
            || head
                .get(k + 1)
                .is_some_and(|next| is_registration(&marked_words(next)));
        if registered && name_like(line) {
            // "ENTERPRISE (SETIA" / "ALAM) SDN BHD": the name broke across lines.
            let broken = text
                .find(')')
                .is_some_and(|close| text.find('(').is_none_or(|open| close < open));
            return if broken { 0..=k } else { k..=k };
        }
    }
    0..=0
}

/// A line's words without marks that stand for nothing: OCR reads a receipt's edge or a rule
/// as `|`, `:` or `~`.
fn marked_words(line: &Line) -> String {
    let kept = |w: &&str| {
        w.chars()
            .any(|c| c.is_alphanumeric() || "&@#+%".contains(c))
    };
    line.words
        .iter()
        .map(|w| w.text.as_str())
        .filter(kept)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a registration number in parentheses starts ("EDEN IMPRESSION SDN BHD (894996-D)");
/// "(M)" in "MR. D.I.Y. (M) SDN BHD" is part of the name.
fn registration_at(text: &str) -> Option<usize> {
    let at = text.rfind('(')?;
    text[at..].chars().any(|c| c.is_ascii_digit()).then_some(at)
}

/// A line that is only a registration number in parentheses ("(CO.REG :860671-D)").
fn is_registration(text: &str) -> bool {
    text.starts_with('(') && text.ends_with(')') && registration_at(text) == Some(0)
}

fn without_registration(text: &str) -> String {
    match registration_at(text) {
        Some(at) if at > 0 => text[..at].trim_end().to_string(),
        _ => text.to_string(),
    }
}

/// Labelled lines the address may start after: a registration number, a tax id or a date
/// printed between the name and the address.
const SKIPPED_BEFORE_ADDRESS: usize = 3;

/// The lines after the merchant's name that make its address, up to the line with the
/// postcode and a state or country after it ("SELANGOR"); without a postcode, up to
/// [`ADDRESS_LINES`] lines. A labelled line (phone, tax id, date) ends it; before it starts,
/// such lines and registration numbers are passed over, and then the address must reach a
/// postcode to be one.
fn merchant_address<'a>(
    lines: impl Iterator<Item = &'a Line>,
    key_values: &[Field],
    page: &PageText,
) -> Vec<&'a Line> {
    let mut address: Vec<&Line> = Vec::new();
    let (mut ended, mut skipped) = (false, 0);
    for line in lines {
        let text = marked_words(line);
        let labelled = labelled(line, key_values, page);
        if address.is_empty() && (text.is_empty() || is_registration(&text)) {
            continue;
        }
        if address.is_empty() && labelled && skipped < SKIPPED_BEFORE_ADDRESS {
            skipped += 1;
            continue;
        }
        if labelled || text.is_empty() {
            break;
        }
        let tokens = keyvalues::tokens(line);
        if ended {
            if parties::is_region(&tokens) {
                address.push(line);
            }
            break;
        }
        ended = parties::has_postcode(&tokens);
        address.push(line);
        if address.len() == 2 * ADDRESS_LINES {
            break;
        }
    }
    if !ended {
        address.truncate(if skipped > 0 { 0 } else { ADDRESS_LINES });
    }
    address
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
    use docket_testkit::text::page;

    fn total(rows: &[&str]) -> Option<String> {
        let pages = [page(rows)];
        extract(&pages, &keyvalues::extract(&pages))
            .into_iter()
            .find(|f| f.category_normalized == "Total")
            .map(|f| f.content_normalized)
    }

    /// Receipts (their lines) and the total each must give.
    fn assert_totals(cases: &[(&[&str], Option<&str>)]) {
        for (rows, want) in cases {
            assert_eq!(total(rows).as_deref(), *want, "{rows:?}");
        }
    }

    #[test]
    fn the_total_is_what_was_paid() {
        assert_totals(&[
            // Rounded by the till after the total was printed.
            (
                &[
                    "TOTAL 31.47",
                    "Rounding -0.02",
                    "CASH 50.00",
                    "CHANGE 18.55",
                ],
                Some("31.45"),
            ),
            // One digit of the total misread.
            (
                &[
                    "Total Incl. GST@6% RM 55.20",
                    "CASH RM 100.00",
                    "CHANGE RM 46.80",
                ],
                Some("53.20"),
            ),
            // Paid by card, no change: the rounded total.
            (&["Total Sales RM 37.44", "VISA RM 37.45"], Some("37.45")),
            // German and Portuguese tills: handed and change confirm the total.
            (
                &["SUMME EUR 12,40", "Gegeben 20,00", "Rückgeld 7,60"],
                Some("12.40"),
            ),
            (&["Troco 2,50", "Numerário 10,00"], Some("7.50")),
            // A total only loosely labelled, against a payment surely read.
            (
                &[
                    "GST @6% included in total RM 0.71",
                    "CASH RM 15.00",
                    "CHANGE RM 2.50",
                ],
                Some("12.50"),
            ),
            // A look-alike letter for a digit, confirmed by the payment.
            (&["TOTAL s2.00", "CASH 52.00", "CHANGE 0.00"], Some("52.00")),
            // A total above what was handed, with change given: misread.
            (
                &["TOTAL 110.600", "CASH 110.00", "CHANGE 0.00"],
                Some("110.00"),
            ),
            // The paid amount printed as a total too.
            (
                &[
                    "Total Sales Inclusive GST @6% 9.36",
                    "Total 9.30",
                    "Round Adj 0.0",
                    "CASH 50.00",
                    "CHANGE 40.70",
                ],
                Some("9.30"),
            ),
            // Only an odd amount handed: the total.
            (&["Cash RM51.30"], Some("51.30")),
            // The payment arbitrates between two printed totals (one misread).
            (
                &[
                    "Total Sales Inclusive GST @6% 16.00",
                    "Total 10.00",
                    "CASH 20.60",
                    "CHANGE 10.00",
                ],
                Some("10.00"),
            ),
            // The rounded total printed below the rounding line, whose amount is unreadable.
            (
                &[
                    "Grand Total : 87.08",
                    "Rounding Adjustment: | Zz",
                    "Net Total : 87.10",
                ],
                Some("87.10"),
            ),
            // The rounding line carries the rounded total; its change is misread.
            (
                &[
                    "Total Sales (Inclusive GST) RM 14.38",
                    "Rounding Adjustment RM .02",
                    "Rounding RM 14.40",
                    "CASH RM 20.00",
                    "CHANGE RM 5.40",
                ],
                Some("14.40"),
            ),
        ]);
    }

    #[test]
    fn a_misread_payment_does_not_override_a_sure_total() {
        assert_totals(&[
            // The till did not round: a payment a few cents off is misread.
            (
                &["Total 3.00", "Round Adj 0.00", "CASH 3.06", "CHANGE 0.00"],
                Some("3.00"),
            ),
            // The total printed twice outweighs a payment one digit off.
            (
                &[
                    "SUB-TOTAL 16.00",
                    "TOTAL 16.00",
                    "CASH 26.00",
                    "CHANGE 0.00",
                ],
                Some("16.00"),
            ),
            // A round note handed, change not read: the total stays.
            (&["TOTAL 19.95", "CASH 20.00"], Some("19.95")),
        ]);
    }

    #[test]
    fn a_rate_qualifies_a_total_and_tax_or_savings_are_no_total() {
        assert_totals(&[
            // "@4Z" is a rate as OCR reads "@6%": the amount after it is the total's.
            (&["TOTAL INCL. GST@4Z RM 12.50"], Some("12.50")),
            // A tax total is no total.
            (&["TOTAL my a GA", "TAX TOTAL: 0.34"], None),
            // A saving of nothing is no total.
            (&["TOTAL SAVING: 0.00"], None),
        ]);
    }

    #[test]
    fn a_month_misread_as_a_look_alike_digit_is_mended() {
        for (rows, want) in [
            (&["RECEIPT #: CSPO422102 DATE: 25/42/2017"], "2017-12-25"),
            // Unlabelled (its label misread too).
            (&["RESELPT #: CSPOGGGSI4 TATE: 04/99/2017"], "2017-09-04"),
        ] {
            let pages = [page(rows)];
            let found = extract(&pages, &keyvalues::extract(&pages));
            let date = found
                .iter()
                .find(|f| f.category_normalized == "TransactionDate");
            assert_eq!(date.map(|f| f.content_normalized.as_str()), Some(want));
        }
    }

    /// The merchant's name and address found on a receipt's head.
    fn merchant_of(rows: &[&str]) -> (Option<String>, Option<String>) {
        let pages = [page(rows)];
        let found = extract(&pages, &keyvalues::extract(&pages));
        let value = |category: &str| {
            found
                .iter()
                .find(|f| f.category_normalized == category)
                .map(|f| f.content_normalized.clone())
        };
        (value("MerchantName"), value("MerchantAddress"))
    }

    #[test]
    fn the_merchant_address_ends_at_its_postcode_and_state() {
        let (_, address) = merchant_of(&[
            "MR. D.I.Y. (M) SDN BHD",
            "(CO.REG :860671-D)",
            "LOT 1851-A & 1851-B, JALAN KPB 6,",
            "KAWASAN PERINDUSTRIAN BALAKONG,",
            "43300 SERI KEMBANGAN,",
            "SELANGOR",
            "SOUVENIR SHOP",
        ]);
        assert_eq!(
            address.as_deref(),
            Some("LOT 1851-A & 1851-B, JALAN KPB 6, KAWASAN PERINDUSTRIAN BALAKONG, 43300 SERI KEMBANGAN, SELANGOR")
        );
    }

    #[test]
    fn the_merchant_is_the_first_name_like_line_not_a_title() {
        let (name, _) = merchant_of(&[
            "TAX INVOICE",
            "MR. D.I.Y. (M) SDN BHD",
            "LOT 1851-A, JALAN KPB 6",
        ]);
        assert_eq!(name.as_deref(), Some("MR. D.I.Y. (M) SDN BHD"));
    }

    #[test]
    fn a_registered_company_under_a_brand_is_the_merchant() {
        let cases: [(&[&str], &str); 4] = [
            (
                &[
                    "Sushi Q",
                    "EDEN IMPRESSION SDN BHD",
                    "(894996-D)",
                    "No 1, Jalan Dutamas, 50480 KL",
                ],
                "EDEN IMPRESSION SDN BHD",
            ),
            (
                &[
                    "FACE TO FACE NOODLE HOUSE",
                    "FTOF NOODLE HOUSE",
                    "(002049088-U)",
                    "52100 Kuala Lumpur.",
                ],
                "FTOF NOODLE HOUSE",
            ),
            (
                &[
                    "Café Central",
                    "Central Gastro GmbH",
                    "Hauptstraße 1, 10115 Berlin",
                ],
                "Central Gastro GmbH",
            ),
            // Without a legal form or registration below it, the first line is the merchant.
            (
                &["Padaria Lisboa", "Rua Augusta 10", "1100-053 Lisboa"],
                "Padaria Lisboa",
            ),
        ];
        for (rows, want) in cases {
            assert_eq!(merchant_of(rows).0.as_deref(), Some(want), "{rows:?}");
        }
    }

    #[test]
    fn a_name_broken_across_lines_is_joined() {
        let cases: [(&[&str], &str); 2] = [
            (
                &["MPH BOOKSTORES", "SDN BHD", "GST No: 000542572544"],
                "MPH BOOKSTORES SDN BHD",
            ),
            (
                &[
                    "AIK HUAT HARDWARE",
                    "ENTERPRISE (SETIA",
                    "ALAM) SDN BHD",
                    "922737-X",
                ],
                "AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD",
            ),
        ];
        for (rows, want) in cases {
            assert_eq!(merchant_of(rows).0.as_deref(), Some(want), "{rows:?}");
        }
    }

    #[test]
    fn the_address_starts_after_registration_and_tax_id_lines() {
        let (name, address) = merchant_of(&[
            "ENW Hardware Centre (M) Sdn. Bhd.",
            "Co. Reg. No.: 795225-A",
            "GST Reg. No. : 000155453440",
            "No: G3, Blk G, Jln PJU 1A/3,",
            "Ara Damansara, 47301 Petaling Jaya",
            "TEL: 03-7832 6929",
        ]);
        assert_eq!(name.as_deref(), Some("ENW Hardware Centre (M) Sdn. Bhd."));
        assert_eq!(
            address.as_deref(),
            Some("No: G3, Blk G, Jln PJU 1A/3, Ara Damansara, 47301 Petaling Jaya")
        );
        // Passed over labelled lines, what follows is an address only if it reaches a postcode.
        let (_, address) =
            merchant_of(&["SHOP ONE", "TEL: 03-7832 6929", "Milk 2 x 3.00", "Bread"]);
        assert_eq!(address, None);
    }

    #[test]
    fn marks_read_from_the_receipt_edge_are_dropped() {
        let (name, address) = merchant_of(&[
            "SANYU STATIONERY SHOP |",
            "| 3, Jalan Perdana 5, Taman Indah Perdana, |",
            "Kepong, 52100 KL. :",
        ]);
        assert_eq!(name.as_deref(), Some("SANYU STATIONERY SHOP"));
        assert_eq!(
            address.as_deref(),
            Some("3, Jalan Perdana 5, Taman Indah Perdana, Kepong, 52100 KL.")
        );
    }
}
