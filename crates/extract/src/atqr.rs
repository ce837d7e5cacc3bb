//! The Portuguese tax authority's (AT) invoice QR code, "Código QR" of Portaria 195/2020:
//! recognising a decoded payload as fiscal, splitting it into `Field`s with readable names and
//! typed values, and checking each value against the AT technical spec (v1.0, August 2020).
//! Page references ("p. N") are PDF pages of that spec; its printed numbers are one less.
//! Values that bend the spec the way real issuers print them (decimal commas, a signed credit
//! note total, an ATCUD without its number) are still read, and still counted as invalid.

use std::collections::HashSet;

use crate::ids::pt_nif_is_valid;
use crate::normalize;
use docket_domain::understanding::Field;

const VALID_CONFIDENCE: f64 = 1.0;
/// Against the spec, but what it means is plain.
const BENT_CONFIDENCE: f64 = 0.9;
const INVALID_CONFIDENCE: f64 = 0.5;

/// What a key's value must look like.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    IssuerNif,
    BuyerTaxId,
    Country,
    DocumentType,
    DocumentStatus,
    Date,
    DocumentId,
    Atcud,
    /// I1, J1, K1: the fiscal space of the group.
    Region(Group),
    /// I2–I8, J2–J8, K2–K8: an amount within a fiscal space.
    GroupAmount(Group),
    Amount,
    Hash,
    Certificate,
    Text,
}

/// The three fiscal spaces the code carries (p. 6 rule g; p. 14 example: PT, PT-AC, PT-MA).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    I,
    J,
    K,
}

struct KeySpec {
    key: &'static str,
    name: &'static str,
    /// "Tamanho Máximo", in characters (pp. 7–13).
    max_len: usize,
    /// Marked «+» (p. 5 rule d).
    required: bool,
    kind: Kind,
}

const fn spec(
    key: &'static str,
    name: &'static str,
    max_len: usize,
    required: bool,
    kind: Kind,
) -> KeySpec {
    KeySpec {
        key,
        name,
        max_len,
        required,
        kind,
    }
}

/// The table of section 4 (pp. 7–13), in the order the payload must follow.
const KEYS: [KeySpec; 40] = [
    spec("A", "IssuerTaxId", 9, true, Kind::IssuerNif),
    spec("B", "BuyerTaxId", 30, true, Kind::BuyerTaxId),
    spec("C", "BuyerCountry", 12, true, Kind::Country),
    spec("D", "DocumentType", 2, true, Kind::DocumentType),
    spec("E", "DocumentStatus", 1, true, Kind::DocumentStatus),
    spec("F", "DocumentDate", 8, true, Kind::Date),
    spec("G", "DocumentId", 60, true, Kind::DocumentId),
    spec("H", "Atcud", 70, true, Kind::Atcud),
    spec("I1", "TaxCountryRegion", 5, true, Kind::Region(Group::I)),
    spec("I2", "ExemptBase", 16, false, Kind::GroupAmount(Group::I)),
    spec(
        "I3",
        "ReducedRateBase",
        16,
        false,
        Kind::GroupAmount(Group::I),
    ),
    spec(
        "I4",
        "ReducedRateVat",
        16,
        false,
        Kind::GroupAmount(Group::I),
    ),
    spec(
        "I5",
        "IntermediateRateBase",
        16,
        false,
        Kind::GroupAmount(Group::I),
    ),
    spec(
        "I6",
        "IntermediateRateVat",
        16,
        false,
        Kind::GroupAmount(Group::I),
    ),
    spec(
        "I7",
        "NormalRateBase",
        16,
        false,
        Kind::GroupAmount(Group::I),
    ),
    spec(
        "I8",
        "NormalRateVat",
        16,
        false,
        Kind::GroupAmount(Group::I),
    ),
    spec(
        "J1",
        "AzoresTaxCountryRegion",
        5,
        false,
        Kind::Region(Group::J),
    ),
    spec(
        "J2",
        "AzoresExemptBase",
        16,
        false,
        Kind::GroupAmount(Group::J),
    ),
    spec(
        "J3",
        "AzoresReducedRateBase",
        16,
        false,
        Kind::GroupAmount(Group::J),
    ),
    spec(
        "J4",
        "AzoresReducedRateVat",
        16,
        false,
        Kind::GroupAmount(Group::J),
    ),
    spec(
        "J5",
        "AzoresIntermediateRateBase",
        16,
        false,
        Kind::GroupAmount(Group::J),
    ),
    spec(
        "J6",
        "AzoresIntermediateRateVat",
        16,
        false,
        Kind::GroupAmount(Group::J),
    ),
    spec(
        "J7",
        "AzoresNormalRateBase",
        16,
        false,
        Kind::GroupAmount(Group::J),
    ),
    spec(
        "J8",
        "AzoresNormalRateVat",
        16,
        false,
        Kind::GroupAmount(Group::J),
    ),
    spec(
        "K1",
        "MadeiraTaxCountryRegion",
        5,
        false,
        Kind::Region(Group::K),
    ),
    spec(
        "K2",
        "MadeiraExemptBase",
        16,
        false,
        Kind::GroupAmount(Group::K),
    ),
    spec(
        "K3",
        "MadeiraReducedRateBase",
        16,
        false,
        Kind::GroupAmount(Group::K),
    ),
    spec(
        "K4",
        "MadeiraReducedRateVat",
        16,
        false,
        Kind::GroupAmount(Group::K),
    ),
    spec(
        "K5",
        "MadeiraIntermediateRateBase",
        16,
        false,
        Kind::GroupAmount(Group::K),
    ),
    spec(
        "K6",
        "MadeiraIntermediateRateVat",
        16,
        false,
        Kind::GroupAmount(Group::K),
    ),
    spec(
        "K7",
        "MadeiraNormalRateBase",
        16,
        false,
        Kind::GroupAmount(Group::K),
    ),
    spec(
        "K8",
        "MadeiraNormalRateVat",
        16,
        false,
        Kind::GroupAmount(Group::K),
    ),
    spec("L", "NonTaxableAmount", 16, false, Kind::Amount),
    spec("M", "StampDuty", 16, false, Kind::Amount),
    spec("N", "TotalTaxes", 16, true, Kind::Amount),
    spec("O", "GrossTotal", 16, true, Kind::Amount),
    spec("P", "WithholdingTax", 16, false, Kind::Amount),
    spec("Q", "HashCharacters", 4, true, Kind::Hash),
    spec("R", "CertificateNumber", 4, true, Kind::Certificate),
    spec("S", "OtherInfo", 65, false, Kind::Text),
];

/// SAF-T(PT) document types (p. 7: D "de acordo com a tipologia do SAF-T(PT)"): invoices,
/// movements of goods, working documents, receipts, and the insurance types.
const DOCUMENT_TYPES: [&str; 26] = [
    "FT", "FS", "FR", "ND", "NC", // SalesInvoices
    "GR", "GT", "GA", "GC", "GD", // MovementOfGoods
    "CM", "CC", "FC", "FO", "NE", "OU", "OR", "PF", "DC", // WorkingDocuments
    "RC", "RG", // Payments
    "RP", "RE", "CS", "LD", "RA", // insurance
];

/// SAF-T(PT) statuses of invoices (N S A R F), movements (N T A F R), working documents and
/// payments (p. 7: E "de acordo com a tipologia do SAF-T(PT)").
const DOCUMENT_STATUSES: [&str; 6] = ["N", "S", "A", "R", "F", "T"];

/// Required keys a payload needs before `is_fiscal` believes it, beyond starting `A:` with a
/// `B:` segment: enough to reject look-alikes yet accept a damaged real code.
const FISCAL_MIN_REQUIRED_KEYS: usize = 5;

/// The result of parsing one payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedQr {
    /// One field per distinct key, in payload order.
    pub fields: Vec<Field>,
    /// Invalid fields (unknown key or a value breaking the spec) plus missing required keys.
    pub invalid_keys_count: u32,
    /// Keys present more than once, each listed once, in order of their first repeat.
    pub duplicated_keys: Vec<String>,
}

/// Whether a decoded QR payload is an AT fiscal QR code: it starts with `A:` (the spec fixes
/// the field order, p. 5 rule b), has a `B:` segment, and carries at least
/// `FISCAL_MIN_REQUIRED_KEYS` of the 13 required keys, so a damaged code still counts.
pub fn is_fiscal(payload: &str) -> bool {
    let payload = trim_payload(payload);
    if !payload.starts_with("A:") {
        return false;
    }
    let keys: HashSet<&str> = segments(payload).map(|(key, _, _)| key).collect();
    let required = KEYS
        .iter()
        .filter(|s| s.required && keys.contains(s.key))
        .count();
    keys.contains("B") && required >= FISCAL_MIN_REQUIRED_KEYS
}

/// Splits `key:value` pairs on `*` (values may contain ':'; only the first ':' separates), in
/// payload order, and checks every value against the spec.
///
/// Duplicates keep the first occurrence's value as the field; later ones are only listed in
/// `duplicated_keys` and not counted as invalid. Empty segments (`**`, a trailing `*`) carry
/// no key and are skipped. Missing required keys are counted but get no field.
pub fn parse(payload: &str, page_number: u32) -> ParsedQr {
    let payload = trim_payload(payload);
    let mut seen: HashSet<&str> = HashSet::new();
    let mut duplicated_keys: Vec<String> = Vec::new();
    let mut raws: Vec<(&str, &str, bool)> = Vec::new();
    for (key, value, has_colon) in segments(payload) {
        if !seen.insert(key) {
            if !duplicated_keys.iter().any(|k| k == key) {
                duplicated_keys.push(key.to_string());
            }
            continue;
        }
        raws.push((key, value, has_colon));
    }

    let value_of = |key: &str| {
        raws.iter()
            .find(|(k, _, has_colon)| *k == key && *has_colon)
            .map(|(_, v, _)| *v)
    };
    let context = Context {
        buyer_country: value_of("C"),
        region_i: value_of("I1"),
        has_j1: seen.contains("J1"),
        has_k1: seen.contains("K1"),
        document_number: value_of("G").and_then(document_number),
    };

    let fields: Vec<Field> = raws
        .iter()
        .map(|&(key, value, has_colon)| build_field(key, value, has_colon, &context, page_number))
        .collect();
    let invalid_fields = fields.iter().filter(|f| f.issue.is_some()).count();
    let missing_required = KEYS
        .iter()
        .filter(|s| s.required && !seen.contains(s.key))
        .count();

    ParsedQr {
        fields,
        invalid_keys_count: u32::try_from(invalid_fields + missing_required).unwrap_or(u32::MAX),
        duplicated_keys,
    }
}

/// Values other fields' checks depend on (first occurrences).
struct Context<'a> {
    buyer_country: Option<&'a str>,
    region_i: Option<&'a str>,
    has_j1: bool,
    has_k1: bool,
    /// The sequential number ending G, which the ATCUD repeats.
    document_number: Option<&'a str>,
}

/// Scanners often append a newline; some prepend a byte-order mark.
fn trim_payload(payload: &str) -> &str {
    payload.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Non-empty `*`-separated segments as (key, value, whether a ':' was present).
fn segments(payload: &str) -> impl Iterator<Item = (&str, &str, bool)> {
    payload
        .split('*')
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once(':') {
            Some((key, value)) => (key, value, true),
            None => (s, "", false),
        })
}

fn build_field(
    key: &str,
    value: &str,
    has_colon: bool,
    context: &Context,
    page_number: u32,
) -> Field {
    let spec = KEYS.iter().find(|s| s.key == key);
    let issue = match spec {
        None if has_colon => Some(format!("unknown key '{key}'")),
        None => Some("not a key:value pair".to_string()),
        Some(_) if !has_colon => Some(format!("no ':' after key '{key}'")),
        Some(spec) => check(spec, value, context).err(),
    };
    let kind = spec.map(|s| s.kind);
    let bent = issue
        .as_ref()
        .and(kind)
        .and_then(|kind| bent_reading(kind, value, context));
    let (content_normalized, issue, confidence) = match (kind, issue, bent) {
        (Some(Kind::Date), None, _) => (iso_date(value), None, VALID_CONFIDENCE),
        (_, None, _) => (value.to_string(), None, VALID_CONFIDENCE),
        (_, Some(issue), Some(read)) => {
            let issue = format!("{issue}; read as {read}");
            (read, Some(issue), BENT_CONFIDENCE)
        }
        (_, Some(issue), None) => (value.to_string(), Some(issue), INVALID_CONFIDENCE),
    };
    Field {
        page_number,
        category: key.to_string(),
        category_normalized: spec.map_or("Unknown", |s| s.name).to_string(),
        content: value.to_string(),
        content_normalized,
        bbox: None,
        confidence,
        issue,
    }
}

/// What a value that breaks the spec means, when issuers print it that way: amounts with a
/// decimal comma, a thousands separator or a sign (credit notes, NC, often print their totals
/// negative), and an ATCUD that is only the series' validation code (its number is G's).
fn bent_reading(kind: Kind, value: &str, context: &Context) -> Option<String> {
    match kind {
        Kind::Amount | Kind::GroupAmount(_) if check_amount(value).is_err() => {
            normalize::amount(value)
        }
        Kind::Atcud if !value.contains('-') => {
            let number = context.document_number?;
            // The number glued to the code ("CSDF7T5H0035"), or left out.
            let code = value
                .strip_suffix(number)
                .filter(|code| is_validation_code(code))
                .unwrap_or(value);
            is_validation_code(code).then(|| format!("{code}-{number}"))
        }
        _ => None,
    }
}

/// Checks one value; the error is a readable reason.
fn check(spec: &KeySpec, value: &str, context: &Context) -> Result<(), String> {
    // p. 6 rule f: an optional field without information must not be created at all.
    if value.is_empty() {
        return Err("empty value".to_string());
    }
    // p. 6 rule i.
    let len = value.chars().count();
    if len > spec.max_len {
        return Err(format!(
            "{len} characters, more than the maximum of {}",
            spec.max_len
        ));
    }
    match spec.kind {
        Kind::IssuerNif => {
            if !pt_nif_is_valid(value) {
                return Err(format!("'{value}' is not a valid Portuguese NIF"));
            }
        }
        Kind::BuyerTaxId => {
            // Only a Portuguese buyer's 9-digit number is a NIF we can check; foreign ids
            // (up to 30 characters) have no common rule. 999999990 passes the check digit.
            let portuguese = context.buyer_country == Some("PT");
            if portuguese && is_digits(value) && len == 9 && !pt_nif_is_valid(value) {
                return Err(format!("'{value}' is not a valid Portuguese NIF"));
            }
        }
        Kind::Country => {
            // SAF-T(PT) Customer/Country: ISO 3166-1 alpha-2, or "Desconhecido" when unknown
            // (which is why the maximum is 12).
            if !(is_alpha2(value) || value == "Desconhecido") {
                return Err(format!(
                    "'{value}' is not an ISO 3166-1 alpha-2 code or 'Desconhecido'"
                ));
            }
        }
        Kind::DocumentType => {
            if !DOCUMENT_TYPES.contains(&value) {
                return Err(format!("'{value}' is not a SAF-T(PT) document type"));
            }
        }
        Kind::DocumentStatus => {
            if !DOCUMENT_STATUSES.contains(&value) {
                return Err(format!("'{value}' is not a SAF-T(PT) document status"));
            }
        }
        Kind::Date => {
            if !is_valid_date(value) {
                return Err(format!("'{value}' is not a valid YYYYMMDD date"));
            }
        }
        Kind::DocumentId => {
            if document_number(value).is_none() {
                return Err(format!(
                    "'{value}' is not of the SAF-T(PT) form '<type> <series>/<number>'"
                ));
            }
        }
        Kind::Atcud => check_atcud(value, context)?,
        Kind::Region(group) => check_region(group, value)?,
        Kind::GroupAmount(group) => {
            check_amount(value)?;
            check_group(group, context)?;
        }
        Kind::Amount => check_amount(value)?,
        Kind::Hash => {
            // Characters 1, 11, 21 and 31 of the Base64 signature (Portaria 363/2010).
            let base64 = value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/');
            if len != 4 || !base64 {
                return Err(format!("'{value}' is not 4 Base64 characters of the hash"));
            }
        }
        Kind::Certificate => {
            if !is_digits(value) {
                return Err(format!("'{value}' is not a certificate number"));
            }
        }
        // Free text; '*' cannot occur since it separates fields (p. 13).
        Kind::Text => {}
    }
    Ok(())
}

/// ATCUD = the series' validation code (at least 8 characters, assigned by AT), '-', and the
/// document's sequential number, the one ending G. "0" is accepted: AT's instruction for the
/// years before the ATCUD became mandatory.
fn check_atcud(value: &str, context: &Context) -> Result<(), String> {
    if value == "0" {
        return Ok(());
    }
    let well_formed = value
        .split_once('-')
        .filter(|(code, number)| is_validation_code(code) && is_digits(number));
    let Some((_, number)) = well_formed else {
        return Err(format!(
            "'{value}' is not an ATCUD '<validation code>-<sequential number>'"
        ));
    };
    match context.document_number {
        Some(g) if g.trim_start_matches('0') != number.trim_start_matches('0') => Err(format!(
            "ATCUD number {number} differs from the document number {g} in G"
        )),
        _ => Ok(()),
    }
}

/// I1 follows SAF-T(PT) TaxCountryRegion (ISO 3166-1 alpha-2, PT-AC, PT-MA) or is "0" for a
/// document without VAT rates (p. 6 rule h, p. 7). J and K are the Azores and Madeira spaces
/// (p. 14 example), so J1 and K1 must name them.
fn check_region(group: Group, value: &str) -> Result<(), String> {
    let ok = match group {
        Group::I => value == "0" || value == "PT-AC" || value == "PT-MA" || is_alpha2(value),
        Group::J => value == "PT-AC",
        Group::K => value == "PT-MA",
    };
    if ok {
        Ok(())
    } else {
        let expected = match group {
            Group::I => "a TaxCountryRegion (PT, PT-AC, PT-MA, a country code) or 0",
            Group::J => "PT-AC",
            Group::K => "PT-MA",
        };
        Err(format!("'{value}' is not {expected}"))
    }
}

/// An amount belongs to a declared fiscal space, and there are no VAT amounts when I1 says
/// the document has no VAT rate (p. 6 rules g and h).
fn check_group(group: Group, context: &Context) -> Result<(), String> {
    match group {
        Group::I if context.region_i == Some("0") => {
            Err("VAT amount on a document declared without VAT (I1:0)".to_string())
        }
        Group::J if !context.has_j1 => Err("amount of fiscal space J without J1".to_string()),
        Group::K if !context.has_k1 => Err("amount of fiscal space K without K1".to_string()),
        _ => Ok(()),
    }
}

/// Two decimals, '.' as the separator, no thousands separator, no sign (p. 5 rule c).
fn check_amount(value: &str) -> Result<(), String> {
    if value.starts_with('-') {
        return Err(format!("'{value}' has a sign, which amounts may not carry"));
    }
    let ok = value
        .split_once('.')
        .is_some_and(|(units, cents)| is_digits(units) && is_digits(cents) && cents.len() == 2);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{value}' is not an amount with '.' and two decimals"
        ))
    }
}

/// The sequential number of a SAF-T(PT) document id `<type> <series>/<number>` (the XSD's
/// `[^ ]+ [^/^ ]+/[0-9]+`), or None when the id is not of that form.
fn document_number(id: &str) -> Option<&str> {
    let (doc_type, rest) = id.split_once(' ')?;
    let (series, number) = rest.rsplit_once('/')?;
    let ok = !doc_type.is_empty()
        && !series.is_empty()
        && !series.contains([' ', '/', '^'])
        && is_digits(number);
    ok.then_some(number)
}

/// An ATCUD validation code: at least 8 upper-case letters and digits, assigned by AT.
fn is_validation_code(code: &str) -> bool {
    code.len() >= 8
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_alpha2(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// YYYYMMDD naming a real Gregorian day.
fn is_valid_date(s: &str) -> bool {
    if s.len() != 8 || !is_digits(s) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        s[..4].parse::<u32>(),
        s[4..6].parse::<u32>(),
        s[6..].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// `20191231` → `2019-12-31`; only called on values `is_valid_date` accepted (ASCII, 8 long).
fn iso_date(s: &str) -> String {
    match (s.get(..4), s.get(4..6), s.get(6..8)) {
        (Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_1: &str = "A:123456789*B:999999990*C:PT*D:FT*E:N*F:20191231*G:FT AB2019/0035*H:CSDF7T5H-0035*I1:PT*I2:12000.00*I3:15000.00*I4:900.00*I5:50000.00*I6:6500.00*I7:80000.00*I8:18400.00*J1:PT-AC*J2:10000.00*J3:25000.56*J4:1000.02*J5:75000.00*J6:6750.00*J7:100000.00*J8:18000.00*K1:PT-MA*K2:5000.00*K3:12500.00*K4:625.00*K5:25000.00*K6:3000.00*K7:40000.00*K8:8800.00*L:100.00*M:25.00*N:64000.02*O:513600.58*P:100.00*Q:kLp0*R:9999*S:TB;PT00000000000000000000000;513500.58";
    const EXAMPLE_2: &str = "A:123456789*B:999999990*C:PT*D:FS*E:N*F:20190812*G:FS CDVF/12345*H:CDF7T5HD-12345*I1:PT*I7:0.65*I8:0.15*N:0.15*O:0.80*Q:YhGV*R:9999*S:NU;0.80";
    const EXAMPLE_3: &str = "A:500000000*B:123456789*C:PT*D:PF*E:N*F:20190123*G:PF G2019CB/145789*H:HB6FT7RV-145789*I1:PT*I2:12345.34*I3:12532.65*I4:751.96*I5:52789.00*I6:6862.57*I7:32425.69*I8:7457.91*N:15072.44*O:125165.12*Q:r/fY*R:9999";
    const EXAMPLE_4: &str = "A:500000000*B:123456789*C:PT*D:GT*E:N*F:20190720*G:GT G234CB/50987*H:GTVX4Y8B-50987*I1:0*N:0.00*O:0.00*Q:5uIg*R:9999";

    fn field<'a>(parsed: &'a ParsedQr, key: &str) -> &'a Field {
        match parsed.fields.iter().find(|f| f.category == key) {
            Some(f) => f,
            None => panic!("no field {key} in {:?}", parsed.fields),
        }
    }

    /// Replaces the value of `key` in example 1 (test helper).
    fn example_1_with(key: &str, value: &str) -> String {
        EXAMPLE_1
            .split('*')
            .map(|s| match s.split_once(':') {
                Some((k, _)) if k == key => format!("{k}:{value}"),
                _ => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("*")
    }

    fn only_issue(parsed: &ParsedQr) -> (&str, &str) {
        let invalid: Vec<&Field> = parsed.fields.iter().filter(|f| f.issue.is_some()).collect();
        assert_eq!(invalid.len(), 1, "{invalid:?}");
        assert_eq!(parsed.invalid_keys_count, 1);
        let first: &Field = invalid[0];
        (&first.category, first.issue.as_deref().unwrap_or(""))
    }

    #[test]
    fn example_1_every_field() {
        let parsed = parse(EXAMPLE_1, 3);
        let expected: [(&str, &str, &str, &str); 40] = [
            ("A", "IssuerTaxId", "123456789", "123456789"),
            ("B", "BuyerTaxId", "999999990", "999999990"),
            ("C", "BuyerCountry", "PT", "PT"),
            ("D", "DocumentType", "FT", "FT"),
            ("E", "DocumentStatus", "N", "N"),
            ("F", "DocumentDate", "20191231", "2019-12-31"),
            ("G", "DocumentId", "FT AB2019/0035", "FT AB2019/0035"),
            ("H", "Atcud", "CSDF7T5H-0035", "CSDF7T5H-0035"),
            ("I1", "TaxCountryRegion", "PT", "PT"),
            ("I2", "ExemptBase", "12000.00", "12000.00"),
            ("I3", "ReducedRateBase", "15000.00", "15000.00"),
            ("I4", "ReducedRateVat", "900.00", "900.00"),
            ("I5", "IntermediateRateBase", "50000.00", "50000.00"),
            ("I6", "IntermediateRateVat", "6500.00", "6500.00"),
            ("I7", "NormalRateBase", "80000.00", "80000.00"),
            ("I8", "NormalRateVat", "18400.00", "18400.00"),
            ("J1", "AzoresTaxCountryRegion", "PT-AC", "PT-AC"),
            ("J2", "AzoresExemptBase", "10000.00", "10000.00"),
            ("J3", "AzoresReducedRateBase", "25000.56", "25000.56"),
            ("J4", "AzoresReducedRateVat", "1000.02", "1000.02"),
            ("J5", "AzoresIntermediateRateBase", "75000.00", "75000.00"),
            ("J6", "AzoresIntermediateRateVat", "6750.00", "6750.00"),
            ("J7", "AzoresNormalRateBase", "100000.00", "100000.00"),
            ("J8", "AzoresNormalRateVat", "18000.00", "18000.00"),
            ("K1", "MadeiraTaxCountryRegion", "PT-MA", "PT-MA"),
            ("K2", "MadeiraExemptBase", "5000.00", "5000.00"),
            ("K3", "MadeiraReducedRateBase", "12500.00", "12500.00"),
            ("K4", "MadeiraReducedRateVat", "625.00", "625.00"),
            ("K5", "MadeiraIntermediateRateBase", "25000.00", "25000.00"),
            ("K6", "MadeiraIntermediateRateVat", "3000.00", "3000.00"),
            ("K7", "MadeiraNormalRateBase", "40000.00", "40000.00"),
            ("K8", "MadeiraNormalRateVat", "8800.00", "8800.00"),
            ("L", "NonTaxableAmount", "100.00", "100.00"),
            ("M", "StampDuty", "25.00", "25.00"),
            ("N", "TotalTaxes", "64000.02", "64000.02"),
            ("O", "GrossTotal", "513600.58", "513600.58"),
            ("P", "WithholdingTax", "100.00", "100.00"),
            ("Q", "HashCharacters", "kLp0", "kLp0"),
            ("R", "CertificateNumber", "9999", "9999"),
            (
                "S",
                "OtherInfo",
                "TB;PT00000000000000000000000;513500.58",
                "TB;PT00000000000000000000000;513500.58",
            ),
        ];
        assert_eq!(parsed.fields.len(), expected.len());
        for (f, (key, name, content, normalized)) in parsed.fields.iter().zip(expected) {
            assert_eq!(f.category, key);
            assert_eq!(f.category_normalized, name, "{key}");
            assert_eq!(f.content, content, "{key}");
            assert_eq!(f.content_normalized, normalized, "{key}");
            assert_eq!(f.page_number, 3);
            assert_eq!(f.bbox, None);
            assert_eq!(f.confidence, 1.0, "{key}");
            assert_eq!(f.issue, None, "{key}");
        }
        assert_eq!(parsed.invalid_keys_count, 0);
        assert!(parsed.duplicated_keys.is_empty());
        assert!(is_fiscal(EXAMPLE_1));
    }

    #[test]
    fn other_examples_are_clean() {
        for (payload, count) in [(EXAMPLE_2, 16), (EXAMPLE_3, 20), (EXAMPLE_4, 13)] {
            let parsed = parse(payload, 1);
            assert_eq!(parsed.fields.len(), count, "{payload}");
            assert_eq!(parsed.invalid_keys_count, 0, "{:?}", parsed.fields);
            assert!(parsed.duplicated_keys.is_empty());
            assert!(is_fiscal(payload));
        }
        assert_eq!(
            field(&parse(EXAMPLE_2, 1), "F").content_normalized,
            "2019-08-12"
        );
        assert_eq!(field(&parse(EXAMPLE_4, 1), "I1").content, "0");
    }

    #[test]
    fn shared_testdata_examples_parse_cleanly() {
        // The TSV is the source of the constants above; skip quietly when it is not mounted.
        let path = "/work/shared/testdata/at-qr-spec/expected_payloads.tsv";
        let Ok(tsv) = std::fs::read_to_string(path) else {
            return;
        };
        let payloads: Vec<&str> = tsv
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').nth(2))
            .collect();
        assert_eq!(payloads, [EXAMPLE_1, EXAMPLE_2, EXAMPLE_3, EXAMPLE_4]);
    }

    #[test]
    fn bad_issuer_nif() {
        let parsed = parse(&example_1_with("A", "123456788"), 1);
        let (key, issue) = only_issue(&parsed);
        assert_eq!(key, "A");
        assert!(issue.contains("NIF"), "{issue}");
        assert_eq!(field(&parsed, "A").confidence, 0.5);
        assert_eq!(field(&parsed, "A").content_normalized, "123456788");
    }

    #[test]
    fn buyer_nif_checked_only_for_portuguese_nine_digits() {
        assert_eq!(
            only_issue(&parse(&example_1_with("B", "123456788"), 1)).0,
            "B"
        );
        let foreign = example_1_with("B", "123456788").replace("C:PT", "C:ES");
        assert_eq!(parse(&foreign, 1).invalid_keys_count, 0);
        let long_foreign =
            example_1_with("B", "DE123456789012345678901234567").replace("C:PT", "C:DE");
        assert_eq!(parse(&long_foreign, 1).invalid_keys_count, 0);
        let too_long = example_1_with("B", &"9".repeat(31));
        assert_eq!(only_issue(&parse(&too_long, 1)).0, "B");
        assert_eq!(
            parse(&example_1_with("C", "Desconhecido"), 1).invalid_keys_count,
            0
        );
    }

    #[test]
    fn bad_dates() {
        for bad in [
            "20191332",
            "20190230",
            "20190001",
            "2019123",
            "2019-12-31",
            "00000101",
        ] {
            let parsed = parse(&example_1_with("F", bad), 1);
            let (key, issue) = only_issue(&parsed);
            assert_eq!(key, "F", "{bad}");
            assert!(
                issue.contains("date") || issue.contains("maximum"),
                "{issue}"
            );
            assert_eq!(field(&parsed, "F").content_normalized, bad);
        }
        assert_eq!(
            parse(&example_1_with("F", "20240229"), 1).invalid_keys_count,
            0
        );
        assert_eq!(
            only_issue(&parse(&example_1_with("F", "21000229"), 1)).0,
            "F"
        );
    }

    #[test]
    fn bad_values_per_key() {
        let cases = [
            ("C", "Portugal"),
            ("C", "pt"),
            ("D", "XX"),
            ("E", "Z"),
            ("G", "FT0035"),
            ("G", "FT AB2019/35a"),
            ("H", "CSDF7T5H0035"),
            ("H", "short-0035"),
            ("H", "CSDF7T5H-36"),
            ("I1", "Lisboa"),
            ("J1", "PT-MA"),
            ("K1", "PT"),
            ("I7", "80000"),
            ("I7", "80000.0"),
            ("I7", "80,000.00"),
            ("I7", "80000,00"),
            ("O", "-513600.58"),
            ("O", "12345678901234.00"),
            ("Q", "kLp"),
            ("Q", "kLp0x"),
            ("Q", "kL*0"),
            ("R", "99999"),
            ("R", "A999"),
            ("S", &"x".repeat(66)),
            ("M", ""),
        ];
        for (key, bad) in cases {
            let payload = example_1_with(key, bad);
            let parsed = parse(&payload, 1);
            // "kL*0" splits into "Q:kL" and the unknown "0": two invalid keys.
            if bad.contains('*') {
                assert_eq!(parsed.invalid_keys_count, 2, "{key}:{bad}");
                continue;
            }
            assert_eq!(only_issue(&parsed).0, key, "{key}:{bad}");
        }
    }

    #[test]
    fn decimal_commas_are_read_and_counted() {
        let parsed = parse(&example_1_with("O", "513600,58"), 1);
        let (key, issue) = only_issue(&parsed);
        assert_eq!(key, "O");
        assert!(issue.ends_with("; read as 513600.58"), "{issue}");
        let total = field(&parsed, "O");
        assert_eq!(
            (total.content.as_str(), total.content_normalized.as_str()),
            ("513600,58", "513600.58")
        );
        assert_eq!(total.confidence, BENT_CONFIDENCE);
        let parsed = parse(&example_1_with("I7", "80.000,00"), 1);
        assert_eq!(only_issue(&parsed).0, "I7");
        assert_eq!(field(&parsed, "I7").content_normalized, "80000.00");
    }

    #[test]
    fn an_atcud_without_its_number_takes_the_document_number() {
        for bent in ["CSDF7T5H", "CSDF7T5H0035"] {
            let parsed = parse(&example_1_with("H", bent), 1);
            assert_eq!(only_issue(&parsed).0, "H", "{bent}");
            let atcud = field(&parsed, "H");
            assert_eq!(atcud.content, bent);
            assert_eq!(atcud.content_normalized, "CSDF7T5H-0035", "{bent}");
        }
        // Without a well-formed G there is no number to complete it with.
        let payload = example_1_with("H", "CSDF7T5H").replace("G:FT AB2019/0035", "G:FT0035");
        let parsed = parse(&payload, 1);
        assert_eq!(parsed.invalid_keys_count, 2, "G and H");
        assert_eq!(field(&parsed, "H").content_normalized, "CSDF7T5H");
        assert_eq!(field(&parsed, "H").confidence, INVALID_CONFIDENCE);
    }

    #[test]
    fn a_credit_note_with_negative_amounts_is_read() {
        let credit_note = EXAMPLE_2
            .replace("D:FS", "D:NC")
            .replace("G:FS", "G:NC")
            .replace(
                "I7:0.65*I8:0.15*N:0.15*O:0.80",
                "I7:-0.65*I8:-0.15*N:-0.15*O:-0.80",
            );
        let parsed = parse(&credit_note, 1);
        assert_eq!(parsed.invalid_keys_count, 4, "the spec has no signs");
        for (key, read) in [
            ("I7", "-0.65"),
            ("I8", "-0.15"),
            ("N", "-0.15"),
            ("O", "-0.80"),
        ] {
            let f = field(&parsed, key);
            assert_eq!(f.content_normalized, read, "{key}");
            assert!(
                f.issue.as_deref().is_some_and(|i| i.contains("sign")),
                "{f:?}"
            );
        }
        assert!(is_fiscal(&credit_note));
    }

    #[test]
    fn values_beyond_reading_stay_as_printed() {
        let parsed = parse(&example_1_with("O", "cinco"), 1);
        assert_eq!(only_issue(&parsed).0, "O");
        let total = field(&parsed, "O");
        assert_eq!(total.content_normalized, "cinco");
        assert_eq!(total.confidence, INVALID_CONFIDENCE);
        // An amount in the wrong fiscal space is not a bent amount.
        let without_j1 = EXAMPLE_1.replace("J1:PT-AC*", "");
        let parsed = parse(&without_j1, 1);
        assert_eq!(field(&parsed, "J7").confidence, INVALID_CONFIDENCE);
    }

    #[test]
    fn atcud_zero_and_leading_zeros_accepted() {
        assert_eq!(parse(&example_1_with("H", "0"), 1).invalid_keys_count, 0);
        assert_eq!(
            parse(&example_1_with("H", "CSDF7T5H-35"), 1).invalid_keys_count,
            0
        );
    }

    #[test]
    fn fiscal_space_groups() {
        let without_j1 = EXAMPLE_1.replace("J1:PT-AC*", "");
        let parsed = parse(&without_j1, 1);
        assert_eq!(parsed.invalid_keys_count, 7, "J2..J8 lack J1");
        let vat_without_vat = EXAMPLE_2.replace("I1:PT", "I1:0");
        assert_eq!(parse(&vat_without_vat, 1).invalid_keys_count, 2, "I7, I8");
    }

    #[test]
    fn unknown_key() {
        let parsed = parse(&format!("{EXAMPLE_2}*Z9:hello"), 1);
        let (key, issue) = only_issue(&parsed);
        assert_eq!((key, issue), ("Z9", "unknown key 'Z9'"));
        assert_eq!(field(&parsed, "Z9").category_normalized, "Unknown");
        assert_eq!(field(&parsed, "Z9").content, "hello");
        // Keys are case-sensitive.
        assert_eq!(
            only_issue(&parse(&EXAMPLE_2.replace("*S:", "*s:"), 1)).0,
            "s"
        );
    }

    #[test]
    fn duplicated_keys_keep_the_first() {
        let payload = format!("{EXAMPLE_4}*O:9.99*N:1.00*O:5.00*A:1");
        let parsed = parse(&payload, 1);
        assert_eq!(parsed.duplicated_keys, ["O", "N", "A"]);
        assert_eq!(
            parsed.invalid_keys_count, 0,
            "duplicates are reported apart"
        );
        assert_eq!(parsed.fields.len(), 13);
        assert_eq!(field(&parsed, "O").content, "0.00");
    }

    #[test]
    fn missing_required_keys_counted_without_fields() {
        let parsed = parse(&EXAMPLE_4.replace("*Q:5uIg", ""), 1);
        assert_eq!(parsed.invalid_keys_count, 1);
        assert_eq!(parsed.fields.len(), 12);
        assert!(parsed.fields.iter().all(|f| f.issue.is_none()));
        let parsed = parse(&EXAMPLE_4.replace("*I1:0", "").replace("*R:9999", ""), 1);
        assert_eq!(parsed.invalid_keys_count, 2);
    }

    #[test]
    fn values_may_contain_colons() {
        let payload = example_1_with("S", "MB;12345;123456789;10.00;ref:a:b");
        let parsed = parse(&payload, 1);
        assert_eq!(parsed.invalid_keys_count, 0);
        assert_eq!(
            field(&parsed, "S").content,
            "MB;12345;123456789;10.00;ref:a:b"
        );
        let parsed = parse(&example_1_with("G", "FT A:B/35"), 1);
        assert_eq!(field(&parsed, "G").content, "FT A:B/35");
    }

    #[test]
    fn scanner_noise_is_trimmed() {
        let parsed = parse(&format!("\u{feff}{EXAMPLE_2}\r\n"), 1);
        assert_eq!(parsed.invalid_keys_count, 0);
        assert_eq!(field(&parsed, "S").content, "NU;0.80");
        assert!(is_fiscal(&format!("{EXAMPLE_2}\n")));
        assert_eq!(parse(&format!("{EXAMPLE_2}*"), 1).invalid_keys_count, 0);
    }

    #[test]
    fn garbage_never_panics() {
        let stars = "*".repeat(10_000);
        let colons = ":".repeat(10_000);
        let mixed = "A:*".repeat(5_000);
        let garbage = [
            "",
            "hello",
            "A:",
            "***",
            "\u{0}\u{1}\u{7f}\u{fffd}é:ü*€",
            stars.as_str(),
            colons.as_str(),
            mixed.as_str(),
            "A:1*B:2",
            "https://example.com/?A:1*B:2",
            "F:2019é231*F:",
            "Q:ééééé*G: /",
        ];
        for payload in garbage {
            let parsed = parse(payload, 1);
            assert!(!is_fiscal(payload), "{payload:.40}");
            assert!(parsed.invalid_keys_count >= 1, "{payload:.40}");
        }
        let empty = parse("", 2);
        assert!(empty.fields.is_empty());
        assert_eq!(
            empty.invalid_keys_count, 13,
            "every required key is missing"
        );
        assert_eq!(parse("***", 1), empty);
        assert_eq!(parse(&stars, 1), empty);
        let hello = parse("hello", 1);
        assert_eq!(
            hello.fields[0].issue.as_deref(),
            Some("not a key:value pair")
        );
        assert_eq!(hello.invalid_keys_count, 14);
        let a = parse("A:", 1);
        assert_eq!(a.fields[0].issue.as_deref(), Some("empty value"));
        assert_eq!(parse(&mixed, 1).duplicated_keys, ["A"]);
    }

    #[test]
    fn is_fiscal_tolerates_damage_but_not_look_alikes() {
        assert!(is_fiscal(&EXAMPLE_1.replace("A:123456789", "A:123456788")));
        assert!(is_fiscal("A:123456789*B:999999990*C:PT*D:FT*E:N"));
        assert!(!is_fiscal("A:123456789*B:999999990"));
        assert!(!is_fiscal(&EXAMPLE_1.replace("*B:999999990", "")));
        assert!(!is_fiscal(&EXAMPLE_1[1..]));
    }
}
