//! Invoice fields of a document that carries an e-invoice (see `einvoice`): the XML's values
//! are authoritative, each placed on the page where it is printed; the page's own reading
//! fills only the categories the XML lacks; and where the page reads a category differently
//! and the XML's value is printed nowhere, a key-value with an `issue` says so.

use super::einvoice::{self, EmbeddedInvoice, Kind};
use super::normalize;
use docket_domain::text::{PageText, Rect, Word};
use docket_domain::understanding::Field;

/// The category of the key-value flagging a page/XML disagreement.
pub const MISMATCH: &str = "EmbeddedInvoiceMismatch";

/// Invoice fields, and the key-values flagging disagreements.
#[derive(Debug, Default)]
pub struct Merged {
    pub fields: Vec<Field>,
    pub mismatches: Vec<Field>,
}

/// The XML's fields placed on `pages`, then the page's reading (`read`, invoice fields from
/// `invoice::extract`) for what the XML lacks. `key_values` stand for the page's reading of
/// categories invoice fields do not cover (an IBAN).
pub fn merge(
    stated: &EmbeddedInvoice,
    read: Vec<Field>,
    pages: &[PageText],
    key_values: &[Field],
) -> Merged {
    let mut merged = Merged::default();
    for xml in &stated.fields {
        let category = xml.category_normalized.as_str();
        let kind = einvoice::kind(category);
        let on_page = read
            .iter()
            .find(|f| f.category_normalized == category)
            .or_else(|| {
                let mut labelled = key_values.iter();
                labelled.find(|f| f.category_normalized == category && f.issue.is_none())
            });
        let agrees = on_page.filter(|p| same(kind, &p.content_normalized, &xml.content_normalized));
        let place = agrees
            .and_then(|p| p.bbox.map(|b| (p.page_number, b)))
            .or_else(|| locate(kind, xml, pages));
        let mut field = xml.clone();
        if let Some((page_number, bbox)) = place {
            field.page_number = page_number;
            field.bbox = Some(bbox);
        } else if let Some(page) = on_page.filter(|_| agrees.is_none()) {
            merged.mismatches.push(mismatch(stated, xml, page));
        }
        merged.fields.push(field);
    }
    let has_vat = stated.fields.iter().any(|f| is_vat(&f.category_normalized));
    let covered = |category: &str| {
        (has_vat && is_vat(category))
            || stated
                .fields
                .iter()
                .any(|s| s.category_normalized == category)
    };
    let lacking = read
        .into_iter()
        .filter(|f| !covered(&f.category_normalized));
    merged.fields.extend(lacking);
    merged
}

/// A rate of the VAT breakdown (`VatBase:19.00`): the XML's breakdown replaces the page's whole.
fn is_vat(category: &str) -> bool {
    category.contains(':')
}

fn mismatch(stated: &EmbeddedInvoice, xml: &Field, page: &Field) -> Field {
    let category = &xml.category_normalized;
    Field {
        category: category.clone(),
        category_normalized: MISMATCH.to_string(),
        issue: Some(format!(
            "{category}: the page reads {}, the embedded e-invoice ({}) states {}",
            page.content_normalized, stated.file_name, xml.content_normalized
        )),
        ..page.clone()
    }
}

/// Without whitespace and upper-cased.
fn compact(text: &str) -> String {
    text.split_whitespace()
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A tax id without separators; `prefixless` also without a country prefix.
fn tax_key(text: &str, prefixless: bool) -> String {
    let key: String = compact(text)
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '/'))
        .collect();
    let prefix = key
        .get(..2)
        .filter(|p| p.chars().all(|c| c.is_ascii_alphabetic()));
    match prefix {
        Some(_) if prefixless => key[2..].to_string(),
        _ => key,
    }
}

/// Whether two normalised values of `kind` say the same.
fn same(kind: Kind, a: &str, b: &str) -> bool {
    match kind {
        Kind::Amount => {
            normalize::amount_cents(a).is_some_and(|x| Some(x) == normalize::amount_cents(b))
        }
        Kind::TaxId => {
            tax_key(a, false) == tax_key(b, false) || tax_key(a, true) == tax_key(b, true)
        }
        Kind::Text => normalize::fold(&compact(a)) == normalize::fold(&compact(b)),
        Kind::Address => normalize::same_address(a, b),
        Kind::Id | Kind::Date | Kind::Iban | Kind::Currency => compact(a) == compact(b),
    }
}

/// A printed amount with two decimals after a `.` or `,` ("1.234,56", "-8.79 €"), not a bare
/// number ("19") or grouped thousands ("1.234").
fn has_decimals(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    (1..chars.len()).any(|i| {
        matches!(chars[i], '.' | ',')
            && digit(i - 1)
            && digit(i + 1)
            && digit(i + 2)
            && !digit(i + 3)
    })
}

/// Where the XML's value is printed: the page and box of the fewest consecutive words of a line
/// that read as it. Amounts take the last such place (totals close an invoice), the rest the
/// first.
fn locate(kind: Kind, xml: &Field, pages: &[PageText]) -> Option<(u32, Rect)> {
    let value = xml.content_normalized.as_str();
    let cents = normalize::amount_cents(value);
    // A name or a sentence is found by its first words, as it may be broken over lines.
    let opening: Vec<&str> = xml
        .content
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .split_whitespace()
        .take(8)
        .collect();
    let opening = normalize::fold(&opening.join(" "));
    let reads_as = |text: &str| match kind {
        Kind::Amount => {
            has_decimals(text)
                && normalize::amount_cents(text)
                    .zip(cents)
                    .is_some_and(|(p, x)| p == x || p == -x)
        }
        Kind::Date => normalize::date(text).as_deref() == Some(value),
        Kind::TaxId => same(kind, text, value),
        Kind::Iban => normalize::iban_compact(text) == value,
        Kind::Id => compact(text.trim_end_matches([',', ';', ':'])) == compact(value),
        Kind::Currency => {
            let letters = text.chars().filter(|c| c.is_alphabetic()).count();
            letters <= 5 && normalize::currency(text).as_deref() == Some(value)
        }
        Kind::Text | Kind::Address => normalize::fold(text) == opening,
    };
    let sizes = match kind {
        Kind::Currency => 1..=1,
        Kind::Text | Kind::Address => {
            let words = opening.split_whitespace().count().max(1);
            words..=words
        }
        Kind::Iban => 1..=9,
        Kind::TaxId => 1..=5,
        Kind::Amount | Kind::Date | Kind::Id => 1..=4,
    };
    for size in sizes {
        let mut found = pages.iter().flat_map(|page| {
            page.lines
                .iter()
                .flat_map(move |line| line.words.windows(size))
                .filter(|words| reads_as(&joined(words)))
                .map(move |words| (page.page_number, bounds(words)))
        });
        let hit = if kind == Kind::Amount {
            found.last()
        } else {
            found.next()
        };
        if let Some((page, Some(bbox))) = hit {
            return Some((page, bbox));
        }
    }
    None
}

fn joined(words: &[Word]) -> String {
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    texts.join(" ")
}

fn bounds(words: &[Word]) -> Option<Rect> {
    let (first, rest) = words.split_first()?;
    Some(rest.iter().fold(first.bbox, |b, w| b.union(&w.bbox)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::einvoice::Syntax;
    use crate::{invoice, keyvalues};
    use docket_testkit::text::page;

    fn xml(category: &str, content: &str, normalized: &str) -> Field {
        Field {
            page_number: 1,
            category: "Element".into(),
            category_normalized: category.into(),
            content: content.into(),
            content_normalized: normalized.into(),
            bbox: None,
            confidence: 1.0,
            issue: None,
        }
    }

    fn stated(fields: Vec<Field>) -> EmbeddedInvoice {
        EmbeddedInvoice {
            file_name: "factur-x.xml".into(),
            syntax: Syntax::Cii,
            fields,
        }
    }

    fn run(stated: &EmbeddedInvoice, rows: &[&str]) -> Merged {
        let pages = [page(rows)];
        let key_values = keyvalues::extract(&pages);
        let read = invoice::extract(&pages, &key_values, &[], &[]);
        merge(stated, read, &pages, &key_values)
    }

    fn get<'a>(fields: &'a [Field], category: &str) -> &'a Field {
        let found = fields.iter().find(|f| f.category_normalized == category);
        found.unwrap_or_else(|| panic!("no {category} in {fields:#?}"))
    }

    /// The words' text under a field's box, on the page `run` builds.
    fn under(rows: &[&str], field: &Field) -> String {
        let bbox = field.bbox.unwrap_or_else(|| panic!("no box: {field:#?}"));
        let page = page(rows);
        let words = page.lines.iter().flat_map(|l| &l.words);
        let inside = words.filter(|w| w.bbox.left >= bbox.left && w.bbox.right <= bbox.right);
        let inside = inside.filter(|w| w.bbox.top >= bbox.top && w.bbox.bottom <= bbox.bottom);
        inside
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    const ROWS: [&str; 8] = [
        "Muster GmbH   USt-IdNr.: DE 123 456 789",
        "Rechnung Nr. RE-2024-0815",
        "Rechnungsdatum: 15.03.2024",
        "Position 1   100,00 €",
        "Nettobetrag: 150,00 €",
        "MwSt.: 22,50 €",
        "Gesamtbetrag: 172,50 €",
        "IBAN DE75 5121 0800 1245 1261 99   Zahlbar innerhalb 30 Tagen",
    ];

    #[test]
    fn xml_values_placed_on_the_page() {
        let invoice = stated(vec![
            xml("SupplierTaxId", "DE123456789", "DE123456789"),
            xml("SupplierName", "Muster\n  GmbH", "Muster GmbH"),
            xml("InvoiceNumber", "RE-2024-0815", "RE-2024-0815"),
            xml("InvoiceDate", "20240315", "2024-03-15"),
            xml("Currency", "EUR", "EUR"),
            xml("NetTotal", "150.00", "150.00"),
            xml("TaxTotal", "22.50", "22.50"),
            xml("GrossTotal", "172.5000", "172.50"),
            xml(
                "Iban",
                "DE75 5121 0800 1245 1261 99",
                "DE75512108001245126199",
            ),
            xml("VatBase:19.00", "100.00", "100.00"),
            xml("PurchaseOrder", "PO-9", "PO-9"),
        ]);
        let merged = run(&invoice, &ROWS);
        assert!(merged.mismatches.is_empty(), "{:#?}", merged.mismatches);
        let placed = [
            ("SupplierTaxId", "DE 123 456 789"),
            ("SupplierName", "Muster"),
            ("InvoiceNumber", "RE-2024-0815"),
            ("InvoiceDate", "15.03.2024"),
            ("NetTotal", "150,00"),
            ("TaxTotal", "22,50"),
            ("GrossTotal", "172,50"),
            ("Iban", "DE75 5121 0800 1245 1261 99"),
            ("VatBase:19.00", "100,00"),
        ];
        for (category, printed) in placed {
            let field = get(&merged.fields, category);
            assert_eq!(under(&ROWS, field), printed, "{category}");
            assert_eq!(field.confidence, 1.0);
        }
        let order = get(&merged.fields, "PurchaseOrder");
        assert_eq!((order.bbox, order.page_number), (None, 1), "not printed");
        let categories: Vec<&str> = merged
            .fields
            .iter()
            .map(|f| f.category_normalized.as_str())
            .collect();
        assert_eq!(categories.len(), invoice.fields.len(), "{categories:?}");
    }

    #[test]
    fn the_page_fills_what_the_xml_lacks() {
        let invoice = stated(vec![xml("GrossTotal", "172.50", "172.50")]);
        let merged = run(&invoice, &ROWS);
        let net = get(&merged.fields, "NetTotal");
        assert_eq!(net.content_normalized, "150.00");
        assert_eq!(net.category, "Nettobetrag", "read from the page");
        assert_eq!(get(&merged.fields, "GrossTotal").category, "Element");
    }

    #[test]
    fn disagreement_is_flagged() {
        let invoice = stated(vec![
            xml("GrossTotal", "180.00", "180.00"),
            xml("InvoiceNumber", "RE-2024-0815", "RE-2024-0815"),
        ]);
        let merged = run(&invoice, &ROWS);
        let gross = get(&merged.fields, "GrossTotal");
        assert_eq!(
            (
                gross.content_normalized.as_str(),
                gross.bbox,
                gross.confidence
            ),
            ("180.00", None, 1.0),
            "the XML's value stands"
        );
        assert_eq!(merged.mismatches.len(), 1, "{:#?}", merged.mismatches);
        let flag = &merged.mismatches[0];
        assert_eq!(flag.category_normalized, MISMATCH);
        assert_eq!(flag.category, "GrossTotal");
        assert_eq!(under(&ROWS, flag), "172,50");
        assert_eq!(
            flag.issue.as_deref(),
            Some("GrossTotal: the page reads 172.50, the embedded e-invoice (factur-x.xml) states 180.00")
        );
    }

    #[test]
    fn a_value_printed_elsewhere_is_no_disagreement() {
        // The page's reading takes the wrong line, but the XML's value is printed.
        let rows = ["Gesamtbetrag: 10,00", "Zu zahlen 172,50 EUR"];
        let invoice = stated(vec![xml("GrossTotal", "172.50", "172.50")]);
        let merged = run(&invoice, &rows);
        assert!(merged.mismatches.is_empty(), "{:#?}", merged.mismatches);
        assert_eq!(under(&rows, get(&merged.fields, "GrossTotal")), "172,50");
    }

    #[test]
    fn comparisons() {
        assert!(same(Kind::TaxId, "136695976", "DE136695976"));
        assert!(same(Kind::TaxId, "201/113/40209", "20111340209"));
        assert!(!same(Kind::TaxId, "DE136695976", "DE136695977"));
        assert!(same(Kind::Amount, "1234.5", "1234.50"));
        assert!(same(Kind::Text, "MÜLLER  GmbH", "Müller GmbH"));
        assert!(has_decimals("1.234,56"));
        assert!(!has_decimals("19"));
        assert!(!has_decimals("1.234"));
        assert!(!has_decimals("0,5000"));
    }
}
