//! Identifiers invoices carry and whether they hold: tax ids by country (their shape, with or
//! without the VAT prefix, and their check digits), IBANs (length by country, ISO 13616 mod 97)
//! and BICs. What differs by country is data, `lexicons/countries.json`; the check-digit
//! algorithms that file names are implemented here, once each.
//!
//! Hand-written rather than a crate: `iban_validate` knows each country's IBAN length only
//! once the check digits hold, and a value must be bounded before that to be flagged; the VAT
//! crates read prefixed EU numbers only (no bare NIF, SIREN or SIRET) and do not say which
//! rule failed.

use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

/// Adding a country is adding an entry to this file.
const COUNTRIES_FILE: &str = include_str!("../lexicons/countries.json");

#[derive(Debug, Deserialize)]
struct CountriesFile {
    countries: Vec<Country>,
}

/// A country: its ISO 3166 code (also its IBANs' and BICs'), the prefixes of its VAT numbers
/// (Greece prints EL), the length of its IBANs if it has them, and its tax ids.
#[derive(Debug, Deserialize)]
struct Country {
    code: String,
    #[serde(default)]
    vat_prefixes: Vec<String>,
    iban_length: Option<usize>,
    #[serde(default)]
    tax_ids: Vec<TaxIdRule>,
}

/// One kind of tax id of a country ("NIF", "VAT number").
#[derive(Debug, Deserialize)]
struct TaxIdRule {
    name: String,
    /// What follows the prefix, compact and upper case; a regular expression over all of it.
    #[serde(deserialize_with = "anchored")]
    pattern: Regex,
    /// None where only the shape is known.
    check: Option<Check>,
    /// Printed after a VAT prefix ("DE123456789").
    #[serde(default = "yes")]
    prefixed: bool,
    /// Printed alone too ("123456789" for a Portuguese NIF).
    #[serde(default)]
    bare: bool,
}

fn yes() -> bool {
    true
}

fn anchored<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Regex, D::Error> {
    let pattern = String::deserialize(d)?;
    Regex::new(&format!("^(?:{pattern})$")).map_err(serde::de::Error::custom)
}

/// The check-digit algorithms `countries.json` may name.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Check {
    PtNif,
    EsNif,
    EsCif,
    Luhn,
    FrTva,
    #[serde(rename = "iso7064_mod11_10")]
    Iso7064Mod11,
    NlBtw,
    BeMod97,
    AtUid,
    DkMod11,
    FiMod11,
    LuMod89,
    GbMod97,
}

impl Check {
    fn holds(self, id: &str) -> bool {
        // Patterns admit ASCII only; a check is never asked about anything else.
        id.is_ascii()
            && match self {
                Check::PtNif => pt_nif_is_valid(id),
                Check::EsNif => es_nif(id),
                Check::EsCif => es_cif(id),
                Check::Luhn => luhn(id),
                Check::FrTva => fr_tva(id),
                Check::Iso7064Mod11 => iso7064_mod11_10(id),
                Check::NlBtw => nl_btw(id),
                Check::BeMod97 => be_mod97(id),
                Check::AtUid => at_uid(id),
                Check::DkMod11 => mod11_is_zero(id, &[2, 7, 6, 5, 4, 3, 2, 1]),
                Check::FiMod11 => mod11_is_zero(id, &[7, 9, 10, 5, 8, 4, 2, 1]),
                Check::LuMod89 => lu_mod89(id),
                Check::GbMod97 => gb_mod97(id),
            }
    }
}

fn countries() -> &'static [Country] {
    static PARSED: OnceLock<Vec<Country>> = OnceLock::new();
    // The file is part of the binary and checked by a test: a broken one is a build bug.
    PARSED.get_or_init(|| {
        serde_json::from_str::<CountriesFile>(COUNTRIES_FILE)
            .map(|f| f.countries)
            .unwrap_or_default()
    })
}

fn country(code: &str) -> Option<&'static Country> {
    countries().iter().find(|c| c.code == code)
}

// ---------------------------------------------------------------------------------------------
// Tax ids

/// Whether `prefix` opens some country's VAT numbers.
pub fn is_vat_prefix(prefix: &str) -> bool {
    countries()
        .iter()
        .any(|c| c.vat_prefixes.iter().any(|p| p == prefix))
}

/// Every rule whose shape `id` (compact, upper case) has, with its country and the part of
/// `id` the rule reads: after one of the country's VAT prefixes, or all of it when bare.
fn readings(id: &str) -> impl Iterator<Item = (&'static Country, &'static TaxIdRule, &str)> {
    countries().iter().flat_map(move |country| {
        country.tax_ids.iter().filter_map(move |rule| {
            let prefixes = if rule.prefixed {
                country.vat_prefixes.as_slice()
            } else {
                &[]
            };
            let after_prefix = prefixes.iter().find_map(|p| id.strip_prefix(p.as_str()));
            let body = after_prefix
                .filter(|body| rule.pattern.is_match(body))
                .or((rule.bare && rule.pattern.is_match(id)).then_some(id))?;
            Some((country, rule, body))
        })
    })
}

/// Whether `id` (compact, upper case) has the shape of some country's tax id.
pub fn is_tax_id(id: &str) -> bool {
    readings(id).next().is_some()
}

/// Why a tax id fails every country whose shape it has, naming them ("invalid DE VAT number
/// check digits"); None when one country's check holds or has none.
pub fn tax_id_issue(id: &str) -> Option<String> {
    let mut failed = Vec::new();
    for (country, rule, body) in readings(id) {
        if rule.check.is_none_or(|check| check.holds(body)) {
            return None;
        }
        failed.push(format!("{} {}", country.code, rule.name));
    }
    (!failed.is_empty()).then(|| format!("invalid {} check digits", failed.join(" or ")))
}

/// The digits of `text`, None when anything else is in it.
fn digits(text: &str) -> Option<Vec<u32>> {
    text.chars().map(|c| c.to_digit(10)).collect()
}

/// The number the characters of `id` in `range` make, None unless they are all digits.
fn number(id: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let text = id.get(range)?;
    digits(text)?;
    text.parse().ok()
}

/// The digits weighted, as far as there are weights.
fn weighted(d: &[u32], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// Weights 9 down to 2, as the Portuguese NIF and the Dutch BTW weigh their first eight digits.
const NINE_TO_TWO: [u32; 8] = [9, 8, 7, 6, 5, 4, 3, 2];

/// The digits summed with every second one doubled (its two digits added), starting with the
/// first when `first_doubled`: Luhn's sum, and the Spanish CIF's and the Austrian UID's.
fn luhn_sum<'a>(d: impl Iterator<Item = &'a u32>, first_doubled: bool) -> u32 {
    d.enumerate()
        .map(|(i, &x)| {
            if (i % 2 == 0) == first_doubled {
                2 * x / 10 + 2 * x % 10
            } else {
                x
            }
        })
        .sum()
}

/// A Portuguese NIF: nine digits whose last is the mod-11 check digit of the first eight.
pub fn pt_nif_is_valid(nif: &str) -> bool {
    let Some(d) = digits(nif).filter(|d| d.len() == 9) else {
        return false;
    };
    let check = match 11 - weighted(&d, &NINE_TO_TWO) % 11 {
        10 | 11 => 0,
        c => c,
    };
    check == d[8]
}

/// A Spanish NIF or NIE: its number (an NIE's X, Y, Z read as 0, 1, 2; the letter of a K, L
/// or M NIF left out) mod 23 picks the control letter.
fn es_nif(id: &str) -> bool {
    let Some((number, letter)) = id.split_at_checked(id.len().saturating_sub(1)) else {
        return false;
    };
    let lead = match number.chars().next() {
        Some('X') => "0",
        Some('Y') => "1",
        Some('Z') => "2",
        _ => "",
    };
    let number = number.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let Ok(n) = format!("{lead}{number}").parse::<usize>() else {
        return false;
    };
    "TRWAGMYFPDXBNJZSQVHLCKE".get(n % 23..n % 23 + 1) == Some(letter)
}

/// A Spanish CIF: the kind of entity, seven digits and a control, a digit or its letter in
/// "JABCDEFGHI": a letter for some kinds (public bodies, foreign entities), a digit for
/// companies (A, B, E, H), either for the rest.
fn es_cif(id: &str) -> bool {
    let (Some(kind), Some(d), Some(last)) = (
        id.chars().next(),
        id.get(1..8).and_then(digits),
        id.chars().nth(8),
    ) else {
        return false;
    };
    let control = (10 - luhn_sum(d.iter(), true) % 10) % 10;
    let as_digit = last.to_digit(10) == Some(control);
    let as_letter = "JABCDEFGHI".chars().nth(control as usize) == Some(last);
    match kind {
        'N' | 'P' | 'Q' | 'R' | 'S' | 'W' => as_letter,
        'A' | 'B' | 'E' | 'H' => as_digit,
        _ => as_digit || as_letter,
    }
}

/// Luhn: every second digit from the right doubled, the sum a multiple of ten (French SIREN
/// and SIRET, Italian Partita IVA).
fn luhn(id: &str) -> bool {
    let Some(d) = digits(id).filter(|d| !d.is_empty()) else {
        return false;
    };
    luhn_sum(d.iter().rev(), false) % 10 == 0
}

/// A French TVA number: a key of two characters, then the SIREN. A numeric key is
/// (12 + 3 × (SIREN mod 97)) mod 97; a key with letters (newer numbers) leaves the SIREN's
/// own Luhn to check.
fn fr_tva(id: &str) -> bool {
    let Some((key, siren)) = id.split_at_checked(2) else {
        return false;
    };
    match (key.parse::<u64>(), siren.parse::<u64>()) {
        (Ok(key), Ok(number)) => key == (12 + 3 * (number % 97)) % 97,
        _ => luhn(siren),
    }
}

/// ISO 7064 MOD 11,10 over all digits but the last, which is the check digit (German
/// USt-IdNr).
fn iso7064_mod11_10(id: &str) -> bool {
    let Some(d) = digits(id) else {
        return false;
    };
    let Some((&check, body)) = d.split_last() else {
        return false;
    };
    let product = body.iter().fold(10, |product, &x| {
        let sum = match (x + product) % 10 {
            0 => 10,
            s => s,
        };
        2 * sum % 11
    });
    (11 - product) % 10 == check
}

/// A Dutch BTW number: nine digits, B, two digits. The nine digits pass mod 11 (weights 9 to 2,
/// the remainder the last digit), or, for sole proprietors' numbers since 2020, "NL" and the
/// whole number pass mod 97 as an IBAN does.
fn nl_btw(id: &str) -> bool {
    let mod11 = id
        .get(..9)
        .and_then(digits)
        .is_some_and(|d| weighted(&d, &NINE_TO_TWO) % 11 == d[8]);
    mod11 || mod97(&format!("NL{id}")) == Some(1)
}

/// A Belgian enterprise number: ten digits, the last two 97 − (the first eight mod 97).
fn be_mod97(id: &str) -> bool {
    match (number(id, 0..8), number(id, 8..10)) {
        (Some(n), Some(check)) => id.len() == 10 && 97 - n % 97 == check,
        _ => false,
    }
}

/// An Austrian UID: U, seven digits summed Luhn's way from the left, and a check digit that
/// brings that sum plus 4 to a multiple of ten.
fn at_uid(id: &str) -> bool {
    let Some(d) = id.strip_prefix('U').and_then(digits) else {
        return false;
    };
    let Some((&check, body)) = d.split_last() else {
        return false;
    };
    (10 - (luhn_sum(body.iter(), false) + 4) % 10) % 10 == check
}

/// Danish and Finnish VAT numbers: eight digits whose weighted sum (the check digit weighing
/// 1) is a multiple of 11.
fn mod11_is_zero(id: &str, weights: &[u32; 8]) -> bool {
    digits(id).is_some_and(|d| d.len() == 8 && weighted(&d, weights) % 11 == 0)
}

/// A Luxembourg VAT number: the first six digits mod 89 are the last two.
fn lu_mod89(id: &str) -> bool {
    match (number(id, 0..6), number(id, 6..8)) {
        (Some(n), Some(check)) => id.len() == 8 && n % 89 == check,
        _ => false,
    }
}

/// A British VAT number: seven digits weighted 8 down to 2 plus the two check digits make a
/// multiple of 97, or do with 55 more (numbers issued since 2010); a branch's twelve digits
/// are checked on their first nine.
fn gb_mod97(id: &str) -> bool {
    let (Some(d), Some(check)) = (id.get(..7).and_then(digits), number(id, 7..9)) else {
        return false;
    };
    let sum = weighted(&d, &[8, 7, 6, 5, 4, 3, 2]) + check;
    sum % 97 == 0 || (sum + 55) % 97 == 0
}

/// ISO 7064 MOD 97-10 over digits and letters (A = 10 … Z = 35), as IBANs use it.
fn mod97(text: &str) -> Option<u32> {
    text.chars().try_fold(0u32, |acc, c| {
        let value = c.to_digit(36)?;
        Some(if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Bank ids

/// Whether `iban` (compact, upper case) has its country's IBAN length, two check digits, and
/// letters and digits only. The check digits are not verified here.
pub fn is_iban_shaped(iban: &str) -> bool {
    let length = iban.get(..2).and_then(country).and_then(|c| c.iban_length);
    length == Some(iban.len())
        && iban
            .get(2..4)
            .is_some_and(|check| check.bytes().all(|b| b.is_ascii_digit()))
        && iban
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// An IBAN in compact form (no spaces, upper case) of its country's length whose ISO 13616
/// mod-97 check holds.
pub fn iban_is_valid(iban: &str) -> bool {
    is_iban_shaped(iban) && mod97(&format!("{}{}", &iban[4..], &iban[..4])) == Some(1)
}

/// A BIC (ISO 9362): bank (four letters), a known country, location (two letters or digits)
/// and an optional branch (three).
pub fn is_bic(bic: &str) -> bool {
    let b = bic.as_bytes();
    matches!(b.len(), 8 | 11)
        && b[..4].iter().all(u8::is_ascii_uppercase)
        && bic.get(4..6).and_then(country).is_some()
        && b[6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_countries_file_parses_with_known_algorithms_and_unique_codes() {
        let file: CountriesFile = serde_json::from_str(COUNTRIES_FILE).unwrap();
        assert_eq!(file.countries.len(), countries().len());
        for (i, c) in file.countries.iter().enumerate() {
            assert!(
                !file.countries[..i].iter().any(|d| d.code == c.code),
                "{} twice",
                c.code
            );
            // A rule read after a VAT prefix needs its country to have one.
            let prefixed = c.tax_ids.iter().any(|r| r.prefixed);
            assert!(!prefixed || !c.vat_prefixes.is_empty(), "{}", c.code);
            assert!(
                c.iban_length.is_none_or(|n| (15..=34).contains(&n)),
                "{}",
                c.code
            );
        }
    }

    fn valid(ids: &[&str]) {
        for id in ids {
            assert!(is_tax_id(id), "{id} not a tax id");
            assert_eq!(tax_id_issue(id), None, "{id}");
        }
    }

    fn invalid(issue: &str, ids: &[&str]) {
        for id in ids {
            assert!(is_tax_id(id), "{id} not a tax id");
            assert_eq!(tax_id_issue(id).as_deref(), Some(issue), "{id}");
        }
    }

    fn not_shaped(ids: &[&str]) {
        for id in ids {
            assert!(!is_tax_id(id), "{id}");
        }
    }

    #[test]
    fn nif_check_digits() {
        for valid in ["123456789", "999999990", "500000000", "501964843"] {
            assert!(pt_nif_is_valid(valid), "{valid}");
        }
        for invalid in ["123456788", "12345678", "1234567890", "12345678a", ""] {
            assert!(!pt_nif_is_valid(invalid), "{invalid}");
        }
    }

    #[test]
    fn portuguese_nif_with_or_without_prefix() {
        valid(&["PT501964843", "501964843", "PT999999990"]);
        invalid("invalid PT NIF check digits", &["PT123456788"]);
        // Nine bare digits are also a French SIREN: the issue names both.
        invalid("invalid FR SIREN or PT NIF check digits", &["123456788"]);
        not_shaped(&["PT12345678", "PT1234567890"]);
    }

    #[test]
    fn spanish_nif_nie_and_cif() {
        // 12345678 mod 23 = 14 (Z); an NIE's X is 0: 1234567 mod 23 = 19 (L).
        valid(&["12345678Z", "ES12345678Z", "X1234567L", "ESX1234567L"]);
        // B1234567: odd digits doubled 2+6+1+5, even 2+4+6, control 10 - 26 mod 10 = 4 (D).
        valid(&[
            "B12345674",
            "ESB12345674",
            "P1234567D",
            "G1234567D",
            "G12345674",
        ]);
        invalid("invalid ES NIF check digits", &["12345678A", "ES12345678A"]);
        invalid("invalid ES NIE check digits", &["X1234567T"]);
        invalid(
            "invalid ES CIF check digits",
            &["B12345675", "B1234567D", "P12345674"],
        );
        not_shaped(&["ES1234567Z", "I12345674"]);
    }

    #[test]
    fn french_siren_siret_and_tva() {
        // SIREN 123456782 passes Luhn; its TVA key is (12 + 3 × (123456782 mod 97)) mod 97 = 11.
        valid(&[
            "123456782",
            "12345678200002",
            "FR11123456782",
            "FR19787878784",
        ]);
        // A key with letters (newer numbers) leaves the SIREN to check.
        valid(&["FRK7123456782"]);
        invalid(
            "invalid FR TVA check digits",
            &["FR12123456782", "FRK7123456783"],
        );
        invalid("invalid FR SIRET check digits", &["12345678200003"]);
        not_shaped(&["FR123456782", "FRI1123456782"]);
    }

    #[test]
    fn german_ust_idnr() {
        // The EN 16931 samples' number; 12345678 takes check digit 8 under ISO 7064 MOD 11,10.
        valid(&["DE136695976", "DE123456788"]);
        invalid(
            "invalid DE VAT number check digits",
            &["DE123456789", "DE136695977"],
        );
        not_shaped(&["DE12345678", "DE1234567890"]);
    }

    #[test]
    fn dutch_btw_mod_11_and_mod_97() {
        // 0×9 + 0×8 + 4×7 + 4×6 + 9×5 + 5×4 + 4×3 + 4×2 = 137, 137 mod 11 = 5.
        valid(&["NL004495445B01", "004495445B01"]);
        // Sole proprietors since 2020: "NL123456789B13" passes mod 97.
        valid(&["NL123456789B13"]);
        invalid(
            "invalid NL BTW check digits",
            &["NL004495446B01", "NL123456789B14"],
        );
        not_shaped(&["NL004495445", "NL004495445C01"]);
    }

    #[test]
    fn italian_partita_iva() {
        valid(&["IT12345678903", "12345678903", "IT00743110157"]);
        invalid("invalid IT Partita IVA check digits", &["IT12345678904"]);
        not_shaped(&["IT1234567890"]);
    }

    #[test]
    fn belgian_enterprise_number() {
        // 97 − (01234567 mod 97) = 49.
        valid(&["BE0123456749", "BE0403019261"]);
        invalid("invalid BE VAT number check digits", &["BE0123456748"]);
        not_shaped(&["BE2123456749", "0123456749"]);
    }

    #[test]
    fn more_eu_check_digits() {
        // U1234567: 1 + 4 + 3 + 8 + 5 + 3 + 7 = 31, (10 - (31 + 4) mod 10) mod 10 = 5.
        valid(&["ATU12345675"]);
        invalid("invalid AT VAT number check digits", &["ATU12345676"]);
        valid(&["DK12345607", "FI12345671", "LU12345613"]);
        invalid("invalid DK VAT number check digits", &["DK12345608"]);
        invalid("invalid FI VAT number check digits", &["FI12345672"]);
        invalid("invalid LU VAT number check digits", &["LU12345614"]);
        // 1234567 weighted 8 to 2 is 112: + 82 is 2 × 97, and so is + 27 + 55 (since 2010).
        valid(&["GB123456782", "GB123456727", "GB123456782001", "GBGD123"]);
        invalid("invalid GB VAT number check digits", &["GB123456789"]);
        not_shaped(&["GBGD567"]);
    }

    #[test]
    fn eu_vat_prefixes() {
        // Greece is EL in VAT numbers (GR in IBANs); Northern Ireland is XI beside GB.
        valid(&["EL123456789", "XI123456782", "GB123456782"]);
        not_shaped(&["GR123456789", "XX123456789", "AT12345678"]);
        // Outside the EU: a Malaysian GST id is printed bare, and only its shape is known.
        valid(&["001531760640"]);
        not_shaped(&["MY001531760640"]);
        assert!(is_vat_prefix("EL") && !is_vat_prefix("GR"));
    }

    #[test]
    fn iban_check_digits() {
        assert!(iban_is_valid("PT50000201231234567890154"));
        assert!(iban_is_valid("GB82WEST12345698765432"));
        assert!(iban_is_valid("DE89370400440532013000"));
        assert!(iban_is_valid("BE68539007547034"));
        assert!(!iban_is_valid("GB82WEST12345698765433"));
        assert!(
            !iban_is_valid("PT50 0002 0123 1234 5678 9015 4"),
            "compact form only"
        );
        assert!(!iban_is_valid("XX"));
    }

    #[test]
    fn iban_length_is_the_countrys() {
        assert!(is_iban_shaped("PT50000201231234567890154"));
        assert!(is_iban_shaped("PT50000201231234567890155"), "shape only");
        assert!(!is_iban_shaped("PT5000020123123456789015"), "one short");
        assert!(!is_iban_shaped("PT500002012312345678901544"), "one long");
        assert!(!is_iban_shaped("PT50000201231234567890154B"));
        assert!(!is_iban_shaped("XX50000201231234567890154"));
        assert!(!is_iban_shaped("DE8X370400440532013000"));
    }

    #[test]
    fn bic_shape() {
        for bic in [
            "DEUTDEFF",
            "DEUTDEFF500",
            "CGDIPTPL",
            "NEDSZAJJXXX",
            "BCOMPTPLXXX",
        ] {
            assert!(is_bic(bic), "{bic}");
        }
        for bic in [
            "DEUTDEF",
            "DEUTDEFF50",
            "DEU1DEFF",
            "DEUTXXFF",
            "deutdeff",
            "DEUTDEFF-00",
            "",
        ] {
            assert!(!is_bic(bic), "{bic}");
        }
    }
}
