//! The parties of an invoice: the supplier's and the customer's name and postal address, read
//! from the block a role heading opens ("Verkäufer", "Bill To:", "Facturé à"): the value after
//! the heading on its line, then the lines under it in its column. Lines may carry the
//! lexicons' party labels ("Name:", "Anschrift:"); other labelled lines (numbers, tax ids,
//! phones) are passed over. The address ends at the line with the postcode, and the country's
//! name after it.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use super::keyvalues::{self, Tok};
use super::normalize;
use docket_domain::text::{PageText, Rect};
use docket_domain::understanding::Field;

/// The name category a heading names, and the address category that goes with it.
const ROLES: [(&str, &str); 2] = [
    ("SupplierName", "SupplierAddress"),
    ("CustomerName", "CustomerAddress"),
];
/// Lines a party's block holds at most after its heading.
const BLOCK_LINES: usize = 8;
/// Address lines at most when no postcode ends them.
const ADDRESS_LINES: usize = 4;

/// Name and address of each party that has a heading, the first heading of each role; a
/// supplier without one is the letterhead's.
pub fn extract(pages: &[PageText], key_values: &[Field]) -> Vec<Field> {
    let mut out = Vec::new();
    let tokenized: Vec<Vec<Vec<Tok>>> = pages
        .iter()
        .map(|page| page.lines.iter().map(keyvalues::tokens).collect())
        .collect();
    let others = |page: &PageText| -> Vec<&Field> {
        let on_page = key_values
            .iter()
            .filter(|kv| kv.page_number == page.page_number);
        on_page.collect()
    };
    for role in ROLES {
        let found = pages.iter().zip(&tokenized).find_map(|(page, lines)| {
            let (li, head, inline) = heading(lines, role.0)?;
            let block = block(lines, li, &head, inline);
            let label = keyvalues::join(&head)
                .trim_end_matches(':')
                .trim()
                .to_string();
            party(
                page.page_number,
                &label,
                &block,
                &others(page),
                role,
                HEADED,
            )
        });
        let letterhead = || {
            let (page, lines) = (pages.first()?, tokenized.first()?);
            let (li, name) = letterhead(page, lines)?;
            let block = block(lines, li, &name, name.clone());
            party(
                page.page_number,
                "",
                &block,
                &others(page),
                role,
                LETTERHEAD,
            )
        };
        let found = match found {
            None if role.0 == "SupplierName" => letterhead(),
            found => found,
        };
        out.extend(found.into_iter().flatten());
    }
    out
}

/// How sure a name is under a heading, and as the letterhead.
const HEADED: f64 = 0.8;
const LETTERHEAD: f64 = 0.6;

/// The letterhead: the line set in the largest type in the top quarter of the first page, at
/// least a fifth larger than the page's usual type, that reads as a name and is not the
/// document's title or a label.
fn letterhead(page: &PageText, lines: &[Vec<Tok>]) -> Option<(usize, Vec<Tok>)> {
    let usual = usual_height(lines);
    let lexicons = keyvalues::lexicons();
    let mut best: Option<(f64, usize, Vec<Tok>)> = None;
    for (li, line) in lines.iter().enumerate() {
        for seg in keyvalues::segments(line) {
            let words = &line[seg];
            let Some(b) = bounds(words) else { continue };
            // "Handelsrechnung Nr. 471102", "Rechnung des Versicherers": the title line.
            let title = words.iter().any(|t| {
                let key = keyvalues::label_key(&t.text);
                lexicons
                    .titles
                    .iter()
                    .any(|title| key.ends_with(title.as_str()))
                    || lexicons.number_marks.contains(&key)
            });
            let labelled = words.iter().any(keyvalues::is_colon);
            let height = b.height();
            let stands_out = height >= 1.2 * usual && b.top < page.height / 4.0;
            let roles = ROLES.iter().any(|(r, _)| names_role(words, r));
            let larger = best.as_ref().is_none_or(|(h, ..)| height > *h);
            if stands_out && larger && !title && !labelled && !roles && is_name(words) {
                best = Some((height, li, words.to_vec()));
            }
        }
    }
    best.map(|(_, li, words)| (li, words))
}

/// The first segment of a line that is a heading of `role` ("Käufer:", "Bill To"): its line,
/// the heading's words, and the words of a value after it on its line.
fn heading(lines: &[Vec<Tok>], role: &str) -> Option<(usize, Vec<Tok>, Vec<Tok>)> {
    lines.iter().enumerate().find_map(|(li, line)| {
        let segments = keyvalues::segments(line);
        segments.iter().enumerate().find_map(|(si, seg)| {
            let words = &line[seg.clone()];
            // The heading is its column's only words, or a colon closes it ("Bill To: ACME"):
            // "Lieferant GmbH" is a name, not the heading "Lieferant".
            let closed = |n: usize| {
                n == words.len() || keyvalues::is_colon(&words[n - 1]) || words[n].text == ":"
            };
            let n = (1..=words.len().min(5))
                .rev()
                .find(|&n| closed(n) && names_role(&words[..n], role))?;
            let mut inline: Vec<Tok> = words[n..].to_vec();
            let ends_with_colon = inline.is_empty() && words[n - 1].text.ends_with(':');
            // "Verkäufer:      Lieferant GmbH": the value stands in the next column.
            if inline.is_empty() && ends_with_colon {
                if let Some(next) = segments.get(si + 1) {
                    let next_words = &line[next.clone()];
                    // "Bill To:      Ship To:": a label beside it is no value.
                    if !next_words.iter().any(keyvalues::is_colon) {
                        inline = next_words.to_vec();
                    }
                }
            }
            inline.retain(|t| t.text != ":");
            Some((li, words[..n].to_vec(), inline))
        })
    })
}

/// The median height of the page's lines (OCR boxes each word tightly: "von" is lower than
/// "Verkäufer").
fn usual_height(lines: &[Vec<Tok>]) -> f64 {
    let mut heights: Vec<f64> = lines
        .iter()
        .filter_map(|l| bounds(l))
        .map(|b| b.height())
        .collect();
    heights.sort_by(f64::total_cmp);
    heights.get(heights.len() / 2).copied().unwrap_or(0.0)
}

/// Whether `words` (a colon after them aside) are one of the lexicons' labels of `role`.
fn names_role(words: &[Tok], role: &str) -> bool {
    static ROLE_LABELS: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    let labels = ROLE_LABELS.get_or_init(|| {
        let labels = keyvalues::lexicons().labels();
        let of_roles = labels.filter(|(_, (category, _))| ROLES.iter().any(|(r, _)| r == category));
        of_roles
            .map(|(key, (category, _))| (key.to_string(), category))
            .collect()
    });
    let text = keyvalues::join(words);
    let key = keyvalues::label_key(text.trim_end_matches(':'));
    labels.get(&key) == Some(&role)
}

/// The heading's line with the inline value, then the parts of the lines below it that stand
/// in its column, up to a blank gap, another heading or [`BLOCK_LINES`].
fn block(lines: &[Vec<Tok>], li: usize, head: &[Tok], inline: Vec<Tok>) -> Vec<Vec<Tok>> {
    let Some(head_box) = bounds(head) else {
        return Vec::new();
    };
    // OCR boxes a word tightly: the page's usual line is the measure too.
    let height = head_box.height().max(usual_height(lines)).max(1.0);
    let left = head_box.left - 1.5 * height;
    // A heading beside it on its line ("Bill To:    Ship To:") closes its column.
    let right = lines[li]
        .iter()
        .filter(|t| t.gap_before && t.bbox.left > head_box.right)
        .filter(|t| !inline.iter().any(|i| i.bbox == t.bbox))
        .map(|t| t.bbox.left)
        .fold(f64::INFINITY, f64::min);
    let mut block = vec![inline];
    let mut bottom = head_box.bottom;
    // All lines below, whatever order OCR read its blocks in.
    let mut below: Vec<&Vec<Tok>> = lines
        .iter()
        .filter(|l| {
            l.first()
                .is_some_and(|t| t.bbox.top > head_box.top + height / 2.0)
        })
        .collect();
    below.sort_by(|a, b| a[0].bbox.top.total_cmp(&b[0].bbox.top));
    for line in below {
        let in_column: Vec<Tok> = keyvalues::segments(line)
            .into_iter()
            .filter(|seg| {
                let b = bounds(&line[seg.clone()]);
                b.is_some_and(|b| b.left >= left && b.left < right)
            })
            .flat_map(|seg| line[seg].to_vec())
            .collect();
        let Some(b) = bounds(&in_column) else {
            continue;
        };
        let is_heading = ROLES
            .iter()
            .any(|(r, _)| heading(std::slice::from_ref(&in_column), r).is_some());
        if b.top - bottom > 2.5 * height || is_heading || block.len() > BLOCK_LINES {
            break;
        }
        bottom = b.bottom;
        block.push(in_column);
    }
    block
}

/// What a line of a party's block holds.
enum Part {
    Name(Range<usize>),
    Address(Range<usize>),
    /// A line labelled as something else (a number, a tax id, a phone).
    Other,
    Plain,
}

fn part(line: &[Tok], others: &[&Field]) -> Part {
    let lexicons = keyvalues::lexicons();
    // "Name: Lieferant GmbH", "Anschrift: Lieferantenstraße 20".
    let colon = line.iter().take(4).position(keyvalues::is_colon);
    if let Some(c) = colon {
        let label = keyvalues::label_key(&keyvalues::join(&line[..=c]));
        let value = c + 1..line.len();
        if lexicons.party_names.contains(&label) {
            return Part::Name(value);
        }
        if lexicons.party_addresses.contains(&label) {
            return Part::Address(value);
        }
        let letters = line[..=c]
            .iter()
            .any(|t| t.text.chars().any(char::is_alphabetic));
        if letters {
            return Part::Other;
        }
    }
    let Some(b) = bounds(line) else {
        return Part::Other;
    };
    if normalize::date(&keyvalues::join(line)).is_some() {
        return Part::Other;
    }
    let labelled = others.iter().any(|kv| {
        kv.bbox.is_some_and(|k| {
            k.top < b.bottom && b.top < k.bottom && k.left < b.right && b.left < k.right
        }) && !ROLES.iter().any(|(r, _)| kv.category_normalized == *r)
    });
    if labelled {
        Part::Other
    } else {
        Part::Plain
    }
}

/// The party's name and address fields from its block.
fn party(
    page_number: u32,
    label: &str,
    block: &[Vec<Tok>],
    others: &[&Field],
    (name_category, address_category): (&str, &str),
    sure: f64,
) -> Option<Vec<Field>> {
    let mut name: Option<Vec<Tok>> = None;
    // "Herrn" on its own line before the person's name.
    let mut salutation: Vec<Tok> = Vec::new();
    let mut address: Vec<Vec<Tok>> = Vec::new();
    let mut ended = false;
    for line in block.iter().filter(|l| !l.is_empty()) {
        let words = match part(line, others) {
            Part::Plain if name.is_none() && is_salutation(line) => {
                salutation = line.clone();
                continue;
            }
            // A labelled name line carries on a name begun on the line above it.
            Part::Name(range) if address.is_empty() => {
                let begun = name.take().unwrap_or_default();
                name = Some([&salutation[..], &begun[..], &line[range]].concat());
                continue;
            }
            Part::Address(range) => line[range].to_vec(),
            Part::Plain => line.clone(),
            Part::Name(_) | Part::Other => {
                if !address.is_empty() {
                    break;
                }
                continue;
            }
        };
        match &name {
            None if is_name(&words) => name = Some([&salutation[..], &words[..]].concat()),
            None => {}
            Some(_) if ended => {
                // The country after the postcode's line ("Deutschland").
                if is_region(&words) {
                    address.push(words);
                }
                break;
            }
            Some(_) => {
                ended = has_postcode(&words);
                address.push(words);
                if address.len() == ADDRESS_LINES && !ended {
                    break;
                }
            }
        }
    }
    let name = name.filter(|n| !n.is_empty())?;
    // A letterhead is only taken for a name with an address under it.
    if sure == LETTERHEAD && !ended {
        return None;
    }
    let mut out = vec![field(page_number, label, name_category, &[name], " ", sure)];
    let has_digit = address
        .iter()
        .flatten()
        .any(|t| t.text.chars().any(|c| c.is_ascii_digit()));
    if has_digit {
        // An address that does not end at a postcode may have run on.
        let sure = if ended { sure } else { sure * 0.75 };
        out.push(field(
            page_number,
            label,
            address_category,
            &address,
            ", ",
            sure,
        ));
    }
    Some(out)
}

fn is_salutation(line: &[Tok]) -> bool {
    let key = keyvalues::label_key(&keyvalues::join(line));
    keyvalues::lexicons().salutations.contains(&key)
}

/// Mostly letters, as a name is ("GLN 4333741000005" is an id).
fn is_name(words: &[Tok]) -> bool {
    let text = keyvalues::join(words);
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let visible = text.chars().filter(|c| !c.is_whitespace()).count();
    letters >= 3 && letters * 3 >= visible * 2
}

/// A postcode: five or six digits, maybe after a country code ("D-80333", "DE 80333"); four
/// digits before the city ("1010 Wien", "1234 AB Amsterdam"; "Rua X, 1120" is a house number);
/// a Portuguese or Polish one with its dash ("1000-001", "00-950"); or a British one
/// ("SW1B 3BN").
pub(super) fn has_postcode(words: &[Tok]) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let continental = words.iter().enumerate().any(|(i, t)| {
        // A comma parts a house number from its street ("LOT 33198, BATU 4"), not a postcode
        // from its city.
        let last = i + 1 == words.len();
        if t.text.ends_with(',') && !last {
            return false;
        }
        let text = t.text.trim_end_matches(',');
        let code = match text.split_once('-') {
            Some((country, code)) if country.chars().all(|c| c.is_ascii_uppercase()) => code,
            _ => text,
        };
        let dashed = code
            .split_once('-')
            .is_some_and(|(a, b)| digits(a) && digits(b) && a.len() + b.len() >= 5);
        let city_follows = words
            .get(i + 1)
            .is_some_and(|next| next.text.starts_with(char::is_alphabetic));
        let length = code.chars().count();
        dashed || digits(code) && ((5..=6).contains(&length) || length == 4 && city_follows)
    });
    let british = words.windows(2).any(|pair| {
        let (outward, inward) = (&pair[0].text, pair[1].text.trim_end_matches(','));
        let shaped = |s: &str, len: Range<usize>| {
            len.contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && s.chars().any(|c| c.is_ascii_digit())
                && s.chars().any(|c| c.is_ascii_uppercase())
        };
        shaped(outward, 2..5)
            && shaped(inward, 3..4)
            && inward.starts_with(|c: char| c.is_ascii_digit())
    });
    continental || british
}

/// A state or a country after the postcode's line: one to three words of letters
/// ("Deutschland", "SELANGOR DARUL EHSAN.").
pub(super) fn is_region(words: &[Tok]) -> bool {
    (1..=3).contains(&words.len())
        && words.iter().all(|t| {
            let word = t.text.trim_end_matches(['.', ',']);
            word.chars().count() >= 2 && word.chars().all(char::is_alphabetic)
        })
}

fn bounds(words: &[Tok]) -> Option<Rect> {
    words.iter().map(|t| t.bbox).reduce(|a, b| a.union(&b))
}

fn field(
    page_number: u32,
    label: &str,
    category: &str,
    lines: &[Vec<Tok>],
    separator: &str,
    sure: f64,
) -> Field {
    let words: Vec<&Tok> = lines.iter().flatten().collect();
    let confidence = words.iter().map(|t| t.confidence).fold(1.0, f64::min);
    let text = lines
        .iter()
        .map(|l| keyvalues::join(l))
        .collect::<Vec<_>>()
        .join(separator);
    Field {
        page_number,
        category: label.to_string(),
        category_normalized: category.to_string(),
        content: text.clone(),
        content_normalized: text,
        bbox: words.iter().map(|t| t.bbox).reduce(|a, b| a.union(&b)),
        confidence: confidence * sure,
        issue: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_domain::text::Line;
    use docket_testkit::text::{line_at, page, page_of};

    fn parties_of(page: PageText) -> Vec<(String, String)> {
        let pages = [page];
        let key_values = keyvalues::extract(&pages);
        let found = extract(&pages, &key_values);
        let summary = found
            .iter()
            .map(|f| (f.category_normalized.clone(), f.content_normalized.clone()));
        summary.collect()
    }

    fn assert_parties(page: PageText, expected: &[(&str, &str)]) {
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect();
        assert_eq!(parties_of(page), expected);
    }

    #[test]
    fn labelled_lines_in_a_block_and_other_labels_passed_over() {
        assert_parties(
            page(&[
                "Verkäufer",
                "Nummer: 549910",
                "Name: Lieferant GmbH",
                "Anschrift: Lieferantenstraße 20",
                "DE 80333 München",
                "USt-IdNr.: DE123456789",
                "",
                "",
                "Käufer/Leistungsempfänger:",
                "Kunden AG Mitte",
                "Kundenstraße 15",
                "69876 Frankfurt",
                "Deutschland",
                "Telefon: +49 69 1234567",
            ]),
            &[
                ("SupplierName", "Lieferant GmbH"),
                ("SupplierAddress", "Lieferantenstraße 20, DE 80333 München"),
                ("CustomerName", "Kunden AG Mitte"),
                (
                    "CustomerAddress",
                    "Kundenstraße 15, 69876 Frankfurt, Deutschland",
                ),
            ],
        );
    }

    #[test]
    fn a_heading_beside_another_keeps_to_its_column() {
        assert_parties(
            page(&[
                "Bill To:                      Ship To:",
                "Acme Trading Ltd              Acme Warehouse",
                "12 High Street                Unit 5, Dock Road",
                "London SW1A 1AA               Tilbury RM18 7EH",
            ]),
            &[
                ("CustomerName", "Acme Trading Ltd"),
                ("CustomerAddress", "12 High Street, London SW1A 1AA"),
            ],
        );
    }

    #[test]
    fn a_value_after_the_heading_and_a_salutation_line() {
        assert_parties(
            page(&[
                "Facturé à : Dupont SARL",
                "12 rue de la Paix",
                "75002 Paris",
            ]),
            &[
                ("CustomerName", "Dupont SARL"),
                ("CustomerAddress", "12 rue de la Paix, 75002 Paris"),
            ],
        );
        assert_parties(
            page(&[
                "Rechnungsempfänger",
                "Herrn",
                "Max Mustermann",
                "Musterstr. 11",
                "12346 Bad Musterhausen",
            ]),
            &[
                ("CustomerName", "Herrn Max Mustermann"),
                ("CustomerAddress", "Musterstr. 11, 12346 Bad Musterhausen"),
            ],
        );
    }

    /// A line in type `scale` times the usual.
    fn in_type(line: Line, scale: f64) -> Line {
        let words = line.words.into_iter().map(|mut w| {
            w.bbox.bottom = w.bbox.top + w.bbox.height() * scale;
            w
        });
        Line {
            words: words.collect(),
        }
    }

    #[test]
    fn the_letterhead_is_the_supplier_without_a_heading() {
        let lines = vec![
            in_type(line_at(40.0, 40.0, "Rua Nova Lda.", 1.0), 1.5),
            in_type(line_at(400.0, 40.0, "FATURA", 1.0), 2.0),
            line_at(40.0, 60.0, "Rua de Santa Catarina, 1120", 1.0),
            line_at(40.0, 75.0, "4000-447 Porto", 1.0),
            line_at(40.0, 90.0, "NIF: 500000000", 1.0),
            line_at(40.0, 200.0, "Cliente", 1.0),
            line_at(40.0, 215.0, "Maria Silva", 1.0),
            line_at(40.0, 230.0, "Largo do Município, 3", 1.0),
            line_at(40.0, 245.0, "7000-548 Évora", 1.0),
        ];
        assert_parties(
            page_of(1, lines),
            &[
                ("SupplierName", "Rua Nova Lda."),
                (
                    "SupplierAddress",
                    "Rua de Santa Catarina, 1120, 4000-447 Porto",
                ),
                ("CustomerName", "Maria Silva"),
                ("CustomerAddress", "Largo do Município, 3, 7000-548 Évora"),
            ],
        );
    }

    #[test]
    fn a_name_that_begins_with_a_role_word_is_no_heading() {
        let found = parties_of(page(&["Lieferant GmbH", "Lieferantenstraße 20"]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn postcodes() {
        let words = |text: &str| keyvalues::tokens(&line_at(0.0, 0.0, text, 1.0));
        for line in [
            "DE 80333 München",
            "D-80333 München",
            "1000-001 Lisboa",
            "1010 Wien",
            "1234 AB Amsterdam",
            "London SW1B 3BN",
            "Bengaluru 560001",
        ] {
            assert!(has_postcode(&words(line)), "{line}");
        }
        for line in [
            "Musterstraße 42",
            "Rua de Santa Catarina, 1120",
            "Unit 5",
            "LOT P.T. 33198, BATU 4",
            "LOT P.T. 2811, JALAN ANGSA,",
        ] {
            assert!(!has_postcode(&words(line)), "{line}");
        }
    }
}
