//! What the Portuguese fiscal QR code states as invoice fields, and how that overrides the
//! page: every key naming an invoice field, the VAT bands of the three fiscal regions at their
//! rates (`lexicons/pt-vat-rates.json`), and the net total as gross − tax. The code is the
//! document's own record, so where the page reads something else the code's value is kept and
//! the field's `issue` says what the page read.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::invoice::tax_key;
use super::normalize;
use docket_domain::understanding::{Field, QrCode};

/// QR code keys and the invoice fields they state.
const KEY_FIELDS: [(&str, &str); 8] = [
    ("A", "SupplierTaxId"),
    ("B", "CustomerTaxId"),
    ("D", "DocumentType"),
    ("F", "InvoiceDate"),
    ("G", "InvoiceNumber"),
    ("H", "Atcud"),
    ("N", "TaxTotal"),
    ("O", "GrossTotal"),
];

/// The VAT groups and the key naming each one's fiscal region (p. 6 rule g of the AT spec).
const GROUPS: [(&str, &str); 3] = [("I", "I1"), ("J", "J1"), ("K", "K1")];

/// The buyer NIF a QR code carries when the buyer gave none: it states nothing.
const FINAL_CONSUMER: &str = "999999990";

/// A value the QR code states, alone or against a page that reads otherwise.
const STATED_CONFIDENCE: f64 = 0.95;
/// A page value the QR code confirms.
const CONFIRMED_CONFIDENCE: f64 = 0.99;

#[derive(Deserialize)]
struct RateFile {
    regions: HashMap<String, Vec<Rates>>,
}

/// One region's rates from a date on, as percentages with two decimals.
#[derive(Deserialize)]
struct Rates {
    from: String,
    reduced: String,
    intermediate: String,
    normal: String,
}

fn rate_table() -> &'static HashMap<String, Vec<Rates>> {
    static TABLE: OnceLock<HashMap<String, Vec<Rates>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Part of the binary and checked by a test: a broken file is a build bug.
        let file = include_str!("../lexicons/pt-vat-rates.json");
        serde_json::from_str::<RateFile>(file).map_or_else(|_| HashMap::new(), |f| f.regions)
    })
}

/// The rates of `region` in force on `date` (ISO): the latest set without a date, the oldest
/// for a date before every set. None for regions outside Portugal (or "0", no VAT).
fn rates(region: &str, date: Option<&str>) -> Option<&'static Rates> {
    let sets = rate_table().get(region)?;
    let in_force = match date {
        Some(date) => sets.iter().rfind(|s| s.from.as_str() <= date),
        None => sets.last(),
    };
    in_force.or(sets.first())
}

/// Agreement with the QR code raises a field's confidence; disagreement replaces the page's
/// value with the code's and says what the page read; what only the code states is added.
pub(super) fn apply(fields: &mut Vec<Field>, qr: &QrCode) {
    for stated in statements(qr) {
        let category = stated.category_normalized.as_str();
        match fields
            .iter_mut()
            .find(|f| f.category_normalized == category)
        {
            Some(f) if same(category, &f.content_normalized, &stated.content_normalized) => {
                f.confidence = f.confidence.max(CONFIRMED_CONFIDENCE);
                f.issue = None;
            }
            Some(f) => {
                let issue = format!("the page reads {}; the QR code's value is kept", f.content);
                *f = Field {
                    issue: Some(issue),
                    ..stated
                };
            }
            None => fields.push(stated),
        }
    }
}

/// Every invoice field the code states, normalised as the page's fields are. Values the code
/// holds but that mean nothing (unparsable, the final consumer's NIF, ATCUD "0") are left out.
fn statements(qr: &QrCode) -> Vec<Field> {
    let key = |key: &str| qr.fields.iter().find(|f| f.category == key);
    let stated = |field: &Field, category: &str, value: String| Field {
        page_number: field.page_number,
        category: field.category.clone(),
        category_normalized: category.to_string(),
        content: field.content.clone(),
        content_normalized: value,
        bbox: field.bbox,
        confidence: STATED_CONFIDENCE,
        issue: None,
    };
    let mut out: Vec<Field> = KEY_FIELDS
        .iter()
        .filter_map(|&(k, category)| {
            let field = key(k)?;
            let value = understood(category, field.content_normalized.trim())?;
            Some(stated(field, category, value))
        })
        .collect();

    let date = key("F").and_then(|f| normalize::date(&f.content_normalized));
    for (group, region_key) in GROUPS {
        let Some(rates) =
            key(region_key).and_then(|r| rates(&r.content_normalized, date.as_deref()))
        else {
            continue;
        };
        let bands = [
            ("2", "VatBase", "0.00"),
            ("3", "VatBase", rates.reduced.as_str()),
            ("4", "VatAmount", rates.reduced.as_str()),
            ("5", "VatBase", rates.intermediate.as_str()),
            ("6", "VatAmount", rates.intermediate.as_str()),
            ("7", "VatBase", rates.normal.as_str()),
            ("8", "VatAmount", rates.normal.as_str()),
        ];
        for (band, kind, rate) in bands {
            let Some(field) = key(&format!("{group}{band}")) else {
                continue;
            };
            let Some(cents) = normalize::amount_cents(&field.content_normalized) else {
                continue;
            };
            let category = format!("{kind}:{rate}");
            // Exempt bases of two regions share a category: they add up.
            match out.iter_mut().find(|f| f.category_normalized == category) {
                Some(f) => {
                    let sum = normalize::amount_cents(&f.content_normalized).unwrap_or(0) + cents;
                    f.category = format!("{}+{}", f.category, field.category);
                    f.content = format!("{} + {}", f.content, field.content);
                    f.content_normalized = normalize::format_cents(sum);
                }
                None => out.push(stated(field, &category, normalize::format_cents(cents))),
            }
        }
    }

    let cents_of = |k: &str| key(k).and_then(|f| normalize::amount_cents(&f.content_normalized));
    if let (Some(gross), Some(tax), Some(o)) = (cents_of("O"), cents_of("N"), key("O")) {
        let net = Field {
            category: "O-N".to_string(),
            content: format!(
                "{} - {}",
                o.content,
                key("N").map_or("", |n| n.content.as_str())
            ),
            ..stated(o, "NetTotal", normalize::format_cents(gross - tax))
        };
        out.push(net);
    }
    out
}

/// The value in the page's normalised form when it means something for `category`.
fn understood(category: &str, value: &str) -> Option<String> {
    match category {
        "CustomerTaxId" if value == FINAL_CONSUMER => None,
        "Atcud" if value == "0" => None,
        "SupplierTaxId" | "CustomerTaxId" => normalize::tax_id(value),
        "InvoiceDate" => normalize::date(value),
        "TaxTotal" | "GrossTotal" => normalize::amount(value),
        _ => (!value.is_empty()).then(|| value.to_string()),
    }
}

/// Whether the page's value and the QR code's say the same.
fn same(category: &str, page: &str, qr: &str) -> bool {
    let compact = |s: &str| {
        s.split_whitespace()
            .collect::<String>()
            .to_ascii_uppercase()
    };
    match category {
        "SupplierTaxId" | "CustomerTaxId" => tax_key(page) == tax_key(qr),
        "InvoiceNumber" | "Atcud" | "DocumentType" => compact(page) == compact(qr),
        "InvoiceDate" => normalize::date(page).is_some_and(|p| Some(p) == normalize::date(qr)),
        _ => normalize::amount_cents(page).is_some_and(|p| Some(p) == normalize::amount_cents(qr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atqr;
    use crate::invoice::tests::qr;

    fn page_field(category: &str, value: &str) -> Field {
        Field {
            page_number: 1,
            category: "label".to_string(),
            category_normalized: category.to_string(),
            content: value.to_string(),
            content_normalized: value.to_string(),
            bbox: None,
            confidence: 0.8,
            issue: None,
        }
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

    /// The code of a parsed payload, as recognition builds it.
    fn parsed(payload: &str) -> QrCode {
        let mut code = qr(&[]);
        let parsed = atqr::parse(payload, 1);
        code.fields = parsed.fields;
        code.invalid_keys_count = parsed.invalid_keys_count;
        code
    }

    #[test]
    fn the_rate_file_covers_the_three_regions() {
        let table = rate_table();
        for region in ["PT", "PT-AC", "PT-MA"] {
            let sets = table.get(region).unwrap_or_else(|| panic!("{region}"));
            assert!(
                sets.windows(2).all(|w| w[0].from < w[1].from),
                "{region} in date order"
            );
            for set in sets {
                assert!(normalize::date(&set.from).is_some_and(|d| d == set.from));
                for rate in [&set.reduced, &set.intermediate, &set.normal] {
                    assert_eq!(normalize::percent(rate).as_ref(), Some(rate));
                }
            }
        }
        assert_eq!(
            rates("PT", Some("2024-05-01")).map(|r| r.normal.as_str()),
            Some("23.00")
        );
        assert_eq!(
            rates("PT-AC", Some("2021-06-30")).map(|r| r.normal.as_str()),
            Some("18.00")
        );
        assert_eq!(
            rates("PT-AC", Some("2021-07-01")).map(|r| r.normal.as_str()),
            Some("16.00")
        );
        assert_eq!(
            rates("PT-AC", None).map(|r| r.normal.as_str()),
            Some("16.00")
        );
        assert_eq!(
            rates("PT-AC", Some("2001-01-01")).map(|r| r.normal.as_str()),
            Some("18.00")
        );
        assert!(rates("ES", None).is_none() && rates("0", None).is_none());
    }

    #[test]
    fn every_field_of_the_spec_example_is_mapped() {
        // The spec's example 1 (p. 14): three regions, dated 2019-12-31.
        let payload = "A:123456789*B:999999990*C:PT*D:FT*E:N*F:20191231*G:FT AB2019/0035*H:CSDF7T5H-0035*I1:PT*I2:12000.00*I3:15000.00*I4:900.00*I5:50000.00*I6:6500.00*I7:80000.00*I8:18400.00*J1:PT-AC*J2:10000.00*J3:25000.56*J4:1000.02*J5:75000.00*J6:6750.00*J7:100000.00*J8:18000.00*K1:PT-MA*K2:5000.00*K3:12500.00*K4:625.00*K5:25000.00*K6:3000.00*K7:40000.00*K8:8800.00*L:100.00*M:25.00*N:64000.02*O:513600.58*P:100.00*Q:kLp0*R:9999";
        let mut fields = Vec::new();
        apply(&mut fields, &parsed(payload));
        assert_eq!(
            summary(&fields),
            [
                ("SupplierTaxId", "123456789"),
                ("DocumentType", "FT"),
                ("InvoiceDate", "2019-12-31"),
                ("InvoiceNumber", "FT AB2019/0035"),
                ("Atcud", "CSDF7T5H-0035"),
                ("TaxTotal", "64000.02"),
                ("GrossTotal", "513600.58"),
                ("VatBase:0.00", "27000.00"),
                ("VatBase:6.00", "15000.00"),
                ("VatAmount:6.00", "900.00"),
                ("VatBase:13.00", "50000.00"),
                ("VatAmount:13.00", "6500.00"),
                ("VatBase:23.00", "80000.00"),
                ("VatAmount:23.00", "18400.00"),
                ("VatBase:4.00", "25000.56"),
                ("VatAmount:4.00", "1000.02"),
                ("VatBase:9.00", "75000.00"),
                ("VatAmount:9.00", "6750.00"),
                ("VatBase:18.00", "100000.00"),
                ("VatAmount:18.00", "18000.00"),
                ("VatBase:5.00", "12500.00"),
                ("VatAmount:5.00", "625.00"),
                ("VatBase:12.00", "25000.00"),
                ("VatAmount:12.00", "3000.00"),
                ("VatBase:22.00", "40000.00"),
                ("VatAmount:22.00", "8800.00"),
                ("NetTotal", "449600.56"),
            ]
        );
        let exempt = fields
            .iter()
            .find(|f| f.category_normalized == "VatBase:0.00");
        assert_eq!(exempt.map(|f| f.category.as_str()), Some("I2+J2+K2"));
        assert!(fields
            .iter()
            .all(|f| f.confidence == STATED_CONFIDENCE && f.issue.is_none()));
    }

    #[test]
    fn the_page_only_fills_what_the_code_lacks() {
        let code = qr(&[
            ("A", "501964843"),
            ("G", "FT A/7"),
            ("O", "12.30"),
            ("N", "2.30"),
        ]);
        let mut fields = vec![
            page_field("SupplierTaxId", "PT501964843"),
            page_field("InvoiceNumber", "FT A/1"),
            page_field("NetTotal", "10.00"),
            page_field("DueDate", "2024-02-01"),
        ];
        apply(&mut fields, &code);
        let get = |c: &str| fields.iter().find(|f| f.category_normalized == c).cloned();
        let supplier = get("SupplierTaxId").unwrap_or_else(|| panic!("{fields:?}"));
        assert_eq!(
            (supplier.content_normalized.as_str(), supplier.confidence),
            ("PT501964843", 0.99)
        );
        let number = get("InvoiceNumber").unwrap_or_else(|| panic!("{fields:?}"));
        assert_eq!(number.content_normalized, "FT A/7");
        assert_eq!(
            number.issue.as_deref(),
            Some("the page reads FT A/1; the QR code's value is kept")
        );
        let net = get("NetTotal").unwrap_or_else(|| panic!("{fields:?}"));
        assert_eq!(
            (net.category.as_str(), net.confidence),
            ("label", 0.99),
            "gross − tax agrees"
        );
        assert_eq!(
            get("DueDate").map(|f| f.confidence),
            Some(0.8),
            "the code has no due date"
        );
    }

    #[test]
    fn bent_payloads_still_state_their_fields() {
        let credit_note = "A:123456789*B:123456789*C:PT*D:NC*E:N*F:20250110*G:NC B/12*H:CSDF7T5H*I1:PT*I7:-10,00*I8:-2,30*N:-2,30*O:-12,30*Q:kLp0*R:9999";
        let code = parsed(credit_note);
        assert_eq!(
            code.invalid_keys_count, 5,
            "H, I7, I8, N and O bend the spec"
        );
        let mut fields = Vec::new();
        apply(&mut fields, &code);
        assert_eq!(
            summary(&fields),
            [
                ("SupplierTaxId", "123456789"),
                ("CustomerTaxId", "123456789"),
                ("DocumentType", "NC"),
                ("InvoiceDate", "2025-01-10"),
                ("InvoiceNumber", "NC B/12"),
                ("Atcud", "CSDF7T5H-12"),
                ("TaxTotal", "-2.30"),
                ("GrossTotal", "-12.30"),
                ("VatBase:23.00", "-10.00"),
                ("VatAmount:23.00", "-2.30"),
                ("NetTotal", "-10.00"),
            ]
        );
    }

    #[test]
    fn values_that_state_nothing_are_left_out() {
        let code = qr(&[
            ("B", "999999990"),
            ("H", "0"),
            ("F", "20191332"),
            ("O", "cinco"),
            ("I1", "ES"),
            ("I7", "100.00"),
        ]);
        let mut fields = Vec::new();
        apply(&mut fields, &code);
        assert!(fields.is_empty(), "{fields:?}");
    }
}
