//! Invoice fields for invoice workspaces: supplier and customer tax ids, number, ATCUD, dates,
//! currency, totals and the VAT breakdown per rate. Chosen from key-values and tables, then
//! overridden by the Portuguese fiscal QR code where it states them (`qrfields`), and checked
//! against themselves (net + tax must make the total).

use super::{fields, keyvalues, line_items, normalize, parties, qrfields};
use docket_domain::text::{PageText, Rect, Word};
use docket_domain::understanding::{Field, QrCode, Table};

/// The invoice fields in output order; the VAT breakdown (`VatBase:23.00`, `VatAmount:23.00`)
/// follows, highest rate first.
const ORDER: [&str; 18] = [
    "SupplierName",
    "SupplierTaxId",
    "SupplierAddress",
    "CustomerName",
    "CustomerTaxId",
    "CustomerAddress",
    "DocumentType",
    "InvoiceNumber",
    "Atcud",
    "InvoiceDate",
    "DueDate",
    "Currency",
    "NetTotal",
    "TaxTotal",
    "GrossTotal",
    "PurchaseOrder",
    "PaymentTerms",
    "Iban",
];

/// At most one field per invoice category, in [`ORDER`], then the VAT breakdown.
pub fn extract(
    pages: &[PageText],
    key_values: &[Field],
    tables: &[Table],
    qr_codes: &[QrCode],
) -> Vec<Field> {
    let candidates = fields::candidates(pages, key_values);
    let items_total = line_items::amounts_total(tables);
    let mut fields = from_key_values(pages, key_values, &candidates, items_total);
    fields.extend(vat_breakdown(tables, key_values));
    let currency = fields::best_of(&candidates, "Currency", "Currency")
        .or_else(|| currency(pages, key_values, &fields));
    fields.extend(currency);
    if let Some(qr) = qr_codes.iter().find(|q| !q.fields.is_empty()) {
        qrfields::apply(&mut fields, qr);
    }
    check_sum(&mut fields);
    fields.sort_by_key(|f| rank(&f.category_normalized));
    fields
}

fn rank(category: &str) -> (usize, i128, bool) {
    match category.split_once(':') {
        Some((kind, rate)) => (
            ORDER.len(),
            -normalize::amount_cents(rate).unwrap_or(0),
            kind != "VatBase",
        ),
        None => (
            ORDER
                .iter()
                .position(|c| *c == category)
                .unwrap_or(ORDER.len()),
            0,
            false,
        ),
    }
}

fn renamed(field: &Field, category: &str) -> Field {
    Field {
        category_normalized: category.to_string(),
        ..field.clone()
    }
}

fn cents(field: &Field) -> Option<i128> {
    normalize::amount_cents(&field.content_normalized)
}

/// Tax ids compare without the Portuguese country prefix.
pub(super) fn tax_key(id: &str) -> String {
    let id = id.trim().to_ascii_uppercase();
    id.strip_prefix("PT").map(str::to_string).unwrap_or(id)
}

fn from_key_values(
    pages: &[PageText],
    kvs: &[Field],
    candidates: &[fields::Candidate],
    items_total: Option<i128>,
) -> Vec<Field> {
    let of = |category: &'static str| {
        kvs.iter()
            .filter(move |f| f.category_normalized == category)
    };
    let valid_first = |category| {
        of(category)
            .find(|f| f.issue.is_none())
            .or(of(category).next())
    };
    let mut out = Vec::new();

    // The supplier's id heads the first page; the customer's is the other one.
    let mut plain: Vec<&Field> = Vec::new();
    for f in of("TaxId") {
        if !plain
            .iter()
            .any(|p| tax_key(&p.content_normalized) == tax_key(&f.content_normalized))
        {
            plain.push(f);
        }
    }
    let first_page = pages.iter().map(|p| p.page_number).min().unwrap_or(1);
    let heads_first_page = |f: &&Field| {
        let page = pages.iter().find(|p| p.page_number == f.page_number);
        f.page_number == first_page
            && f.bbox
                .zip(page)
                .is_some_and(|(b, p)| b.top < p.height / 2.0)
    };
    let supplier = of("SupplierTaxId")
        .next()
        .or(plain.first().copied().filter(heads_first_page));
    let customer = of("CustomerTaxId").next().or(match supplier {
        Some(s) => plain
            .iter()
            .find(|f| tax_key(&f.content_normalized) != tax_key(&s.content_normalized))
            .copied(),
        None => plain.get(1).copied(),
    });
    out.extend(supplier.map(|f| renamed(f, "SupplierTaxId")));
    out.extend(customer.map(|f| renamed(f, "CustomerTaxId")));

    out.extend(valid_first("Atcud").map(|f| renamed(f, "Atcud")));
    out.extend(fields::number(candidates));
    let parties = parties::extract(pages, kvs);
    for category in ["SupplierName", "CustomerName"] {
        let in_block = parties.iter().find(|f| f.category_normalized == category);
        out.extend(
            in_block
                .cloned()
                .or_else(|| fields::best_of(candidates, category, category)),
        );
    }
    out.extend(
        parties
            .into_iter()
            .filter(|f| f.category_normalized.ends_with("Address")),
    );
    for category in ["PurchaseOrder", "PaymentTerms", "Iban"] {
        out.extend(fields::best_of(candidates, category, category));
    }
    let issued = fields::issue_date(candidates, "InvoiceDate", "InvoiceDate");
    out.extend(fields::due_date(candidates, issued.as_ref()));
    out.extend(issued);
    out.extend(fields::totals(
        candidates,
        ["NetTotal", "TaxTotal", "GrossTotal"],
        items_total,
    ));
    out
}

// ---------------------------------------------------------------------------------------------
// VAT breakdown

/// Whether a folded label or column header contains one of the lexicons' `stems`.
fn mentions(folded: &str, stems: &[String]) -> bool {
    stems.iter().any(|stem| folded.contains(stem.as_str()))
}

/// Per rate, the taxable base and the VAT: from a VAT table, else from key-values labelled
/// with a rate ("IVA 23%: 23,00", "Base 23%: 100,00").
fn vat_breakdown(tables: &[Table], kvs: &[Field]) -> Vec<Field> {
    let from_table = tables
        .iter()
        .map(vat_table)
        .find(|fields| !fields.is_empty());
    from_table.unwrap_or_else(|| {
        let lexicons = keyvalues::lexicons();
        let mut out: Vec<Field> = Vec::new();
        for f in kvs {
            let label = normalize::fold(&f.category);
            let kind = if mentions(&label, &lexicons.vat_base) {
                "VatBase"
            } else if mentions(&label, &lexicons.vat_amount) {
                "VatAmount"
            } else {
                continue;
            };
            let rate = normalize::percent(&label);
            let amount = normalize::amount(&f.content_normalized);
            if let (Some(rate), Some(amount)) = (rate, amount) {
                let category = format!("{kind}:{rate}");
                if !out.iter().any(|o| o.category_normalized == category) {
                    out.push(Field {
                        content_normalized: amount,
                        ..renamed(f, &category)
                    });
                }
            }
        }
        out
    })
}

/// A table with rate, base and VAT columns; rows of the same rate are summed, so an item
/// table with those columns gives the same breakdown as a VAT summary.
fn vat_table(table: &Table) -> Vec<Field> {
    if !table.has_header {
        return Vec::new();
    }
    let header_cells = || table.cells.iter().filter(|c| c.row == 0);
    let header: Vec<(u32, String)> = header_cells()
        .map(|c| (c.column, normalize::fold(&c.content)))
        .collect();
    let header_text = |col: u32| {
        header_cells()
            .find(|c| c.column == col)
            .map_or_else(String::new, |c| c.content.clone())
    };
    let column = |words: &[String], taken: &[u32]| {
        let found = header
            .iter()
            .find(|(col, h)| !taken.contains(col) && mentions(h, words));
        found.map(|(col, _)| *col)
    };
    let lexicons = keyvalues::lexicons();
    let Some(rate_col) = column(&lexicons.vat_rate, &[]) else {
        return Vec::new();
    };
    let Some(base_col) = column(&lexicons.vat_base, &[rate_col]) else {
        return Vec::new();
    };
    let Some(vat_col) = column(&lexicons.vat_amount, &[rate_col, base_col]) else {
        return Vec::new();
    };

    let mut out: Vec<Field> = Vec::new();
    for cell in table.cells.iter().filter(|c| c.row > 0) {
        let kind = match cell.column {
            c if c == base_col => "VatBase",
            c if c == vat_col => "VatAmount",
            _ => continue,
        };
        let rate_cell = table
            .cells
            .iter()
            .find(|c| c.row == cell.row && c.column == rate_col);
        let rate = rate_cell.and_then(|c| normalize::percent(&c.content));
        let (Some(rate), Some(amount)) = (rate, normalize::amount_cents(&cell.content)) else {
            continue;
        };
        let category = format!("{kind}:{rate}");
        match out.iter_mut().find(|f| f.category_normalized == category) {
            Some(f) => {
                f.content = format!("{} + {}", f.content, cell.content);
                f.content_normalized = normalize::format_cents(cents(f).unwrap_or(0) + amount);
                f.bbox = f.bbox.map(|b| b.union(&cell.bbox));
                f.confidence = f.confidence.min(cell.confidence);
            }
            None => out.push(Field {
                page_number: table.page_number,
                category: header_text(cell.column),
                category_normalized: category,
                content: cell.content.clone(),
                content_normalized: normalize::format_cents(amount),
                bbox: Some(cell.bbox),
                confidence: cell.confidence,
                issue: None,
            }),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Currency

/// The currency key-value, else a currency symbol or code on the line of a total.
fn currency(pages: &[PageText], kvs: &[Field], fields: &[Field]) -> Option<Field> {
    let labelled = kvs
        .iter()
        .find(|f| f.category_normalized == "Currency" && f.issue.is_none());
    if let Some(f) = labelled {
        return Some(f.clone());
    }
    let totals = ["GrossTotal", "NetTotal", "TaxTotal"]
        .iter()
        .filter_map(|c| fields.iter().find(|f| f.category_normalized == *c));
    totals.into_iter().find_map(|total| {
        let bbox = total.bbox?;
        let page = pages.iter().find(|p| p.page_number == total.page_number)?;
        let (word, code) = page
            .lines
            .iter()
            .flat_map(|l| &l.words)
            .filter(|w| same_row(&w.bbox, &bbox))
            .filter_map(|w| currency_word(w).map(|code| (w, code)))
            .min_by(|(a, _), (b, _)| {
                distance(&a.bbox, &bbox).total_cmp(&distance(&b.bbox, &bbox))
            })?;
        Some(Field {
            page_number: page.page_number,
            category: "Currency".to_string(),
            category_normalized: "Currency".to_string(),
            content: word.text.clone(),
            content_normalized: code,
            bbox: Some(word.bbox),
            confidence: word.confidence * 0.9,
            issue: None,
        })
    })
}

/// A word that is only a currency ("€", "EUR", "(EUR):"), not a sentence word containing one.
fn currency_word(word: &Word) -> Option<String> {
    let letters = word.text.chars().filter(|c| c.is_alphabetic()).count();
    normalize::currency(&word.text).filter(|_| letters <= 5)
}

fn same_row(a: &Rect, b: &Rect) -> bool {
    let overlap = a.bottom.min(b.bottom) - a.top.max(b.top);
    overlap > 0.5 * a.height().min(b.height())
}

fn distance(a: &Rect, b: &Rect) -> f64 {
    (a.left - b.right).max(b.left - a.right).max(0.0)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Net plus tax must make the gross total, to the cent.
fn check_sum(fields: &mut [Field]) {
    let amount = |category: &str| {
        fields
            .iter()
            .find(|f| f.category_normalized == category)
            .and_then(cents)
    };
    let (Some(net), Some(tax), Some(gross)) =
        (amount("NetTotal"), amount("TaxTotal"), amount("GrossTotal"))
    else {
        return;
    };
    if (net + tax - gross).abs() <= 1 {
        return;
    }
    let message = "net + tax does not add up to the total";
    if let Some(f) = fields
        .iter_mut()
        .find(|f| f.category_normalized == "GrossTotal")
    {
        f.issue = Some(match f.issue.take() {
            Some(issue) => format!("{issue}; {message}"),
            None => message.to_string(),
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::keyvalues;
    use docket_domain::understanding::TableCell;
    use docket_testkit::text::page;

    fn invoice_page() -> PageText {
        page(&[
            "ACME Lda   NIF: 501964843",
            "Fatura n.º FT AB2019/0035   Data: 16-03-2019",
            "Vencimento: 15/04/2019",
            "Exmo. Cliente   NIF: 123456789",
            "Total Ilíquido: 100,00",
            "Total IVA: 23,00",
            "Total a pagar: 123,00 €",
        ])
    }

    fn run(page: &PageText, tables: &[Table], qr: &[QrCode]) -> Vec<Field> {
        let pages = std::slice::from_ref(page);
        extract(pages, &keyvalues::extract(pages), tables, qr)
    }

    fn get<'a>(fields: &'a [Field], category: &str) -> &'a Field {
        let found = fields.iter().find(|f| f.category_normalized == category);
        found.unwrap_or_else(|| panic!("no {category} in {fields:#?}"))
    }

    fn summary(fields: &[Field]) -> Vec<(&str, &str)> {
        let pairs = fields.iter().map(|f| {
            (
                f.category_normalized.as_str(),
                f.content_normalized.as_str(),
            )
        });
        pairs.collect()
    }

    pub(crate) fn qr(pairs: &[(&str, &str)]) -> QrCode {
        let fields = pairs
            .iter()
            .map(|(key, value)| Field {
                page_number: 1,
                category: key.to_string(),
                category_normalized: key.to_string(),
                content: value.to_string(),
                content_normalized: value.to_string(),
                bbox: None,
                confidence: 1.0,
                issue: None,
            })
            .collect();
        let bbox = Rect {
            left: 400.0,
            top: 700.0,
            right: 480.0,
            bottom: 780.0,
        };
        QrCode {
            page_number: 1,
            format: "QR_CODE".into(),
            bbox,
            content: String::new(),
            fields,
            invalid_keys_count: 0,
            duplicated_keys: Vec::new(),
            confidence: 1.0,
        }
    }

    #[test]
    fn portuguese_invoice_from_key_values() {
        let fields = run(&invoice_page(), &[], &[]);
        assert_eq!(
            summary(&fields),
            [
                ("SupplierTaxId", "501964843"),
                ("CustomerTaxId", "123456789"),
                ("InvoiceNumber", "FT AB2019/0035"),
                ("InvoiceDate", "2019-03-16"),
                ("DueDate", "2019-04-15"),
                ("Currency", "EUR"),
                ("NetTotal", "100.00"),
                ("TaxTotal", "23.00"),
                ("GrossTotal", "123.00"),
            ]
        );
        assert!(fields.iter().all(|f| f.issue.is_none()), "{fields:#?}");
        assert_eq!(get(&fields, "GrossTotal").category, "Total a pagar");
        assert_eq!(get(&fields, "Currency").content, "€");
    }

    #[test]
    fn roles_from_labels() {
        let p = page(&[
            "NIF do Cliente: 123456789",
            "NIF Fornecedor: 501964843",
            "Currency: USD",
        ]);
        let fields = run(&p, &[], &[]);
        assert_eq!(
            summary(&fields),
            [
                ("SupplierTaxId", "501964843"),
                ("CustomerTaxId", "123456789"),
                ("Currency", "USD")
            ]
        );
    }

    #[test]
    fn qr_code_agreement_disagreement_and_additions() {
        let code = qr(&[
            ("A", "501964843"),
            ("B", "999999990"),
            ("D", "FT"),
            ("F", "2019-03-16"),
            ("G", "FT AB2019/0036"),
            ("H", "CSDF7T5H-0035"),
            ("I1", "PT"),
            ("I7", "100.00"),
            ("I8", "23.00"),
            ("N", "23.00"),
            ("O", "123.00"),
        ]);
        // As if read by OCR, so agreement has something to raise.
        let pages = [invoice_page()];
        let mut key_values = keyvalues::extract(&pages);
        key_values.iter_mut().for_each(|f| f.confidence = 0.9);
        let fields = extract(&pages, &key_values, &[], &[code]);
        let supplier = get(&fields, "SupplierTaxId");
        assert_eq!(
            (supplier.confidence, supplier.issue.as_deref()),
            (0.99, None)
        );
        assert!(get(&fields, "GrossTotal").confidence >= 0.99);
        let customer = get(&fields, "CustomerTaxId");
        assert_eq!(
            (customer.confidence, customer.issue.as_deref()),
            (0.9, None),
            "final consumer"
        );
        // The QR code is the document's own record: its number wins, the issue keeps the page's.
        let number = get(&fields, "InvoiceNumber");
        assert_eq!(
            (number.category.as_str(), number.content_normalized.as_str()),
            ("G", "FT AB2019/0036")
        );
        assert_eq!(number.confidence, 0.95);
        assert_eq!(
            number.issue.as_deref(),
            Some("the page reads FT AB2019/0035; the QR code's value is kept")
        );
        let doc_type = get(&fields, "DocumentType");
        assert_eq!(
            (doc_type.content_normalized.as_str(), doc_type.confidence),
            ("FT", 0.95)
        );
        let net = get(&fields, "NetTotal");
        assert_eq!(net.content_normalized, "100.00", "gross − tax agrees");
        assert!(net.confidence >= 0.99);
        let atcud = get(&fields, "Atcud");
        assert_eq!(
            (atcud.category.as_str(), atcud.content_normalized.as_str()),
            ("H", "CSDF7T5H-0035")
        );
        assert_eq!(
            (atcud.bbox, atcud.confidence, atcud.page_number),
            (None, 0.95, 1)
        );
        let vat: Vec<_> = summary(&fields)
            .into_iter()
            .filter(|(c, _)| c.starts_with("Vat"))
            .collect();
        assert_eq!(
            vat,
            [("VatBase:23.00", "100.00"), ("VatAmount:23.00", "23.00")]
        );
    }

    #[test]
    fn totals_must_add_up() {
        let p = page(&[
            "Subtotal: 100,00",
            "IVA: 23,00",
            "Total: 120,00",
            "Total: 12,00",
        ]);
        let fields = run(&p, &[], &[]);
        let gross = get(&fields, "GrossTotal");
        assert_eq!(gross.content_normalized, "120.00", "the largest total");
        assert_eq!(
            gross.issue.as_deref(),
            Some("net + tax does not add up to the total")
        );
        // The QR code's total wins; with it the page's net and tax add up.
        let code = qr(&[("O", "123.00")]);
        let gross = get(&run(&p, &[], &[code]), "GrossTotal").clone();
        assert_eq!(gross.content_normalized, "123.00");
        assert_eq!(
            gross.issue.as_deref(),
            Some("the page reads 120,00; the QR code's value is kept")
        );
        // Without N the code states no net, and a wrong page net still shows in the sum.
        let p = page(&["Subtotal: 90,00", "IVA: 23,00", "Total: 120,00"]);
        let gross = get(&run(&p, &[], &[qr(&[("O", "123.00")])]), "GrossTotal").clone();
        assert_eq!(
            gross.issue.as_deref(),
            Some("the page reads 120,00; the QR code's value is kept; net + tax does not add up to the total")
        );
    }

    fn table(rows: &[&[&str]]) -> Table {
        let bbox = Rect {
            left: 0.0,
            top: 0.0,
            right: 10.0,
            bottom: 10.0,
        };
        let mut cells = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            for (c, text) in row.iter().enumerate().filter(|(_, t)| !t.is_empty()) {
                cells.push(TableCell {
                    row: r as u32,
                    column: c as u32,
                    content: text.to_string(),
                    content_normalized: text.to_string(),
                    bbox,
                    confidence: 0.9,
                });
            }
        }
        Table {
            page_number: 1,
            bbox,
            row_count: rows.len() as u32,
            column_count: 3,
            has_header: true,
            cells,
            confidence: 0.9,
        }
    }

    #[test]
    fn vat_breakdown_from_a_table() {
        let items = table(&[&["Descrição", "Qtd", "Total"], &["Caneta", "2", "2,46"]]);
        let vat = table(&[
            &["Taxa", "Incidência", "Valor IVA"],
            &["23%", "100,00", "23,00"],
            &["6 %", "50,00", "3,00"],
            &["23%", "10,00", "2,30"],
            &["Total", "160,00", "28,30"],
        ]);
        let fields = run(&page(&["IVA 13%: 1,30"]), &[items, vat], &[]);
        assert_eq!(
            summary(&fields),
            [
                ("VatBase:23.00", "110.00"),
                ("VatAmount:23.00", "25.30"),
                ("VatBase:6.00", "50.00"),
                ("VatAmount:6.00", "3.00"),
            ]
        );
        assert_eq!(get(&fields, "VatBase:6.00").category, "Incidência");
    }

    #[test]
    fn vat_breakdown_from_key_values() {
        let p = page(&[
            "Base 23%: 100,00",
            "IVA 23%: 23,00",
            "Incidência (6%): 50,00",
            "IVA (6%): 3,00",
        ]);
        assert_eq!(
            summary(&run(&p, &[], &[])),
            [
                ("VatBase:23.00", "100.00"),
                ("VatAmount:23.00", "23.00"),
                ("VatBase:6.00", "50.00"),
                ("VatAmount:6.00", "3.00"),
            ]
        );
    }

    #[test]
    fn nothing_to_find() {
        assert!(extract(&[], &[], &[], &[]).is_empty());
        assert!(run(&page(&["Olá", "Obrigado"]), &[], &[]).is_empty());
    }
}
