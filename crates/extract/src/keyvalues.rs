//! Key-values: label/value pairs read from a page's layout, in three forms: "Label: value" on
//! one line, a known label followed by a value of the expected shape ("Total 12,00"), and a
//! known label with its value on the line below (header boxes). Known labels, one lexicon file
//! per language in `lexicons/`, decide the category and how the value is normalised and
//! validated.

use std::ops::Range;
use std::sync::OnceLock;

use super::{ids, normalize};
use docket_domain::text::{Line, PageText, Rect};
use docket_domain::understanding::Field;

/// The shape a known label's value takes; decides normalisation and validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    DocNumber,
    Date,
    TaxId,
    Iban,
    Bic,
    Atcud,
    Amount,
    Currency,
    Email,
    Phone,
    /// Words as printed: a name, payment terms.
    Text,
}

impl Kind {
    /// How many words a value of this kind may span ("16 de março de 2022" is five).
    fn max_words(self) -> usize {
        match self {
            Kind::Date => 6,
            Kind::Amount | Kind::Phone => 5,
            // "FR 19 787 878 784"; the country's shape, not the count, ends the value.
            Kind::TaxId => 6,
            Kind::Iban => 9,
            Kind::DocNumber | Kind::Atcud => 3,
            Kind::Currency => 2,
            Kind::Email | Kind::Bic => 1,
            Kind::Text => 12,
        }
    }

    fn invalid(self) -> &'static str {
        match self {
            Kind::DocNumber => "no document number",
            Kind::Date => "not a valid date",
            Kind::TaxId => "not a tax id",
            Kind::Iban => "not an IBAN",
            Kind::Bic => "not a BIC",
            Kind::Atcud => "not an ATCUD",
            Kind::Amount => "not an amount",
            Kind::Currency => "not a currency",
            Kind::Email => "not an e-mail address",
            Kind::Text => "no text",
            Kind::Phone => "not a phone number",
        }
    }
}

/// A category a label may stand for and the kind of its value.
pub(super) type Candidate = (&'static str, Kind);

/// Categories known labels stand for, with the kind of their values. "VAT" is both a tax id
/// and the tax total: the value's shape decides, in this order.
const CATEGORIES: [(&str, Kind); 23] = [
    ("InvoiceNumber", Kind::DocNumber),
    ("InvoiceDate", Kind::Date),
    ("DueDate", Kind::Date),
    ("DeliveryDate", Kind::Date),
    ("OrderDate", Kind::Date),
    ("TaxId", Kind::TaxId),
    ("Iban", Kind::Iban),
    ("Bic", Kind::Bic),
    ("Atcud", Kind::Atcud),
    ("Total", Kind::Amount),
    ("AmountDue", Kind::Amount),
    ("NetTotal", Kind::Amount),
    ("TaxTotal", Kind::Amount),
    // What a till was handed, what it gave back and how it rounded the total.
    ("Tendered", Kind::Amount),
    ("Change", Kind::Amount),
    ("Rounding", Kind::Amount),
    ("Currency", Kind::Currency),
    ("Email", Kind::Email),
    ("PurchaseOrder", Kind::DocNumber),
    ("PaymentTerms", Kind::Text),
    ("SupplierName", Kind::Text),
    ("CustomerName", Kind::Text),
    ("Phone", Kind::Phone),
];

/// Every language's labels, roles and connectors merged, as label keys.
pub(super) struct Lexicons {
    labels: Vec<(String, Candidate)>,
    roles: [(&'static str, Vec<String>); 2],
    connectors: Vec<String>,
    pub(super) titles: Vec<String>,
    pub(super) number_marks: Vec<String>,
    pub(super) date_links: Vec<String>,
    /// Payment words as keys, with the method they name.
    pub(super) payment_methods: Vec<(String, String)>,
    /// Labels of a party's name and address lines ("Name:", "Anschrift:"), as keys.
    pub(super) party_names: Vec<String>,
    pub(super) party_addresses: Vec<String>,
    /// Words that stand before a person's name ("Herrn", "Mme"), as keys.
    pub(super) salutations: Vec<String>,
    /// Legal forms as [`name_words`] ("S.A." is `["sa"]`).
    pub(super) legal_forms: Vec<Vec<String>>,
    /// Stems naming a VAT summary's rate, base and amount columns, folded.
    pub(super) vat_rate: Vec<String>,
    pub(super) vat_base: Vec<String>,
    pub(super) vat_amount: Vec<String>,
}

impl Lexicons {
    /// Known labels as keys, with what they stand for.
    pub(super) fn labels(&self) -> impl Iterator<Item = (&str, Candidate)> {
        self.labels.iter().map(|(key, c)| (key.as_str(), *c))
    }
}

fn vat_stems(parsed: &[super::lexicon::Lexicon], column: &str) -> Vec<String> {
    let stems = parsed
        .iter()
        .flat_map(|l| l.vat_columns.get(column))
        .flatten();
    let mut folded: Vec<String> = stems.map(|s| normalize::fold(s)).collect();
    folded.sort();
    folded.dedup();
    folded
}

/// A name's words folded, without dots or other marks: "Sdn. Bhd." and "SDN BHD" compare equal.
pub(super) fn name_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            normalize::fold(w)
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '&')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether a name ends with a legal form ("Lieferant GmbH", "EDEN IMPRESSION SDN BHD").
pub(super) fn ends_with_legal_form(name: &str) -> bool {
    let words = name_words(name);
    lexicons()
        .legal_forms
        .iter()
        .any(|form| !form.is_empty() && words.ends_with(form))
}

pub(super) fn lexicons() -> &'static Lexicons {
    static MERGED: OnceLock<Lexicons> = OnceLock::new();
    MERGED.get_or_init(|| {
        let parsed = super::lexicon::all();
        let keys = |words: &mut dyn Iterator<Item = &String>| -> Vec<String> {
            words.map(|w| label_key(w)).collect()
        };
        let mut labels = Vec::new();
        for &(category, kind) in &CATEGORIES {
            for lexicon in parsed {
                for name in lexicon.labels.get(category).into_iter().flatten() {
                    labels.push((label_key(name), (category, kind)));
                }
                // A payment word before an amount ("CASH 50.00", "VISA 8.70") is what was handed.
                if category == "Tendered" {
                    for name in lexicon.payment_methods.values().flatten() {
                        labels.push((label_key(name), (category, kind)));
                    }
                }
            }
        }
        Lexicons {
            labels,
            roles: [
                (
                    "CustomerTaxId",
                    keys(&mut parsed.iter().flat_map(|l| &l.customer)),
                ),
                (
                    "SupplierTaxId",
                    keys(&mut parsed.iter().flat_map(|l| &l.supplier)),
                ),
            ],
            connectors: keys(&mut parsed.iter().flat_map(|l| &l.connectors)),
            titles: keys(&mut parsed.iter().flat_map(|l| &l.titles)),
            number_marks: keys(&mut parsed.iter().flat_map(|l| &l.number_marks)),
            date_links: keys(&mut parsed.iter().flat_map(|l| &l.date_links)),
            payment_methods: parsed
                .iter()
                .flat_map(|l| &l.payment_methods)
                .flat_map(|(method, words)| {
                    words.iter().map(move |w| (label_key(w), method.clone()))
                })
                .collect(),
            party_names: keys(
                &mut parsed
                    .iter()
                    .flat_map(|l| l.party_lines.get("Name"))
                    .flatten(),
            ),
            party_addresses: keys(
                &mut parsed
                    .iter()
                    .flat_map(|l| l.party_lines.get("Address"))
                    .flatten(),
            ),
            salutations: keys(&mut parsed.iter().flat_map(|l| &l.salutations)),
            legal_forms: parsed
                .iter()
                .flat_map(|l| &l.legal_forms)
                .map(|form| name_words(form))
                .collect(),
            vat_rate: vat_stems(parsed, "Rate"),
            vat_base: vat_stems(parsed, "Base"),
            vat_amount: vat_stems(parsed, "Amount"),
        }
    })
}

/// A word of a line, or half of one glued at a colon ("NIF:123456789").
#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub(super) text: String,
    pub(super) bbox: Rect,
    pub(super) confidence: f64,
    /// A gap much wider than a space precedes it: it starts a new column.
    pub(super) gap_before: bool,
}

/// A typed value, ready to become a field.
struct Typed {
    category: String,
    normalized: String,
    issue: Option<String>,
    factor: f64,
}

enum Step {
    Pair {
        label: Range<usize>,
        value: Range<usize>,
        typed: Typed,
    },
    /// A known label with nothing after it on its line: its value may be below.
    Dangling {
        label: Range<usize>,
        candidates: Vec<Candidate>,
    },
    Skip(usize),
}

/// Label/value pairs on every page, in reading order, each value once.
pub fn extract(pages: &[PageText]) -> Vec<Field> {
    let mut fields: Vec<Field> = Vec::new();
    for field in pages.iter().flat_map(page_fields) {
        let seen = fields.iter().any(|f| {
            f.category_normalized == field.category_normalized
                && f.content_normalized == field.content_normalized
        });
        if !seen {
            fields.push(field);
        }
    }
    fields
}

fn page_fields(page: &PageText) -> Vec<Field> {
    let lines: Vec<Vec<Tok>> = page.lines.iter().map(tokens).collect();
    let mut used: Vec<Vec<bool>> = lines.iter().map(|l| vec![false; l.len()]).collect();
    // (label line, label left, field) so pairs found below can be put back in reading order.
    let mut found: Vec<(usize, f64, Field)> = Vec::new();
    let mut dangling = Vec::new();
    for (li, line) in lines.iter().enumerate() {
        let mut i = 0;
        while i < line.len() {
            i = match step(line, i) {
                Step::Pair {
                    label,
                    value,
                    typed,
                } => {
                    used[li][label.start..value.end]
                        .iter_mut()
                        .for_each(|u| *u = true);
                    let field = field(page, &line[label.clone()], &line[value.clone()], typed);
                    found.push((li, line[label.start].bbox.left, field));
                    value.end
                }
                Step::Dangling { label, candidates } => {
                    let next = label.end;
                    dangling.push((li, label, candidates));
                    next
                }
                Step::Skip(next) => next,
            };
        }
    }
    for (li, label, candidates) in dangling {
        let text = candidates.iter().all(|c| c.1 == Kind::Text);
        let Some((lj, seg)) = below(&lines, &used, li, &label, text) else {
            continue;
        };
        // A lone word under a name or terms label is a column header more often than a value.
        if text && seg.len() < 2 {
            continue;
        }
        let Some((n, mut typed)) = typed_prefix(&candidates, &lines[lj][seg.clone()]) else {
            continue;
        };
        typed.factor = if typed.issue.is_some() { 0.6 } else { 0.8 };
        let value = seg.start..seg.start + n;
        used[lj][value.clone()].iter_mut().for_each(|u| *u = true);
        let field = field(page, &lines[li][label.clone()], &lines[lj][value], typed);
        found.push((li, lines[li][label.start].bbox.left, field));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    found.into_iter().map(|(_, _, f)| f).collect()
}

fn field(page: &PageText, label: &[Tok], value: &[Tok], typed: Typed) -> Field {
    let words: Vec<&Tok> = label.iter().chain(value).collect();
    let mean = words.iter().map(|t| t.confidence).sum::<f64>() / words.len().max(1) as f64;
    Field {
        page_number: page.page_number,
        category: label_text(label),
        category_normalized: typed.category,
        content: join(value),
        content_normalized: typed.normalized,
        bbox: value.iter().map(|t| t.bbox).reduce(|a, b| a.union(&b)),
        confidence: (mean * typed.factor).clamp(0.0, 1.0),
        issue: typed.issue,
    }
}

// ---------------------------------------------------------------------------------------------
// Words and columns

/// The line's words with column breaks marked; a colon glued to its value is split off.
pub(super) fn tokens(line: &Line) -> Vec<Tok> {
    let mut heights: Vec<f64> = line.words.iter().map(|w| w.bbox.height()).collect();
    heights.sort_by(f64::total_cmp);
    // A space is about a third of the text height; a column gap is well over a full height.
    let column_gap = 1.2 * heights.get(heights.len() / 2).copied().unwrap_or(0.0);
    let mut out: Vec<Tok> = Vec::new();
    let mut prev_right: Option<f64> = None;
    for word in line.words.iter().filter(|w| !w.text.trim().is_empty()) {
        // A lone colon closes the label before it, however far it is set ("Währung      : EUR").
        let gap_before = prev_right.is_some_and(|right| word.bbox.left - right > column_gap)
            && word.text.trim() != ":";
        prev_right = Some(word.bbox.right);
        let tok = |text: &str, left: f64, right: f64, gap_before: bool| Tok {
            text: text.trim().to_string(),
            bbox: Rect {
                left,
                right,
                ..word.bbox
            },
            confidence: word.confidence,
            gap_before,
        };
        let (left, right) = (word.bbox.left, word.bbox.right);
        match glued_colon(&word.text) {
            Some((label, value)) => {
                // Split the box in proportion to the characters on each side.
                let share = label.chars().count() as f64 / word.text.chars().count() as f64;
                let middle = left + (right - left) * share;
                out.push(tok(label, left, middle, gap_before));
                out.push(tok(value, middle, right, false));
            }
            None => out.push(tok(&word.text, left, right, gap_before)),
        }
    }
    out
}

/// "NIF:123" -> ("NIF:", "123"); not times ("10:30") nor addresses ("https://").
fn glued_colon(text: &str) -> Option<(&str, &str)> {
    let at = text.find(':')? + 1;
    let (label, value) = text.split_at(at);
    let letters = label.chars().any(char::is_alphabetic);
    let digits = label.chars().any(|c| c.is_ascii_digit());
    (letters && !digits && !value.is_empty() && !value.starts_with('/')).then_some((label, value))
}

pub(super) fn is_colon(tok: &Tok) -> bool {
    tok.text.ends_with(':')
}

pub(super) fn join(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The label as found, without its colon.
fn label_text(toks: &[Tok]) -> String {
    join(toks).trim_end_matches(':').trim().to_string()
}

fn segment_end(line: &[Tok], i: usize) -> usize {
    (i + 1..line.len())
        .find(|&k| line[k].gap_before)
        .unwrap_or(line.len())
}

pub(super) fn segments(line: &[Tok]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        let end = segment_end(line, i);
        out.push(i..end);
        i = end;
    }
    out
}

pub(super) fn is_numeric(text: &str) -> bool {
    normalize::amount(text).is_some() || (text.contains('%') && normalize::percent(text).is_some())
}

/// Three numeric columns in a row make a table row, not label/value pairs.
fn is_table_row(line: &[Tok]) -> bool {
    let mut run = 0;
    segments(line).into_iter().any(|seg| {
        run = if is_numeric(&join(&line[seg])) {
            run + 1
        } else {
            0
        };
        run >= 3
    })
}

// ---------------------------------------------------------------------------------------------
// Labels

/// Case, accents and punctuation dropped; OCR look-alikes (0/o, 1/i/l) merged.
pub(super) fn label_key(text: &str) -> String {
    let mut key = String::new();
    for c in normalize::fold(text).chars() {
        match c {
            '#' => key.push_str("no"),
            '0' => key.push('o'),
            '1' | 'i' | '|' => key.push('l'),
            c if c.is_alphanumeric() => key.push(c),
            _ => {}
        }
    }
    key
}

/// The categories a run of label words may stand for, best first; empty when not a known label.
pub(super) fn known(words: &[Tok]) -> Vec<Candidate> {
    let key = label_key(&label_text(words));
    let mut direct: Vec<Candidate> = Vec::new();
    for (_, candidate) in lexicons().labels.iter().filter(|(k, _)| *k == key) {
        if !direct.contains(candidate) {
            direct.push(*candidate);
        }
    }
    if !direct.is_empty() {
        return direct;
    }
    // "Verkäufer-IBAN": the parts of a compound of words are words too (not "15-03-2024").
    let compound = |t: &Tok| t.text.contains('-') && t.text.chars().any(char::is_alphabetic);
    if !words.iter().any(compound) {
        return known_whole(words, direct);
    }
    let parts: Vec<Tok> = words
        .iter()
        .flat_map(|t| {
            let parts = t.text.split('-').filter(|p| !p.is_empty());
            parts.map(|p| Tok {
                text: p.to_string(),
                ..t.clone()
            })
        })
        .collect();
    if parts.len() > words.len() {
        return known(&parts);
    }
    known_whole(words, direct)
}

/// `known` for words no hyphen joins: a trailing currency, a role word before a tax id or an
/// account.
fn known_whole(words: &[Tok], direct: Vec<Candidate>) -> Vec<Candidate> {
    let Some((last, rest)) = words.split_last() else {
        return direct;
    };
    if rest.is_empty() {
        return direct;
    }
    // "Total (EUR)": a trailing currency gives the unit, not the meaning.
    let is_currency = normalize::currency(&last.text).is_some()
        && last.text.chars().filter(|c| c.is_alphabetic()).count() <= 4;
    if is_currency {
        return known(rest);
    }
    // "NIF do cliente", "Supplier VAT No.": a tax id (or bank account) label naming whose it is.
    let lexicons = lexicons();
    let is_word = |tok: &Tok, keys: &[String]| keys.contains(&label_key(&tok.text));
    let role = lexicons
        .roles
        .iter()
        .find(|(_, names)| words.iter().any(|t| is_word(t, names)));
    let Some(&(category, _)) = role else {
        return Vec::new();
    };
    let plain: Vec<Tok> = words
        .iter()
        .filter(|t| {
            !is_word(t, &lexicons.connectors)
                && !lexicons.roles.iter().any(|(_, names)| is_word(t, names))
        })
        .cloned()
        .collect();
    let meant = if plain.is_empty() {
        Vec::new()
    } else {
        known(&plain)
    };
    if meant.iter().any(|c| c.1 == Kind::TaxId) {
        vec![(category, Kind::TaxId)]
    } else {
        // "Supplier IBAN": whose account it is does not change what it is.
        let accounts = meant
            .into_iter()
            .filter(|c| matches!(c.1, Kind::Iban | Kind::Bic));
        accounts.collect()
    }
}

/// The longest known label (without a colon) starting at `i` within its column.
fn known_at(line: &[Tok], i: usize, end: usize) -> Option<(usize, Vec<Candidate>)> {
    (1..=end.saturating_sub(i).min(5)).rev().find_map(|n| {
        let words = &line[i..i + n];
        let candidates = known(words);
        (!words.iter().any(is_colon) && !candidates.is_empty()).then_some((i + n, candidates))
    })
}

/// Where the longest known label (of up to six words) ending with the colon word `colon`
/// starts, at `from` or later.
fn known_suffix(line: &[Tok], from: usize, colon: usize) -> Option<usize> {
    (from.max(colon.saturating_sub(5))..=colon).find(|&s| !known(&line[s..=colon]).is_empty())
}

/// Whether the column starting at `i` opens with a label rather than a value.
fn starts_label(line: &[Tok], i: usize) -> bool {
    let end = segment_end(line, i);
    known_at(line, i, end).is_some() || line[i..end].iter().take(4).any(is_colon)
}

/// Unknown labels: a few words with no numbers in them (percentages allowed: "IVA 23%").
fn plausible_label(words: &[Tok]) -> bool {
    let text = label_text(words);
    words.len() <= 4
        && text.chars().any(char::is_alphabetic)
        && words
            .iter()
            .all(|t| t.text.contains('%') || !t.text.chars().any(|c| c.is_ascii_digit()))
}

fn pascal_case(label: &str) -> String {
    normalize::fold(label)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Pairs on one line

/// The pair (or dangling label) starting at word `i`, or where to look next.
fn step(line: &[Tok], i: usize) -> Step {
    let end = segment_end(line, i);
    let colon = (i..end).find(|&k| is_colon(&line[k]));
    // (a) "Label: value", the label being everything before the colon.
    if let Some(c) = colon {
        let candidates = known(&line[i..=c]);
        if !candidates.is_empty()
            || (plausible_label(&line[i..=c]) && known_suffix(line, i, c).is_none())
        {
            return pair(line, i..c + 1, candidates, true);
        }
    }
    // (b) a known label and a value of its shape, without a colon.
    if let Some((label_end, candidates)) = known_at(line, i, end) {
        match pair(line, i..label_end, candidates, false) {
            s @ Step::Pair { .. } => return s,
            s @ Step::Dangling { .. } if colon.is_none() => return s,
            _ => {}
        }
    }
    // (a) after some text: "Please pay to IBAN: ...".
    match colon {
        Some(c) => match known_suffix(line, i, c) {
            Some(s) => pair(line, s..c + 1, known(&line[s..=c]), true),
            None => Step::Skip(c + 1),
        },
        None => Step::Skip(end),
    }
}

/// The words that may hold the value of a label ending before `j`: the rest of its column, or
/// the next column when the label ends its own; up to the next "Label:".
fn value_region(line: &[Tok], j: usize) -> Range<usize> {
    let next_column = line.get(j).is_some_and(|t| t.gap_before);
    if j >= line.len() || (next_column && starts_label(line, j)) {
        return j..j;
    }
    let end = segment_end(line, j);
    match (j..end).find(|&k| is_colon(&line[k])) {
        Some(c) => j..known_suffix(line, j + 1, c).unwrap_or(c).max(j),
        None => j..end,
    }
}

fn pair(line: &[Tok], label: Range<usize>, candidates: Vec<Candidate>, colon: bool) -> Step {
    let region = value_region(line, label.end);
    let words = &line[region.clone()];
    if !words
        .iter()
        .any(|t| t.text.chars().any(char::is_alphanumeric))
    {
        return if candidates.is_empty() {
            Step::Skip(label.end)
        } else {
            Step::Dangling { label, candidates }
        };
    }
    // Names and terms are any words: only a colon or the line below says they are the value.
    if !colon && !candidates.is_empty() && candidates.iter().all(|c| c.1 == Kind::Text) {
        return Step::Skip(label.end);
    }
    if candidates.is_empty() {
        let category = pascal_case(&label_text(&line[label.clone()]));
        let normalized = join(words);
        let typed = Typed {
            category,
            normalized,
            issue: None,
            factor: 0.9,
        };
        return Step::Pair {
            label,
            value: region,
            typed,
        };
    }
    match typed_prefix(&candidates, words) {
        Some((n, mut typed)) => {
            let value = region.start..region.start + n;
            // Another number right after the value: a table row, not a label and its value.
            if !colon && line.get(value.end).is_some_and(|t| is_numeric(&t.text)) {
                return Step::Skip(label.end);
            }
            typed.factor = match (typed.issue.is_some(), colon) {
                (true, _) => 0.6,
                (false, true) => 1.0,
                (false, false) => 0.9,
            };
            Step::Pair {
                label,
                value,
                typed,
            }
        }
        None if colon => {
            let (category, kind) = candidates[0];
            let typed = Typed {
                category: category.to_string(),
                normalized: join(words),
                issue: Some(kind.invalid().to_string()),
                factor: 0.6,
            };
            Step::Pair {
                label,
                value: region,
                typed,
            }
        }
        None => Step::Skip(label.end),
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// The first candidate whose shape the leading words have: how many words, and the typed value.
fn typed_prefix(candidates: &[Candidate], words: &[Tok]) -> Option<(usize, Typed)> {
    candidates.iter().find_map(|&(category, kind)| {
        let (n, normalized) = shape_prefix(kind, words)?;
        let issue = validate(kind, &normalized);
        Some((
            n,
            Typed {
                category: category.to_string(),
                normalized,
                issue,
                factor: 1.0,
            },
        ))
    })
}

/// The fewest leading words that read as a value of `kind`, and that value.
pub(super) fn shape_prefix(kind: Kind, words: &[Tok]) -> Option<(usize, String)> {
    if kind == Kind::DocNumber {
        return doc_number(words);
    }
    // Words as printed are all or nothing: "GLN" is not the name in "GLN 4333741000005".
    if kind == Kind::Text {
        let n = words.len().min(kind.max_words());
        return normal(kind, &join(&words[..n])).map(|v| (n, v));
    }
    let text = |n: usize| join(&words[..n]);
    let max = words.len().min(kind.max_words());
    let (n, value) = (1..=max)
        .rev()
        .find_map(|n| normal(kind, &text(n)).map(|v| (n, v)))?;
    // Trim words that do not change the value: "12,00 EUR" -> "12,00".
    let n = (1..=n)
        .find(|&k| normal(kind, &text(k)).as_ref() == Some(&value))
        .unwrap_or(n);
    Some((n, value))
}

/// Series letters then the word carrying the number: "FT 2024/17", "FT AB2019/0035", "INV-17".
fn doc_number(words: &[Tok]) -> Option<(usize, String)> {
    let is_series =
        |t: &Tok| (1..=4).contains(&t.text.len()) && t.text.chars().all(|c| c.is_ascii_uppercase());
    let series = words.iter().take_while(|t| is_series(t)).count().min(2);
    let number = words.get(series)?;
    let ok =
        number.text.chars().any(|c| c.is_ascii_digit()) && normalize::date(&number.text).is_none();
    ok.then(|| (series + 1, join(&words[..=series])))
}

fn normal(kind: Kind, text: &str) -> Option<String> {
    let compact: String = text.split_whitespace().collect();
    match kind {
        Kind::Date => normalize::date(text),
        Kind::Amount => normalize::amount(text),
        Kind::TaxId => normalize::tax_id(text),
        Kind::Currency => normalize::currency(text),
        // Exactly the country's length: the words after an IBAN ("- BIC") stay out of it.
        Kind::Iban => Some(normalize::iban_compact(text)).filter(|i| ids::is_iban_shaped(i)),
        Kind::Bic => ids::is_bic(&compact).then_some(compact),
        Kind::Atcud => {
            // A validation code of eight or more characters, a dash and the document's number;
            // "0" where no ATCUD applies.
            let ok = compact == "0"
                || compact.split_once('-').is_some_and(|(code, number)| {
                    code.len() >= 8
                        && code.chars().all(|c| c.is_ascii_alphanumeric())
                        && !number.is_empty()
                        && number.chars().all(|c| c.is_ascii_digit())
                });
            ok.then_some(compact)
        }
        Kind::Email => {
            let email = compact.trim_matches(|c: char| ",;.<>()".contains(c));
            let ok = text.split_whitespace().count() == 1
                && email
                    .split_once('@')
                    .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
            ok.then(|| email.to_lowercase())
        }
        Kind::Phone => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let ok = text
                .chars()
                .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
                && (9..=15).contains(&digits.len());
            let plus = if text.trim_start().starts_with('+') {
                "+"
            } else {
                ""
            };
            ok.then(|| format!("{plus}{digits}"))
        }
        Kind::DocNumber => Some(text.to_string()),
        Kind::Text => {
            // Mostly letters: "GLN 4333741000005" under "Verkäufer" is an id, not a name.
            let letters = text.chars().filter(|c| c.is_alphabetic()).count();
            let visible = text.chars().filter(|c| !c.is_whitespace()).count();
            (letters >= 3 && letters * 3 >= visible * 2).then(|| text.trim().to_string())
        }
    }
}

/// Why a well-shaped value is still wrong.
pub(super) fn validate(kind: Kind, normalized: &str) -> Option<String> {
    match kind {
        Kind::TaxId => ids::tax_id_issue(normalized),
        Kind::Iban => {
            (!ids::iban_is_valid(normalized)).then(|| "invalid IBAN check digits".to_string())
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Label above value

fn bbox(toks: &[Tok]) -> Option<Rect> {
    toks.iter().map(|t| t.bbox).reduce(|a, b| a.union(&b))
}

/// The column right below a dangling label and overlapping it, when it holds a value.
fn below(
    lines: &[Vec<Tok>],
    used: &[Vec<bool>],
    li: usize,
    label: &Range<usize>,
    text: bool,
) -> Option<(usize, Range<usize>)> {
    let above = bbox(lines.get(li)?.get(label.clone())?)?;
    let h = above.height();
    let mut nearest: Option<(f64, f64, usize, Range<usize>)> = None;
    for (lj, line) in lines.iter().enumerate().filter(|(lj, _)| *lj != li) {
        for seg in segments(line) {
            let Some(b) = bbox(&line[seg.clone()]) else {
                continue;
            };
            let overlap = b.right.min(above.right) - b.left.max(above.left);
            let gap = b.top - above.bottom;
            if overlap <= 0.0 || gap < -0.3 * h || gap > 1.5 * h {
                continue;
            }
            let closer = nearest.as_ref().is_none_or(|(top, best, _, _)| {
                b.top < *top - 0.1 * h || (b.top <= *top + 0.1 * h && overlap > *best)
            });
            if closer {
                nearest = Some((b.top, overlap, lj, seg));
            }
        }
    }
    let (_, _, lj, seg) = nearest?;
    let line = &lines[lj];
    let free = !seg.clone().any(|k| used[lj][k]);
    // A name below "Verkäufer" may start with a label word ("Lieferant GmbH").
    let is_value =
        (text || !starts_label(line, seg.start)) && !line[seg.clone()].iter().any(is_colon);
    // Column headers above a table's rows are not labels, unless they are all labels (a
    // totals box: "Subtotal   IVA   Total" over three amounts).
    let label_line = &lines[li];
    let all_labels = segments(label_line)
        .into_iter()
        .all(|s| !known(&label_line[s]).is_empty());
    (free && is_value && (all_labels || !is_table_row(line))).then_some((lj, seg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_domain::text::Word;
    use docket_testkit::text::{line_at, page, page_of};

    /// Lines at 20pt steps from the top, all starting at x = 40.
    #[test]
    fn a_colon_set_apart_still_closes_its_label() {
        let line = line_at(
            40.0,
            40.0,
            "USt-IdNr.                    : DE136695976",
            1.0,
        );
        let fields = extract(&[page_of(1, vec![line])]);
        assert_eq!(get(&fields, "TaxId").content_normalized, "DE136695976");
    }

    fn get<'a>(fields: &'a [Field], category: &str) -> &'a Field {
        let found = fields.iter().find(|f| f.category_normalized == category);
        found.unwrap_or_else(|| panic!("no {category} in {fields:#?}"))
    }

    fn summary(fields: &[Field]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|f| (f.category_normalized.clone(), f.content_normalized.clone()))
            .collect()
    }

    fn assert_summary(fields: &[Field], want: &[(&str, &str)]) {
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(summary(fields), want);
    }

    #[test]
    fn every_lexicon_file_parses_and_names_known_categories() {
        for file in crate::LEXICON_FILES {
            let lexicon: crate::lexicon::Lexicon = serde_json::from_str(file).unwrap();
            for category in lexicon.labels.keys() {
                assert!(
                    CATEGORIES.iter().any(|(known, _)| known == category),
                    "{category}"
                );
            }
        }
    }

    #[test]
    fn portuguese_header() {
        let fields = extract(&[page(&[
            "ACME Lda   NIF: 501964843",
            "Fatura n.º FT 2024/17   Data: 16 de março de 2024",
            "ATCUD: JFJ7KXYZ-17",
            "IBAN: PT50 0002 0123 1234 5678 9015 4",
            "Total Ilíquido: 1.234,56 €",
            "IVA 23%: 283,95",
            "Total a pagar   1.518,51 €",
            "Vencimento 15/04/2024",
        ])]);
        assert_summary(
            &fields,
            &[
                ("TaxId", "501964843"),
                ("InvoiceNumber", "FT 2024/17"),
                ("InvoiceDate", "2024-03-16"),
                ("Atcud", "JFJ7KXYZ-17"),
                ("Iban", "PT50000201231234567890154"),
                ("NetTotal", "1234.56"),
                ("Iva23", "283,95"),
                ("AmountDue", "1518.51"),
                ("DueDate", "2024-04-15"),
            ],
        );
        assert!(fields.iter().all(|f| f.issue.is_none()), "{fields:#?}");
        let nif = get(&fields, "TaxId");
        assert_eq!(
            (nif.category.as_str(), nif.content.as_str()),
            ("NIF", "501964843")
        );
        assert_eq!(nif.confidence, 1.0);
        assert_eq!(nif.bbox.map(|b| b.left), Some(40.0 + 6.0 * 16.0));
        let total = get(&fields, "AmountDue");
        assert_eq!(
            (total.category.as_str(), total.content.as_str()),
            ("Total a pagar", "1.518,51")
        );
        assert_eq!(total.confidence, 0.9);
        assert_eq!(get(&fields, "InvoiceNumber").category, "Fatura n.º");
        assert_eq!(get(&fields, "InvoiceDate").content, "16 de março de 2024");
    }

    #[test]
    fn english_header() {
        let fields = extract(&[page(&[
            "Invoice #: INV-2024-0042",
            "Invoice Date: March 16, 2024      Due Date: 15/04/2024",
            "VAT No.: GB123456789",
            "Customer VAT: DE123456789",
            "Subtotal: 1,000.00",
            "VAT: 200.00",
            "Total (EUR): 1,200.00",
            "Currency: EUR",
            "Email: Billing@Example.com   Phone: +44 20 7946 0958",
        ])]);
        assert_summary(
            &fields,
            &[
                ("InvoiceNumber", "INV-2024-0042"),
                ("InvoiceDate", "2024-03-16"),
                ("DueDate", "2024-04-15"),
                ("TaxId", "GB123456789"),
                ("CustomerTaxId", "DE123456789"),
                ("NetTotal", "1000.00"),
                ("TaxTotal", "200.00"),
                ("Total", "1200.00"),
                ("Currency", "EUR"),
                ("Email", "billing@example.com"),
                ("Phone", "+442079460958"),
            ],
        );
        assert_eq!(get(&fields, "Total").category, "Total (EUR)");
    }

    #[test]
    fn labels_of_other_languages_come_from_their_lexicons() {
        let fields = extract(&[page(&[
            "Rechnungsnummer: 2024-117",
            "Rechnungsdatum: 05.03.2024",
            "Käufer USt-IdNr.: DE136695976",
            "Verkäufer-IBAN: DE02 1203 0000 0000 2020 51",
            "Nettobetrag: 1.000,00",
            "MwSt.: 190,00",
            "Gesamtbetrag: 1.190,00",
        ])]);
        assert_summary(
            &fields,
            &[
                ("InvoiceNumber", "2024-117"),
                ("InvoiceDate", "2024-03-05"),
                ("CustomerTaxId", "DE136695976"),
                ("Iban", "DE02120300000000202051"),
                ("NetTotal", "1000.00"),
                ("TaxTotal", "190.00"),
                ("Total", "1190.00"),
            ],
        );
        let fields = extract(&[page(&[
            "N° de facture : F-2024-09",
            "Total HT : 500,00",
            "TVA : 100,00",
            "Total TTC : 600,00",
        ])]);
        assert_summary(
            &fields,
            &[
                ("InvoiceNumber", "F-2024-09"),
                ("NetTotal", "500.00"),
                ("TaxTotal", "100.00"),
                ("Total", "600.00"),
            ],
        );
    }

    #[test]
    fn labels_above_values() {
        let fields = extract(&[page(&[
            "Data          Vencimento    NIF do Cliente   Fatura n.º",
            "01-02-2024    03-03-2024    123456789        FT A/9",
        ])]);
        assert_summary(
            &fields,
            &[
                ("InvoiceDate", "2024-02-01"),
                ("DueDate", "2024-03-03"),
                ("CustomerTaxId", "123456789"),
                ("InvoiceNumber", "FT A/9"),
            ],
        );
        assert!(fields.iter().all(|f| f.confidence == 0.8), "{fields:#?}");
        assert_eq!(get(&fields, "CustomerTaxId").category, "NIF do Cliente");
    }

    #[test]
    fn two_pairs_on_one_line() {
        for row in [
            "Data: 01-02-2024   NIF: 123456789",
            "Data: 01-02-2024 NIF: 123456789",
        ] {
            let fields = extract(&[page(&[row])]);
            let want = [("InvoiceDate", "2024-02-01"), ("TaxId", "123456789")];
            let want: Vec<_> = want
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            assert_eq!(summary(&fields), want, "{row}");
        }
        let fields = extract(&[page(&["Morada: Rua do Ouro 12 Cidade: Lisboa"])]);
        assert_summary(
            &fields,
            &[("Morada", "Rua do Ouro 12"), ("Cidade", "Lisboa")],
        );
    }

    #[test]
    fn ocr_noise() {
        let lines = vec![
            line_at(40.0, 40.0, "NlF:5O1964843", 0.8),
            line_at(40.0, 60.0, "Data de emissão : 16.03.22", 0.9),
            line_at(40.0, 80.0, "TOTAL  12,3", 0.7),
        ];
        let fields = extract(&[page_of(1, lines)]);
        assert_summary(
            &fields,
            &[
                ("TaxId", "501964843"),
                ("InvoiceDate", "2022-03-16"),
                ("Total", "12.30"),
            ],
        );
        let nif = get(&fields, "TaxId");
        assert_eq!(
            (nif.category.as_str(), nif.content.as_str()),
            ("NlF", "5O1964843")
        );
        assert!((nif.confidence - 0.8).abs() < 1e-9);
        assert!((get(&fields, "Total").confidence - 0.63).abs() < 1e-9);
    }

    #[test]
    fn invalid_values_are_flagged() {
        let fields = extract(&[page(&[
            "NIF: 123456788",
            "Data: 31/02/2024",
            "IBAN: PT50 0002 0123 1234 5678 9015 5",
        ])]);
        let issues: Vec<_> = fields.iter().map(|f| f.issue.as_deref()).collect();
        assert_eq!(
            issues,
            [
                Some("invalid FR SIREN or PT NIF check digits"),
                Some("not a valid date"),
                Some("invalid IBAN check digits")
            ]
        );
        assert!(fields.iter().all(|f| f.confidence == 0.6), "{fields:#?}");
        assert_eq!(fields[0].content_normalized, "123456788");
        assert_eq!(fields[2].content_normalized, "PT50000201231234567890155");
    }

    #[test]
    fn an_iban_ends_at_its_countrys_length() {
        let iban = ("Iban", "PT50000201231234567890154");
        for (row, want) in [
            ("IBAN: PT50 0002 0123 1234 5678 9015 4 - BIC", vec![iban]),
            (
                "IBAN PT50 0002 0123 1234 5678 9015 4 - BIC CGDIPTPL",
                vec![iban, ("Bic", "CGDIPTPL")],
            ),
        ] {
            let fields = extract(&[page(&[row])]);
            assert_summary(&fields, &want);
            assert_eq!(
                fields[0].content, "PT50 0002 0123 1234 5678 9015 4",
                "{row}"
            );
            assert!(fields.iter().all(|f| f.issue.is_none()), "{fields:#?}");
        }
        for row in [
            "IBAN: DE89 3704 0044 0532 0130 00 BIC: COBADEFFXXX",
            "IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX",
            "IBAN: DE89 3704 0044 0532 0130 00   BIC/SWIFT: COBADEFFXXX",
        ] {
            let fields = extract(&[page(&[row])]);
            assert_summary(
                &fields,
                &[("Iban", "DE89370400440532013000"), ("Bic", "COBADEFFXXX")],
            );
            assert!(fields.iter().all(|f| f.issue.is_none()), "{fields:#?}");
        }
        let fields = extract(&[page(&["Swift code: deutdeff", "SWIFT: DEUTXXFF"])]);
        let issues: Vec<_> = fields.iter().map(|f| f.issue.as_deref()).collect();
        assert_eq!(issues, [Some("not a BIC"), Some("not a BIC")]);
    }

    #[test]
    fn tax_ids_by_country_end_at_their_length() {
        let fields = extract(&[page(&[
            "NIF: 501 964 843 - Lisboa",
            "CIF: ESB12345674 Madrid",
            "N° TVA : FR 19 787 878 784 SIRET 123 456 782 00002",
            "USt-IdNr.: DE 136 695 976 Finanzamt",
            "BTW-nummer: NL 0044 95 445 B01",
            "Partita IVA: IT 12345678903 Milano",
            "VAT: BE 0403.019.261",
        ])]);
        assert_summary(
            &fields,
            &[
                ("TaxId", "501964843"),
                ("TaxId", "ESB12345674"),
                ("TaxId", "FR19787878784"),
                ("TaxId", "12345678200002"),
                ("TaxId", "DE136695976"),
                ("TaxId", "NL004495445B01"),
                ("TaxId", "IT12345678903"),
                ("TaxId", "BE0403019261"),
            ],
        );
        assert!(fields.iter().all(|f| f.issue.is_none()), "{fields:#?}");
        assert_eq!(fields[4].content, "DE 136 695 976");
        let fields = extract(&[page(&[
            "USt-IdNr.: DE 123 456 789",
            "N° TVA : FR 12 123 456 782",
            "NIF: ES 12345678A",
        ])]);
        let issues: Vec<_> = fields.iter().map(|f| f.issue.as_deref()).collect();
        assert_eq!(
            issues,
            [
                Some("invalid DE VAT number check digits"),
                Some("invalid FR TVA check digits"),
                Some("invalid ES NIF check digits"),
            ]
        );
    }

    #[test]
    fn junk_is_left_out() {
        let fields = extract(&[page(&[
            "Total:",
            "Descrição      Qtd   Preço     IVA    Total",
            "Caneta azul    2     1,00      23%    2,46",
            "Total IVA 23% 100,00 23,00",
            "Total      100,00     23,00     123,00",
            "Pagamento até à data 01-02-2024 por transferência",
            "Hora: 10:30",
            "NIF: 123456789",
            "N.I.F. 123456789",
        ])]);
        assert_summary(&fields, &[("Hora", "10:30"), ("TaxId", "123456789")]);
    }

    #[test]
    fn totals_box_above_values() {
        let fields = extract(&[page(&[
            "Subtotal      IVA       Total",
            "100,00        23,00     123,00",
        ])]);
        assert_summary(
            &fields,
            &[
                ("NetTotal", "100.00"),
                ("TaxTotal", "23.00"),
                ("Total", "123.00"),
            ],
        );
    }

    #[test]
    fn labels_after_text_and_repeats_across_pages() {
        let first = page(&[
            "Pagamento por transferência para o IBAN: PT50 0002 0123 1234 5678 9015 4",
            "NIF: 501964843",
        ]);
        let second = page_of(2, page(&["NIF: 501964843", "Página 2"]).lines);
        let fields = extract(&[first, second]);
        assert_summary(
            &fields,
            &[
                ("Iban", "PT50000201231234567890154"),
                ("TaxId", "501964843"),
            ],
        );
        assert_eq!(get(&fields, "Iban").category, "IBAN");
    }

    #[test]
    fn odd_input_does_not_panic() {
        let mut odd = page(&[":", ": :", "NIF:", "::::", "€", "Total: :", "a:b:c", "IBAN"]);
        let zero = Rect {
            left: 5.0,
            top: 5.0,
            right: 5.0,
            bottom: 5.0,
        };
        let word = |text: &str| Word {
            text: text.to_string(),
            bbox: zero,
            confidence: f64::NAN,
        };
        odd.lines.push(Line {
            words: vec![word("Data:"), word(""), word("  "), word("x")],
        });
        odd.lines.push(Line { words: Vec::new() });
        let fields = extract(&[odd]);
        assert!(fields.iter().all(|f| !f.content.is_empty()), "{fields:#?}");
    }

    #[test]
    fn pascal_case_labels() {
        assert_eq!(pascal_case("Data de carga"), "DataDeCarga");
        assert_eq!(pascal_case("Nº Encomenda"), "NoEncomenda");
        assert_eq!(pascal_case("..."), "");
    }
}
