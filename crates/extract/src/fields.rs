//! Document fields chosen jointly from candidates. Candidates are the key-values (a known label
//! and a value of its shape) plus what a looser reading of each line finds: a label with extra
//! words before its value ("Steuerbetrag in EUR 0,00"), a label closing a compound word
//! ("Rechnungswährung"), a document title with its number and date ("Rechnung Nr. 17 vom
//! 01.02.2018"), and dates no label claims. Each candidate carries evidence (how it was
//! labelled, how sure OCR was); the choice takes the best per field under constraints (net +
//! tax = gross, a due date not before the issue date), and a field's confidence comes from its
//! evidence, the constraints it meets and its margin over the runner-up.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::keyvalues::{self, Candidate as Meaning, Kind, Tok};
use super::normalize;
use docket_domain::text::PageText;
use docket_domain::understanding::Field;

/// A value that may become a field: read as a key-value category (`Total`, `InvoiceDate`, or
/// `Date` when no label claims it) with some evidence, 0.0 ..= 1.0.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) field: Field,
    pub(super) evidence: f64,
}

/// Evidence of a value whose label is found only loosely, per kind of looseness.
const COMPOUND: f64 = 0.85;
const EXTRA_WORD: f64 = 0.85;
const TITLE_NUMBER: f64 = 0.9;
const TITLE_DATE: f64 = 0.85;
const UNLABELLED_DATE: f64 = 0.5;
const HEADER: f64 = 0.8;
/// An amount due read as the gross total.
const AMOUNT_DUE: f64 = 0.9;
/// What a tax derived from net and gross adds to their evidence.
const DERIVED: f64 = 0.5;
/// What a net the line items add up to adds (half of net + tax = gross: items may leave out
/// shipping or discounts).
const ITEMS_ADD_UP: f64 = 0.75;
/// A label that does not open its line or column.
const MID_LINE: f64 = 0.6;
/// An amount read with a look-alike letter for a digit.
const LOOK_ALIKE: f64 = 0.7;

/// Every candidate on the pages: the key-values first, then the looser readings.
pub(super) fn candidates(pages: &[PageText], key_values: &[Field]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = key_values
        .iter()
        .map(|f| Candidate {
            evidence: if f.issue.is_some() {
                f.confidence * 0.5
            } else {
                f.confidence
            },
            field: f.clone(),
        })
        .collect();
    for page in pages {
        let lines: Vec<Vec<Tok>> = page.lines.iter().map(keyvalues::tokens).collect();
        for (li, line) in lines.iter().enumerate() {
            loose_line(page, line, &lines[..li], &mut out);
        }
    }
    // One day/month order per document: a date that only reads month first ("11/17/2017")
    // makes "11/03/2017" on the same document November 3rd.
    let is_date = |c: &Candidate| {
        normalize::date(&c.field.content).as_ref() == Some(&c.field.content_normalized)
    };
    if out
        .iter()
        .any(|c| is_date(c) && normalize::only_month_first(&c.field.content))
    {
        for c in out.iter_mut().filter(|c| is_date(c)) {
            if let Some(iso) = normalize::month_first(&c.field.content) {
                c.field.content_normalized = iso;
            }
        }
    }
    out
}

/// Known label keys and what they stand for, for lookups by key.
fn label_index() -> &'static HashMap<String, Vec<Meaning>> {
    static INDEX: OnceLock<HashMap<String, Vec<Meaning>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: HashMap<String, Vec<Meaning>> = HashMap::new();
        for (key, meaning) in keyvalues::lexicons().labels() {
            let meanings = index.entry(key.to_string()).or_default();
            if !meanings.contains(&meaning) {
                meanings.push(meaning);
            }
        }
        index
    })
}

/// Which words are qualifiers in parentheses ("(380)", "(EUR)", "(incl. tax)"): they say
/// nothing about a label's meaning.
fn parenthesised(line: &[Tok]) -> Vec<bool> {
    let mut depth = 0usize;
    line.iter()
        .map(|t| {
            let inside = depth > 0 || t.text.starts_with('(');
            for c in t.text.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            inside
        })
        .collect()
}

/// Amounts found without a colon-bound label need a decimal part or a currency: "001531760640"
/// after "GST" is an id.
fn looks_like_money(text: &str) -> bool {
    let digits = text.trim_start_matches(|c: char| !c.is_ascii_digit());
    let decimals = digits.rfind(['.', ',']).is_some_and(|at| {
        digits[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count()
            == 2
    });
    decimals || normalize::currency(text).is_some()
}

fn has_digit(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
}

fn is_currency_word(tok: &Tok) -> bool {
    let letters = tok.text.chars().filter(|c| c.is_alphabetic()).count();
    letters <= 4
        && normalize::currency(tok.text.trim_matches(|c: char| "():".contains(c))).is_some()
}

/// The label starting at word `i` (up to five words; qualifiers in parentheses and a final
/// colon aside): where it ends, what it may mean, and how surely. A label may close a compound
/// word: "Rechnungswährung" ends with "Währung".
fn loose_label(line: &[Tok], quoted: &[bool], i: usize) -> Option<(usize, Vec<Meaning>, f64)> {
    let index = label_index();
    // A label may carry its colon ("DATE:"), but not start with a bare one.
    let bare_colon =
        keyvalues::is_colon(&line[i]) && keyvalues::label_key(&line[i].text).is_empty();
    if has_digit(&line[i].text) || bare_colon {
        return None;
    }
    let mut best = None;
    let mut key = String::new();
    let mut first_key = String::new();
    for (k, tok) in line.iter().enumerate().skip(i).take(6) {
        if k > i && tok.gap_before {
            break;
        }
        if quoted[k] && k > i {
            continue;
        }
        if has_digit(&tok.text) {
            break;
        }
        let word = keyvalues::label_key(&tok.text);
        key.push_str(&word);
        if k == i {
            first_key = word;
        }
        if let Some(meanings) = index.get(&key) {
            best = Some((k + 1, meanings.clone(), 1.0));
            continue;
        }
        // A compound: the label starts inside the first word.
        let compound = first_key
            .char_indices()
            .skip(1)
            .map(|(at, _)| &key[at..])
            .filter(|rest| rest.len() >= 5)
            .find_map(|rest| index.get(rest));
        if let Some(meanings) = compound {
            if best.is_none() {
                best = Some((k + 1, meanings.clone(), COMPOUND));
            }
        }
    }
    best
}

/// The value after a label, past at most three extra words ("in EUR", "der Rechnung"),
/// qualifiers in parentheses and a colon: where it is, what it reads as, and what the extra
/// words cost.
fn value_after(
    line: &[Tok],
    quoted: &[bool],
    meanings: &[Meaning],
    mut j: usize,
) -> Option<(std::ops::Range<usize>, Typed, f64)> {
    let mut factor = 1.0;
    let mut extra = 0;
    while let Some(tok) = line.get(j) {
        if let Some((n, typed)) = typed(meanings, &line[j..]) {
            return Some((j..j + n, typed, factor));
        }
        // "IVA 23%: 23,00", "IVA (6%): 3,00": a tax label naming a rate is a VAT band's; a
        // total's rate only qualifies it ("TOTAL INCL. GST@6% 8,70").
        // "@6%", and "@4Z" as OCR reads it.
        let rate = tok.text.contains(['%', '@']);
        let total = meanings.iter().any(|m| m.0 == "Total");
        if has_digit(&tok.text) && !(rate && total) && (!quoted[j] || rate) {
            return None;
        }
        if keyvalues::is_colon(tok) || is_currency_word(tok) || quoted[j] || rate {
            j += 1;
            continue;
        }
        if extra == 3 {
            return None;
        }
        extra += 1;
        factor *= EXTRA_WORD;
        j += 1;
    }
    None
}

/// A value read as one of a label's meanings.
struct Typed {
    category: &'static str,
    normalized: String,
    issue: Option<String>,
    /// How much reading it cost: 1.0 as printed, less for look-alike letters read as digits.
    evidence: f64,
}

/// The first meaning whose shape the leading words have, as a typed candidate; else an amount
/// with a look-alike letter for a digit ("TOTAL s2.00"), at lower evidence.
fn typed(meanings: &[Meaning], words: &[Tok]) -> Option<(usize, Typed)> {
    let as_printed = meanings.iter().find_map(|&(category, kind)| {
        let (n, normalized) = keyvalues::shape_prefix(kind, words)?;
        if kind == Kind::Amount && !looks_like_money(&keyvalues::join(&words[..n])) {
            return None;
        }
        let issue = keyvalues::validate(kind, &normalized);
        let typed = Typed {
            category,
            normalized,
            issue,
            evidence: 1.0,
        };
        Some((n, typed))
    });
    as_printed.or_else(|| {
        let first = &words.first()?.text;
        meanings.iter().find_map(|&(category, kind)| {
            let typed = Typed {
                category,
                normalized: look_alike(kind, first)?,
                issue: None,
                evidence: LOOK_ALIKE,
            };
            Some((1, typed))
        })
    })
}

/// A value of `kind` OCR misread a character of as a look-alike ("s2.00", "25/42/2017").
fn look_alike(kind: Kind, word: &str) -> Option<String> {
    match kind {
        Kind::Amount => normalize::ocr_amount(word),
        Kind::Date => normalize::ocr_date(word),
        _ => None,
    }
}

fn candidate(
    page: &PageText,
    label: &[Tok],
    value: &[Tok],
    category: &str,
    normalized: String,
    evidence: f64,
) -> Candidate {
    let words = label.iter().chain(value);
    let count = label.len() + value.len();
    let ocr = words.map(|t| t.confidence).sum::<f64>() / count.max(1) as f64;
    Candidate {
        field: Field {
            page_number: page.page_number,
            category: keyvalues::join(label)
                .trim_end_matches(':')
                .trim()
                .to_string(),
            category_normalized: category.to_string(),
            content: keyvalues::join(value),
            content_normalized: normalized,
            bbox: value.iter().map(|t| t.bbox).reduce(|a, b| a.union(&b)),
            confidence: ocr,
            issue: None,
        },
        evidence: ocr * evidence,
    }
}

/// Candidates on one line that the key-values may have missed.
fn loose_line(page: &PageText, line: &[Tok], above: &[Vec<Tok>], out: &mut Vec<Candidate>) {
    let mut labelled = vec![false; line.len()];
    let quoted = parenthesised(line);
    // Words of a label already read: "USt." closing "Rechnungssumme ohne USt." is not a label.
    let mut label_words = 0;
    for i in 0..line.len() {
        if i < label_words {
            continue;
        }
        if let Some(found) = title_number(page, line, &quoted, i) {
            for (range, c) in found {
                labelled[range].iter_mut().for_each(|u| *u = true);
                out.push(c);
            }
            continue;
        }
        let Some((end, mut meanings, quality)) = loose_label(line, &quoted, i) else {
            continue;
        };
        label_words = end;
        // Names and terms are any words: a loose reading cannot tell where they end.
        meanings.retain(|m| m.1 != Kind::Text);
        if meanings.is_empty() {
            continue;
        }
        // A label inside a sentence ("included in total RM 0.49") is weaker than one opening
        // its line or column.
        let opens = i == 0 || line[i].gap_before || keyvalues::is_colon(&line[i - 1]);
        let quality = if opens { quality } else { quality * MID_LINE };
        let Some((value, typed, extra)) = value_after(line, &quoted, &meanings, end) else {
            continue;
        };
        // Another number right after: a table row, not a label and its value.
        let row = line
            .get(value.end)
            .is_some_and(|t| keyvalues::is_numeric(&t.text));
        let mut evidence = quality * extra * typed.evidence * if row { 0.5 } else { 1.0 };
        if typed.issue.is_some() {
            evidence *= 0.5;
        }
        labelled[value.clone()].iter_mut().for_each(|u| *u = true);
        let mut found = candidate(
            page,
            &line[i..end],
            &line[value],
            typed.category,
            typed.normalized,
            evidence,
        );
        found.field.issue = typed.issue;
        out.push(found);
    }
    // Dates no label claims: a receipt's date, an invoice's date under its title.
    let mut j = 0;
    while j < line.len() {
        if labelled[j] {
            j += 1;
            continue;
        }
        let printed = keyvalues::shape_prefix(Kind::Date, &line[j..])
            .filter(|_| has_digit(&line[j].text))
            .map(|(n, iso)| (n, iso, 1.0));
        let read = printed
            .or_else(|| look_alike(Kind::Date, &line[j].text).map(|iso| (1, iso, LOOK_ALIKE)));
        let Some((n, iso, sure)) = read else {
            j += 1;
            continue;
        };
        let value = &line[j..j + n];
        out.push(match column_header(above, value, Kind::Date) {
            Some((label, category, quality)) => {
                candidate(page, &label, value, category, iso, HEADER * quality * sure)
            }
            None => candidate(page, &[], value, "Date", iso, UNLABELLED_DATE * sure),
        });
        j += n;
    }
}

/// The label heading the column a value stands in ("Fälligkeit" over "13.12.2017"), on one
/// of the few lines above it: its words, the category of `kind` it names, and how surely.
fn column_header(
    above: &[Vec<Tok>],
    value: &[Tok],
    kind: Kind,
) -> Option<(Vec<Tok>, &'static str, f64)> {
    let at = value.iter().map(|t| t.bbox).reduce(|a, b| a.union(&b))?;
    let height = at.height().max(1.0);
    for line in above.iter().rev().take(4) {
        let Some(top) = line.first().map(|t| t.bbox.top) else {
            continue;
        };
        if at.top - top > 5.0 * height {
            break;
        }
        let quoted = parenthesised(line);
        for i in 0..line.len() {
            let Some((end, meanings, quality)) = loose_label(line, &quoted, i) else {
                continue;
            };
            let Some(&(category, _)) = meanings.iter().find(|m| m.1 == kind) else {
                continue;
            };
            let label = &line[i..end];
            let (left, right) = (label[0].bbox.left, label[label.len() - 1].bbox.right);
            if left < at.right && at.left < right {
                return Some((label.to_vec(), category, quality));
            }
        }
    }
    None
}

/// A document title, its number and maybe its date: "Handelsrechnung (380) Nr. 471102 vom
/// 05.03.2018", "Invoice No. 17 dated 1 March 2024".
fn title_number(
    page: &PageText,
    line: &[Tok],
    quoted: &[bool],
    i: usize,
) -> Option<Vec<(std::ops::Range<usize>, Candidate)>> {
    let lexicons = keyvalues::lexicons();
    let is_in = |tok: &Tok, keys: &[String]| keys.contains(&keyvalues::label_key(&tok.text));
    let first = keyvalues::label_key(&line[i].text);
    let titled = lexicons
        .titles
        .iter()
        .any(|t| first == *t || (first.ends_with(t.as_str()) && t.len() >= 6));
    if !titled {
        return None;
    }
    // "Rechnung des Versicherers (575) Nr.": a few words and qualifiers before the mark.
    let mark = (i + 1..line.len().min(i + 6))
        .filter(|&k| !quoted[k])
        .take(3)
        .find(|&k| is_in(&line[k], &lexicons.number_marks))?;
    // Each word between title and mark makes it likelier another document's number ("Rechnung
    // gemäß Bestellung Nr. 2018-471331").
    let between = (i + 1..mark).filter(|&k| !quoted[k]).count();
    let evidence = EXTRA_WORD.powi(between as i32);
    let mut j = mark + 1;
    if line.get(j).is_some_and(keyvalues::is_colon) {
        j += 1;
    }
    let (n, number) = keyvalues::shape_prefix(Kind::DocNumber, line.get(j..)?)?;
    let mut found = vec![(
        j..j + n,
        candidate(
            page,
            &line[i..j],
            &line[j..j + n],
            "InvoiceNumber",
            number,
            TITLE_NUMBER * evidence,
        ),
    )];
    let link = j + n;
    if line
        .get(link)
        .is_some_and(|t| is_in(t, &lexicons.date_links))
    {
        if let Some((m, iso)) = keyvalues::shape_prefix(Kind::Date, &line[link + 1..]) {
            let value = link + 1..link + 1 + m;
            found.push((
                value.clone(),
                candidate(
                    page,
                    &line[i..j],
                    &line[value],
                    "InvoiceDate",
                    iso,
                    TITLE_DATE * evidence,
                ),
            ));
        }
    }
    Some(found)
}

// ---------------------------------------------------------------------------------------------
// The choice

/// Candidates of a category, best evidence first, each value once (its best reading).
fn ranked<'a>(candidates: &'a [Candidate], category: &str) -> Vec<&'a Candidate> {
    let mut of: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.field.category_normalized == category)
        .collect();
    // A value that reads as valid before one flagged ("25/42/2017"), then by evidence.
    of.sort_by(|a, b| {
        (b.field.issue.is_none().cmp(&a.field.issue.is_none()))
            .then(b.evidence.total_cmp(&a.evidence))
    });
    let mut seen: Vec<&str> = Vec::new();
    of.retain(|c| {
        let new = !seen.contains(&c.field.content_normalized.as_str());
        if new {
            seen.push(&c.field.content_normalized);
        }
        new
    });
    of
}

/// The chosen candidate as a field named `category`, its confidence from its evidence and its
/// margin over the runner-up.
fn chosen(best: &Candidate, runner_up: Option<&Candidate>, category: &str, bonus: f64) -> Field {
    let margin = runner_up.map_or(1.0, |r| {
        ((best.evidence - r.evidence) / 0.3).clamp(0.0, 1.0)
    });
    let confidence = (best.evidence * (0.8 + 0.2 * margin) + bonus).clamp(0.0, 1.0);
    Field {
        category_normalized: category.to_string(),
        confidence,
        issue: best.field.issue.clone(),
        ..best.field.clone()
    }
}

/// The best of a category; the runner-up sets the margin.
pub(super) fn best_of(candidates: &[Candidate], from: &str, to: &str) -> Option<Field> {
    let of = ranked(candidates, from);
    of.first()
        .map(|best| chosen(best, of.get(1).copied(), to, 0.0))
}

pub(super) fn cents(c: &Candidate) -> Option<i128> {
    normalize::amount_cents(&c.field.content_normalized)
}

/// Amounts of a category read without an issue, best evidence first, each value once.
pub(super) fn amounts<'a>(candidates: &'a [Candidate], category: &str) -> Vec<&'a Candidate> {
    let mut of = ranked(candidates, category);
    of.retain(|c| c.field.issue.is_none() && cents(c).is_some());
    of
}

/// Net, tax and gross chosen together: the triple with the most evidence, where net + tax =
/// gross to the cent counts as strong evidence for all three, and a net that is what the line
/// items add up to (`items_total`; the gross, where no net is printed) counts too.
pub(super) fn totals(
    candidates: &[Candidate],
    names: [&str; 3],
    items_total: Option<i128>,
) -> Vec<Field> {
    let amounts = |category| -> Vec<&Candidate> {
        let mut of = amounts(candidates, category);
        of.truncate(8);
        of
    };
    let (net, tax) = (amounts("NetTotal"), amounts("TaxTotal"));
    // What is left to pay is the total unless prepayments or discounts say otherwise.
    let due: Vec<Candidate> = amounts("AmountDue")
        .into_iter()
        .map(|c| Candidate {
            evidence: c.evidence * AMOUNT_DUE,
            ..c.clone()
        })
        .collect();
    let mut gross = amounts("Total");
    gross.extend(due.iter());
    let largest_gross = gross.iter().filter_map(|c| cents(c)).max();
    fn option<'a>(list: &[&'a Candidate]) -> Vec<Option<&'a Candidate>> {
        let mut all: Vec<Option<&Candidate>> = list.iter().copied().map(Some).collect();
        all.push(None);
        all
    }
    let evidence = |c: Option<&Candidate>| c.map_or(0.0, |c| c.evidence);
    let mut best: Option<(f64, [Option<&Candidate>; 3], bool)> = None;
    for n in option(&net) {
        for t in option(&tax) {
            for g in option(&gross) {
                let value = |c: Option<&Candidate>| c.and_then(cents);
                let adds_up = matches!(
                    (value(n), value(t), value(g)),
                    (Some(n), Some(t), Some(g)) if n + t == g
                );
                // Gross below net is impossible (in magnitude, for credit notes too).
                let impossible = matches!((value(n), value(g)), (Some(n), Some(g)) if g.abs() < n.abs())
                    // Tax above net or gross: a line amount, not the tax.
                    || matches!((value(t), value(n).or(value(g))), (Some(t), Some(b)) if t.abs() > b.abs());
                // Line and section totals are labelled "Total" too; the invoice's is the largest.
                let largest = value(g).is_some() && value(g) == largest_gross;
                let items_add_up = items_total.is_some()
                    && (value(n) == items_total || n.is_none() && value(g) == items_total);
                let score = evidence(n)
                    + evidence(t)
                    + evidence(g)
                    + if adds_up { 1.5 } else { 0.0 }
                    + if largest { 0.1 } else { 0.0 }
                    + if items_add_up { ITEMS_ADD_UP } else { 0.0 }
                    - if impossible { 2.0 } else { 0.0 };
                if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                    best = Some((score, [n, t, g], adds_up));
                }
            }
        }
    }
    let Some((score, picked, adds_up)) = best else {
        return Vec::new();
    };
    if let (false, [Some(n), _, Some(g)]) = (adds_up, picked) {
        // Net and gross surely read while no printed tax fits: the tax is their difference.
        let (nc, gc) = (cents(n).unwrap_or(0), cents(g).unwrap_or(0));
        let derived = score - evidence(picked[1]) + DERIVED;
        let sure = n.evidence.min(g.evidence);
        if sure >= 0.8 && nc.abs() <= gc.abs() && nc.signum() * gc.signum() >= 0 && derived > score
        {
            let mut out = vec![
                chosen(n, None, names[0], 0.0),
                chosen(g, None, names[2], 0.0),
            ];
            out.insert(
                1,
                Field {
                    category: format!("{} - {}", names[2], names[0]),
                    category_normalized: names[1].to_string(),
                    content: normalize::format_cents(gc - nc),
                    content_normalized: normalize::format_cents(gc - nc),
                    bbox: None,
                    confidence: sure * 0.8,
                    issue: None,
                    ..g.field.clone()
                },
            );
            return out;
        }
    }
    let lists = [&net, &tax, &gross];
    let mut out = Vec::new();
    for ((pick, list), name) in picked.into_iter().zip(lists).zip(names) {
        let Some(pick) = pick else { continue };
        let runner_up = list
            .iter()
            .find(|c| c.field.content_normalized != pick.field.content_normalized)
            .copied();
        let bonus = if adds_up { 0.1 } else { -0.1 };
        let margin_free = if adds_up { None } else { runner_up };
        out.push(chosen(pick, margin_free, name, bonus));
    }
    out
}

/// The document's date: a labelled one, else the first date no label claims, top of the first
/// page first.
pub(super) fn issue_date(candidates: &[Candidate], labelled: &str, to: &str) -> Option<Field> {
    if let Some(field) = best_of(candidates, labelled, to) {
        return Some(field);
    }
    let claimed = |c: &Candidate| {
        candidates.iter().any(|o| {
            o.field.category_normalized != "Date"
                && o.field.page_number == c.field.page_number
                && o.field.content_normalized == c.field.content_normalized
        })
    };
    let mut free: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.field.category_normalized == "Date" && !claimed(c))
        .collect();
    free.sort_by(|a, b| {
        let top = |c: &Candidate| c.field.bbox.map_or(0.0, |b| b.top);
        a.field
            .page_number
            .cmp(&b.field.page_number)
            .then(top(a).total_cmp(&top(b)))
    });
    let first = free.first()?;
    let others = free
        .iter()
        .filter(|c| c.field.content_normalized != first.field.content_normalized)
        .count();
    // One date on the whole document is surely its date; several make it a guess.
    let bonus = if others == 0 { 0.35 } else { 0.0 };
    Some(chosen(first, None, to, bonus))
}

/// A due date, never before the issue date; the latest when several are as likely (the net
/// date after a discount date).
pub(super) fn due_date(candidates: &[Candidate], issued: Option<&Field>) -> Option<Field> {
    let mut of = ranked(candidates, "DueDate");
    if let Some(issued) = issued {
        of.retain(|c| c.field.content_normalized >= issued.content_normalized);
    }
    let top = of.first()?.evidence;
    let best = of
        .iter()
        .filter(|c| c.evidence >= top - 0.05)
        .max_by(|a, b| a.field.content_normalized.cmp(&b.field.content_normalized))?;
    let runner_up = of
        .iter()
        .find(|c| c.field.content_normalized != best.field.content_normalized)
        .copied();
    Some(chosen(best, runner_up, "DueDate", 0.0))
}

pub(super) fn number(candidates: &[Candidate]) -> Option<Field> {
    best_of(candidates, "InvoiceNumber", "InvoiceNumber")
}

#[cfg(test)]
mod tests {
    use docket_domain::text::PageText;
    use docket_domain::understanding::Field;

    #[test]
    fn a_valid_reading_ranks_above_a_flagged_one_with_more_evidence() {
        let candidate = |value: &str, issue: Option<&str>, evidence: f64| super::Candidate {
            field: Field {
                page_number: 1,
                category: "Date".into(),
                category_normalized: "InvoiceDate".into(),
                content: value.into(),
                content_normalized: value.into(),
                bbox: None,
                confidence: evidence,
                issue: issue.map(str::to_string),
            },
            evidence,
        };
        let candidates = [
            candidate("25/42/2017", Some("not a valid date"), 0.9),
            candidate("2017-12-25", None, 0.4),
        ];
        let best = super::best_of(&candidates, "InvoiceDate", "InvoiceDate");
        assert_eq!(
            best.map(|f| f.content_normalized).as_deref(),
            Some("2017-12-25")
        );
    }
    use crate::{invoice, keyvalues, receipt};
    use docket_testkit::text::{line_at, page, page_of};

    fn invoice_fields(page: PageText) -> Vec<(String, String)> {
        let pages = [page];
        let kvs = keyvalues::extract(&pages);
        invoice::extract(&pages, &kvs, &[], &[])
            .into_iter()
            .map(|f| (f.category_normalized, f.content_normalized))
            .collect()
    }

    fn has(fields: &[(String, String)], category: &str, value: &str) -> bool {
        fields.iter().any(|(c, v)| c == category && v == value)
    }

    fn assert_fields(rows: &[&str], expected: &[(&str, &str)]) {
        let found = invoice_fields(page(rows));
        for (category, value) in expected {
            assert!(
                has(&found, category, value),
                "{category} = {value} in {found:?}"
            );
        }
    }

    #[test]
    fn german_title_with_number_and_date_and_labels_with_extra_words() {
        assert_fields(
            &[
                "Handelsrechnung (380) Nr. 471102 vom 05.06.2018",
                "Rechnungswährung : EUR",
                "Liefer- und Leistungsdatum: 03.06.2018",
                "Rechnungssumme ohne USt. 193,77",
                "Steuerbetrag in EUR 21,30",
                "Bruttosumme 215,07",
                "Zahlbetrag 165,07",
            ],
            &[
                ("InvoiceNumber", "471102"),
                ("InvoiceDate", "2018-06-05"),
                ("Currency", "EUR"),
                ("NetTotal", "193.77"),
                ("TaxTotal", "21.30"),
                ("GrossTotal", "215.07"),
            ],
        );
    }

    #[test]
    fn an_order_referred_to_in_a_sentence_gives_neither_number_nor_date() {
        let lines = vec![
            line_at(
                40.0,
                40.0,
                "Rechnung gemäß Bestellung Nr. 2018-471331 vom 01.03.2018.",
                0.95,
            ),
            line_at(40.0, 60.0, "Handelsrechnung Nr. 471102 vom 05.06.2018", 0.8),
        ];
        let found = invoice_fields(page_of(1, lines));
        assert!(has(&found, "InvoiceNumber", "471102"), "{found:?}");
        assert!(has(&found, "InvoiceDate", "2018-06-05"), "{found:?}");
    }

    #[test]
    fn french_spanish_dutch_and_italian_invoices() {
        type Case<'a> = (&'a [&'a str], [(&'a str, &'a str); 5]);
        let cases: [Case; 4] = [
            (
                &[
                    "Facture N° F-2024-17 du 12/03/2024",
                    "Total HT 100,00",
                    "TVA 20,00",
                    "Montant TTC 120,00",
                ],
                [
                    ("InvoiceNumber", "F-2024-17"),
                    ("InvoiceDate", "2024-03-12"),
                    ("NetTotal", "100.00"),
                    ("TaxTotal", "20.00"),
                    ("GrossTotal", "120.00"),
                ],
            ),
            (
                &[
                    "Factura Nº A-17 de 03/02/2024",
                    "Base imponible 200,00",
                    "IVA 42,00",
                    "Importe total 242,00",
                ],
                [
                    ("InvoiceNumber", "A-17"),
                    ("InvoiceDate", "2024-02-03"),
                    ("NetTotal", "200.00"),
                    ("TaxTotal", "42.00"),
                    ("GrossTotal", "242.00"),
                ],
            ),
            (
                &[
                    "Factuurnummer: 2024-17",
                    "Factuurdatum: 12-03-2024",
                    "Subtotaal 50,00",
                    "BTW 10,50",
                    "Totaal 60,50",
                ],
                [
                    ("InvoiceNumber", "2024-17"),
                    ("InvoiceDate", "2024-03-12"),
                    ("NetTotal", "50.00"),
                    ("TaxTotal", "10.50"),
                    ("GrossTotal", "60.50"),
                ],
            ),
            (
                &[
                    "Fattura N. 17 del 12/03/2024",
                    "Imponibile 80,00",
                    "IVA 17,60",
                    "Totale documento 97,60",
                ],
                [
                    ("InvoiceNumber", "17"),
                    ("InvoiceDate", "2024-03-12"),
                    ("NetTotal", "80.00"),
                    ("TaxTotal", "17.60"),
                    ("GrossTotal", "97.60"),
                ],
            ),
        ];
        for (rows, expected) in cases {
            assert_fields(rows, &expected);
        }
    }

    #[test]
    fn several_totals_resolve_by_net_plus_tax() {
        // A section total larger than the invoice's and an amount due after a prepayment.
        let found = invoice_fields(page(&[
            "Total 900,00",
            "Subtotal 100,00",
            "VAT 23,00",
            "Total 123,00",
            "Amount Due 73,00",
        ]));
        assert!(has(&found, "GrossTotal", "123.00"), "{found:?}");
    }

    #[test]
    fn the_net_is_what_the_line_items_add_up_to() {
        let pages = [page(&[
            "Subtotal 200,00",
            "Net amount 180,00",
            "Total 240,00",
        ])];
        let kvs = keyvalues::extract(&pages);
        let candidates = super::candidates(&pages, &kvs);
        let names = ["NetTotal", "TaxTotal", "GrossTotal"];
        for (items, net) in [(20_000, "200.00"), (18_000, "180.00")] {
            let chosen = super::totals(&candidates, names, Some(items));
            let found = chosen.iter().find(|f| f.category_normalized == "NetTotal");
            assert_eq!(found.map(|f| f.content_normalized.as_str()), Some(net));
        }
    }

    #[test]
    fn tax_is_derived_when_no_printed_tax_fits() {
        let found = invoice_fields(page(&[
            "Net Total 100,00",
            "VAT % 850,00",
            "Grand Total 119,00",
        ]));
        assert!(has(&found, "TaxTotal", "19.00"), "{found:?}");
    }

    #[test]
    fn a_date_under_its_column_header() {
        let lines = vec![
            line_at(40.0, 40.0, "Rechnung Nr. 17 vom 01.03.2018", 1.0),
            line_at(40.0, 80.0, "Beschreibung Fälligkeit Teilzahlung", 1.0),
            line_at(130.0, 95.0, "04.04.2018", 1.0),
        ];
        let found = invoice_fields(page_of(1, lines));
        assert!(has(&found, "DueDate", "2018-04-04"), "{found:?}");
        assert!(has(&found, "InvoiceDate", "2018-03-01"), "{found:?}");
        // Misread by OCR, it is still the column's date.
        let lines = vec![
            line_at(40.0, 40.0, "Rechnung Nr. 17 vom 01.03.2018", 1.0),
            line_at(40.0, 80.0, "Beschreibung Fälligkeit Teilzahlung", 1.0),
            line_at(130.0, 95.0, "04-04:2018", 1.0),
        ];
        let found = invoice_fields(page_of(1, lines));
        assert!(has(&found, "DueDate", "2018-04-04"), "{found:?}");
    }

    #[test]
    fn day_and_month_order_is_one_per_document() {
        let found = invoice_fields(page(&["Invoice Date: 11/03/2017", "Due Date: 11/17/2017"]));
        assert!(has(&found, "InvoiceDate", "2017-11-03"), "{found:?}");
        assert!(has(&found, "DueDate", "2017-11-17"), "{found:?}");
        let found = invoice_fields(page(&["Invoice Date: 11/03/2017", "Due Date: 17/03/2017"]));
        assert!(has(&found, "InvoiceDate", "2017-03-11"), "{found:?}");
    }

    #[test]
    fn parties_order_terms_and_bank_account() {
        assert_fields(
            &[
                "Verkäufer:",
                "Lieferant GmbH",
                "Käufer/Leistungsempfänger:",
                "Kunden AG Mitte",
                "Lieferant GmbH Hauptstraße 1",
                "Bestellung: 2013-471331",
                "Zahlungsbedingungen: Zahlbar innerhalb 30 Tagen netto",
                "IBAN: DE02 1203 0000 0000 2020 51 BIC: BYLADEM1001",
            ],
            &[
                ("SupplierName", "Lieferant GmbH"),
                ("CustomerName", "Kunden AG Mitte"),
                ("PurchaseOrder", "2013-471331"),
                ("PaymentTerms", "Zahlbar innerhalb 30 Tagen netto"),
                ("Iban", "DE02120300000000202051"),
            ],
        );
    }

    #[test]
    fn delivery_dates_are_not_invoice_dates() {
        let found = invoice_fields(page(&[
            "Delivery Date: 02/03/2024",
            "Invoice Date: 05/03/2024",
        ]));
        assert!(has(&found, "InvoiceDate", "2024-03-05"), "{found:?}");
    }

    #[test]
    fn receipts_take_unlabelled_dates_and_totals_qualified_by_a_rate() {
        let pages = [page(&[
            "SANYU STATIONERY SHOP (1139772-K)",
            "NO. 31G, JALAN SETIA INDAH",
            "Tel: +603-3362 4137",
            "18/04/2017 1:05:26 PM",
            "TOTAL INCL. GST@6% RM 8.70",
            "included in total RM 0.49",
            "VISA 8.70",
        ])];
        let kvs = keyvalues::extract(&pages);
        let found: Vec<(String, String)> = receipt::extract(&pages, &kvs)
            .into_iter()
            .map(|f| (f.category_normalized, f.content_normalized))
            .collect();
        for (category, value) in [
            ("MerchantName", "SANYU STATIONERY SHOP"),
            ("MerchantAddress", "NO. 31G, JALAN SETIA INDAH"),
            ("TransactionDate", "2017-04-18"),
            ("TransactionTime", "13:05:26"),
            ("Total", "8.70"),
            ("Currency", "MYR"),
            ("PaymentMethod", "Card"),
        ] {
            assert!(
                has(&found, category, value),
                "{category} = {value} in {found:?}"
            );
        }
    }
}
