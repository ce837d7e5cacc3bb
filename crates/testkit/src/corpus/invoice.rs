//! Invoice ground truth: parties with valid NIFs and IBANs, line items whose totals add up to
//! the cent, VAT bands, and the AT fiscal QR payload that restates them.

use time::macros::date;
use time::Duration;

use super::{InvoiceLine, InvoiceTruth, Language, Rng, VatBand};

/// Fictional suppliers; accents, "&" and an en dash exercise the WinAnsi text path.
const SUPPLIERS: &[&str] = &[
    "Tecnofrio – Climatização, Lda.",
    "Papelaria Central do Porto, S.A.",
    "Açoriana Digital, Unipessoal Lda.",
    "Construções Ribeiro & Filhos, Lda.",
    "Sabores do Alentejo – Restauração, Lda.",
    "Livraria Técnica Lusíada, Lda.",
    "Oliveira & Gonçalves Informática, S.A.",
    "Padaria São João, Lda.",
];

/// Customers and the first digit of their NIF: companies and public bodies 5 or 6, people 1
/// or 2.
const CUSTOMERS: &[(&str, &str)] = &[
    ("Hotel Mar Azul, S.A.", "5"),
    ("João Miguel Ferreira", "2"),
    ("Clínica Dentária Sorriso, Lda.", "5"),
    ("Escola Profissional de Braga", "5"),
    ("Maria Inês Carvalho", "1"),
    ("Transportes Rápidos do Minho, Lda.", "5"),
    ("Câmara Municipal de Évora", "6"),
];

/// Street line and postal code + city; the postal codes are number-like distractors.
const ADDRESSES: &[[&str; 2]] = &[
    ["Rua de Santa Catarina, 1120", "4000-447 Porto"],
    ["Avenida da República, 50, 3.º Esq.", "1050-196 Lisboa"],
    [
        "Rua Dr. Aristides de Sousa Mendes, 12",
        "9500-150 Ponta Delgada",
    ],
    ["Largo do Município, 3", "7000-548 Évora"],
    ["Estrada Nacional 125, km 98", "8200-380 Albufeira"],
    ["Praça da Liberdade, 27, 1.º", "4710-305 Braga"],
    ["Rua Ferreira Borges, 85", "3000-180 Coimbra"],
    ["Zona Industrial de Aveiro, Lote 14", "3800-055 Aveiro"],
];

/// A catalogue item: descriptions, VAT rate in percent, unit price range in cents, largest
/// quantity, and whether it is sold in halves (hours, kilograms).
struct Item {
    pt: &'static str,
    en: &'static str,
    rate: u32,
    cents: (i64, i64),
    max_quantity: i64,
    halves: bool,
}

const fn item(
    pt: &'static str,
    en: &'static str,
    rate: u32,
    cents: (i64, i64),
    max_quantity: i64,
    halves: bool,
) -> Item {
    Item {
        pt,
        en,
        rate,
        cents,
        max_quantity,
        halves,
    }
}

const ITEMS: &[Item] = &[
    item(
        "Serviços de consultoria informática",
        "IT consulting services",
        23,
        (4500, 12000),
        40,
        true,
    ),
    item(
        "Licença de software (anual)",
        "Software licence (annual)",
        23,
        (19900, 129900),
        5,
        false,
    ),
    item(
        "Manutenção de equipamento",
        "Equipment maintenance",
        23,
        (6000, 25000),
        4,
        false,
    ),
    item(
        "Papel A4 80 g/m² (resma)",
        "A4 paper 80 g/m² (ream)",
        23,
        (350, 690),
        50,
        false,
    ),
    item(
        "Toner para impressora",
        "Printer toner cartridge",
        23,
        (3500, 9800),
        6,
        false,
    ),
    item(
        "Deslocação técnica",
        "Technician call-out",
        23,
        (2500, 6000),
        3,
        false,
    ),
    item(
        "Alojamento de sítio web (mensal)",
        "Website hosting (monthly)",
        23,
        (900, 4900),
        12,
        false,
    ),
    item(
        "Refeições de grupo",
        "Group meals",
        13,
        (1200, 2500),
        30,
        false,
    ),
    item(
        "Vinho tinto Douro (garrafa)",
        "Douro red wine (bottle)",
        13,
        (450, 1800),
        24,
        false,
    ),
    item(
        "Serviço de catering",
        "Catering service",
        13,
        (15000, 60000),
        2,
        false,
    ),
    item(
        "Livros técnicos",
        "Technical books",
        6,
        (1500, 6500),
        10,
        false,
    ),
    item(
        "Água mineral 1,5 l (pack 6)",
        "Mineral water 1.5 l (pack of 6)",
        6,
        (180, 420),
        40,
        false,
    ),
    item(
        "Pão e pastelaria",
        "Bread and pastries",
        6,
        (80, 350),
        100,
        false,
    ),
    item(
        "Fruta da época (kg)",
        "Seasonal fruit (kg)",
        6,
        (120, 450),
        30,
        true,
    ),
];

/// Portuguese banks' codes: the first four digits of the NIB.
const BANKS: &[&str] = &["0007", "0010", "0018", "0033", "0035", "0036", "0045"];

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `count` invoices, alternating Portuguese and English. Invoice `i` depends only on `seed`
/// and `i`, so a larger corpus extends a smaller one.
pub fn invoices(count: usize, seed: u64) -> Vec<InvoiceTruth> {
    (0..count)
        .map(|index| {
            // Spread the per-invoice seeds so neighbouring indexes give unrelated streams.
            let stream = seed.wrapping_add((index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
            let language = if index % 2 == 0 {
                Language::Portuguese
            } else {
                Language::English
            };
            generate(&mut Rng::new(stream), language)
        })
        .collect()
}

impl InvoiceTruth {
    /// Whether its printed dates tell day from month: a day above 12 in one of them. Month-first
    /// dates that are not cannot be told from day-first ones.
    pub fn dates_are_unambiguous(&self) -> bool {
        let day_above_12 = |iso: &str| iso.get(8..).and_then(|d| d.parse::<u32>().ok()) > Some(12);
        day_above_12(&self.invoice_date) || day_above_12(&self.due_date)
    }
}

/// One invoice in `language`, from `seed`.
pub fn invoice_in(language: Language, seed: u64) -> InvoiceTruth {
    generate(&mut Rng::new(seed), language)
}

fn generate(rng: &mut Rng, language: Language) -> InvoiceTruth {
    let issued = date!(2024 - 01 - 01) + Duration::days(rng.range(0, 730));
    let due = issued + Duration::days(*rng.pick(&[15, 30, 30, 60]));
    let series = format!("{}{}", rng.pick(&["A", "B", "C", "M"]), issued.year());
    let sequence = rng.range(1, 2500);
    let invoice_number = format!("FT {series}/{sequence}");
    let atcud = format!("{}-{sequence}", random_chars(rng, ALPHANUMERIC, 8));
    let supplier_tax_id = nif(rng, "5");
    let (customer_name, customer_prefix) = *rng.pick(CUSTOMERS);
    let customer_tax_id = nif(rng, customer_prefix);

    let supplier_address = rng.pick(ADDRESSES);
    let customer_address = loop {
        let candidate = rng.pick(ADDRESSES);
        if candidate != supplier_address {
            break candidate;
        }
    };
    let lines = line_items(rng, language);
    let vat_breakdown = vat_bands(&lines);
    let net: i64 = lines.iter().map(|l| cents(&l.total)).sum();
    let tax: i64 = vat_breakdown.iter().map(|b| cents(&b.amount)).sum();

    let mut truth = InvoiceTruth {
        language,
        supplier_name: rng.pick(SUPPLIERS).to_string(),
        supplier_address: supplier_address.iter().map(|s| s.to_string()).collect(),
        supplier_tax_id,
        customer_name: customer_name.to_string(),
        customer_address: customer_address.iter().map(|s| s.to_string()).collect(),
        customer_tax_id,
        invoice_number,
        atcud,
        invoice_date: issued.to_string(),
        due_date: due.to_string(),
        currency: "EUR".into(),
        iban: iban(rng),
        lines,
        net_total: money(net),
        tax_total: money(tax),
        gross_total: money(net + tax),
        vat_breakdown,
        qr_payload: String::new(),
    };
    let hash = random_chars(rng, BASE64, 4);
    let certificate = rng.range(1000, 2999);
    truth.qr_payload = qr_payload(&truth, &hash, certificate);
    truth
}

fn line_items(rng: &mut Rng, language: Language) -> Vec<InvoiceLine> {
    let count = rng.range(3, 6) as usize;
    let mut chosen: Vec<&Item> = Vec::with_capacity(count);
    while chosen.len() < count {
        let candidate = rng.pick(ITEMS);
        if !chosen.iter().any(|c| std::ptr::eq(*c, candidate)) {
            chosen.push(candidate);
        }
    }
    chosen
        .into_iter()
        .map(|item| {
            let unit = rng.range(item.cents.0, item.cents.1);
            // Quantities in halves so hours and kilograms can be fractional.
            let halves = if item.halves {
                rng.range(1, item.max_quantity * 2)
            } else {
                rng.range(1, item.max_quantity) * 2
            };
            // Round half up to the cent, as invoicing software does.
            let total = (halves * unit + 1) / 2;
            InvoiceLine {
                description: match language {
                    Language::Portuguese => item.pt,
                    _ => item.en,
                }
                .to_string(),
                quantity: if halves % 2 == 0 {
                    (halves / 2).to_string()
                } else {
                    format!("{}.5", halves / 2)
                },
                unit_price: money(unit),
                vat_rate: rate_string(item.rate),
                total: money(total),
            }
        })
        .collect()
}

/// Bases summed per rate, highest rate first; VAT rounded half up per band.
fn vat_bands(lines: &[InvoiceLine]) -> Vec<VatBand> {
    [23, 13, 6]
        .into_iter()
        .filter_map(|rate| {
            let rate_text = rate_string(rate);
            let in_band = lines.iter().filter(|l| l.vat_rate == rate_text);
            let base: i64 = in_band.clone().map(|l| cents(&l.total)).sum();
            (in_band.count() > 0).then(|| VatBand {
                amount: money((base * i64::from(rate) + 50) / 100),
                rate: rate_text,
                base: money(base),
            })
        })
        .collect()
}

/// The AT fiscal QR payload (Portaria 195/2020 technical spec): fields in the spec's order,
/// amounts with a dot and two decimals, only the VAT bands the invoice uses.
fn qr_payload(truth: &InvoiceTruth, hash: &str, certificate: i64) -> String {
    let mut fields = vec![
        format!("A:{}", truth.supplier_tax_id),
        format!("B:{}", truth.customer_tax_id),
        "C:PT".to_string(),
        "D:FT".to_string(),
        "E:N".to_string(),
        format!("F:{}", truth.invoice_date.replace('-', "")),
        format!("G:{}", truth.invoice_number),
        format!("H:{}", truth.atcud),
        "I1:PT".to_string(),
    ];
    // Reduced (6%), intermediate (13%) and normal (23%) rates map to I3/I4, I5/I6, I7/I8.
    for (rate, base_key, amount_key) in [
        ("6.00", "I3", "I4"),
        ("13.00", "I5", "I6"),
        ("23.00", "I7", "I8"),
    ] {
        if let Some(band) = truth.vat_breakdown.iter().find(|b| b.rate == rate) {
            fields.push(format!("{base_key}:{}", band.base));
            fields.push(format!("{amount_key}:{}", band.amount));
        }
    }
    fields.push(format!("N:{}", truth.tax_total));
    fields.push(format!("O:{}", truth.gross_total));
    fields.push(format!("Q:{hash}"));
    fields.push(format!("R:{certificate:04}"));
    fields.join("*")
}

impl InvoiceTruth {
    /// The ground truth as (category, normalised value) pairs: ISO dates, compact IBAN,
    /// amounts like "1234.56", and a `VatBase:<rate>`/`VatAmount:<rate>` pair per band.
    pub fn expected_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("SupplierName", self.supplier_name.clone()),
            ("SupplierAddress", self.supplier_address.join(", ")),
            ("SupplierTaxId", self.supplier_tax_id.clone()),
            ("CustomerName", self.customer_name.clone()),
            ("CustomerAddress", self.customer_address.join(", ")),
            ("CustomerTaxId", self.customer_tax_id.clone()),
            ("InvoiceNumber", self.invoice_number.clone()),
            ("InvoiceDate", self.invoice_date.clone()),
            ("DueDate", self.due_date.clone()),
            ("Currency", self.currency.clone()),
            ("Iban", self.iban.clone()),
            ("NetTotal", self.net_total.clone()),
            ("TaxTotal", self.tax_total.clone()),
            ("GrossTotal", self.gross_total.clone()),
        ];
        if self.language.has_fiscal_qr() {
            fields.push(("Atcud", self.atcud.clone()));
        }
        for band in &self.vat_breakdown {
            // Categories are static names, and the generator only uses these three rates.
            let (base, amount) = match band.rate.as_str() {
                "23.00" => ("VatBase:23.00", "VatAmount:23.00"),
                "13.00" => ("VatBase:13.00", "VatAmount:13.00"),
                "6.00" => ("VatBase:6.00", "VatAmount:6.00"),
                _ => continue,
            };
            fields.push((base, band.base.clone()));
            fields.push((amount, band.amount.clone()));
        }
        fields
    }

    /// The software certificate number (QR field R), printed in the invoice footer.
    pub(crate) fn certificate(&self) -> &str {
        self.qr_payload
            .split('*')
            .find_map(|field| field.strip_prefix("R:"))
            .unwrap_or("")
    }
}

/// A NIF starting with `prefix`: random digits up to eight, then the mod-11 check digit.
fn nif(rng: &mut Rng, prefix: &str) -> String {
    let mut digits: Vec<u32> = prefix.chars().filter_map(|c| c.to_digit(10)).collect();
    while digits.len() < 8 {
        digits.push(rng.range(0, 9) as u32);
    }
    let sum: u32 = digits.iter().zip((2..=9).rev()).map(|(d, w)| d * w).sum();
    let check = match 11 - sum % 11 {
        10 | 11 => 0,
        c => c,
    };
    digits.push(check);
    digits.iter().map(|d| char::from(b'0' + *d as u8)).collect()
}

/// A Portuguese IBAN: bank, branch and account make a NIB whose two check digits are
/// 98 − (number × 100 mod 97); the IBAN check digits are ISO 13616's (always 50 for PT).
fn iban(rng: &mut Rng) -> String {
    let bank = rng.pick(BANKS);
    let rest: String = (0..15)
        .map(|_| char::from(b'0' + rng.range(0, 9) as u8))
        .collect();
    let body = format!("{bank}{rest}");
    let nib = format!("{body}{:02}", 98 - mod97(&format!("{body}00")));
    // "PT00" moved to the end, letters as numbers (P = 25, T = 29).
    let check = 98 - mod97(&format!("{nib}252900"));
    format!("PT{check:02}{nib}")
}

fn mod97(digits: &str) -> u32 {
    digits.bytes().fold(0, |acc, b| {
        (acc * 10 + u32::from(b.wrapping_sub(b'0'))) % 97
    })
}

fn random_chars(rng: &mut Rng, alphabet: &[u8], count: usize) -> String {
    (0..count)
        .map(|_| char::from(*rng.pick(alphabet)))
        .collect()
}

fn rate_string(rate: u32) -> String {
    format!("{rate}.00")
}

/// Cents as "1234.56".
fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// "1234.56" as cents; only ever fed this module's own `money` output.
fn cents(amount: &str) -> i64 {
    let (units, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    units.parse::<i64>().unwrap_or(0) * 100 + fraction.parse::<i64>().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use docket_extract::ids::{iban_is_valid, pt_nif_is_valid};

    fn payload_fields(payload: &str) -> HashMap<&str, &str> {
        payload
            .split('*')
            .filter_map(|f| f.split_once(':'))
            .collect()
    }

    #[test]
    fn identifiers_are_valid() {
        for invoice in invoices(200, 7) {
            assert!(
                pt_nif_is_valid(&invoice.supplier_tax_id),
                "{}",
                invoice.supplier_tax_id
            );
            assert!(
                pt_nif_is_valid(&invoice.customer_tax_id),
                "{}",
                invoice.customer_tax_id
            );
            assert!(iban_is_valid(&invoice.iban), "{}", invoice.iban);
            assert!(
                invoice.iban.starts_with("PT50") && invoice.iban.len() == 25,
                "{}",
                invoice.iban
            );
            let (code, sequence) = invoice.atcud.split_once('-').unwrap();
            assert_eq!(code.len(), 8);
            assert!(invoice.invoice_number.ends_with(&format!("/{sequence}")));
        }
    }

    #[test]
    fn totals_add_up() {
        for invoice in invoices(200, 11) {
            assert!((3..=6).contains(&invoice.lines.len()));
            for line in &invoice.lines {
                let quantity_halves = (line.quantity.parse::<f64>().unwrap() * 2.0).round() as i64;
                assert_eq!(
                    cents(&line.total),
                    (quantity_halves * cents(&line.unit_price) + 1) / 2
                );
            }
            let net: i64 = invoice.lines.iter().map(|l| cents(&l.total)).sum();
            assert_eq!(money(net), invoice.net_total);
            let bases: i64 = invoice.vat_breakdown.iter().map(|b| cents(&b.base)).sum();
            let taxes: i64 = invoice.vat_breakdown.iter().map(|b| cents(&b.amount)).sum();
            assert_eq!(bases, net);
            assert_eq!(money(taxes), invoice.tax_total);
            assert_eq!(money(net + cents(&invoice.tax_total)), invoice.gross_total);
            for band in &invoice.vat_breakdown {
                let base: i64 = invoice
                    .lines
                    .iter()
                    .filter(|l| l.vat_rate == band.rate)
                    .map(|l| cents(&l.total))
                    .sum();
                assert_eq!(money(base), band.base);
            }
        }
    }

    #[test]
    fn qr_payload_agrees_with_truth() {
        let all = invoices(100, 3);
        // Every band combination should eventually occur, so the conditional fields are tested.
        assert!(all.iter().any(|i| i.vat_breakdown.len() == 3));
        assert!(all.iter().any(|i| i.vat_breakdown.len() == 1));
        for invoice in &all {
            let fields = payload_fields(&invoice.qr_payload);
            assert_eq!(fields["A"], invoice.supplier_tax_id);
            assert_eq!(fields["B"], invoice.customer_tax_id);
            assert_eq!(
                (fields["C"], fields["D"], fields["E"], fields["I1"]),
                ("PT", "FT", "N", "PT")
            );
            assert_eq!(fields["F"], invoice.invoice_date.replace('-', ""));
            assert_eq!(fields["G"], invoice.invoice_number);
            assert_eq!(fields["H"], invoice.atcud);
            assert_eq!(fields["N"], invoice.tax_total);
            assert_eq!(fields["O"], invoice.gross_total);
            assert_eq!(fields["Q"].len(), 4);
            assert!(fields["R"].len() == 4 && fields["R"].bytes().all(|b| b.is_ascii_digit()));
            for (rate, base, amount) in [
                ("6.00", "I3", "I4"),
                ("13.00", "I5", "I6"),
                ("23.00", "I7", "I8"),
            ] {
                let band = invoice.vat_breakdown.iter().find(|b| b.rate == rate);
                assert_eq!(fields.get(base).copied(), band.map(|b| b.base.as_str()));
                assert_eq!(fields.get(amount).copied(), band.map(|b| b.amount.as_str()));
            }
            assert_eq!(invoice.certificate(), fields["R"]);
        }
    }

    #[test]
    fn deterministic_and_alternating() {
        let a = serde_json::to_string(&invoices(6, 42)).unwrap();
        let b = serde_json::to_string(&invoices(6, 42)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, serde_json::to_string(&invoices(6, 43)).unwrap());
        let longer = invoices(10, 42);
        assert_eq!(
            serde_json::to_string(&longer[..6]).unwrap(),
            a,
            "a larger corpus extends a smaller one"
        );
        let languages: Vec<Language> = longer.iter().map(|i| i.language).take(4).collect();
        assert_eq!(
            languages,
            [
                Language::Portuguese,
                Language::English,
                Language::Portuguese,
                Language::English
            ]
        );
    }

    #[test]
    fn expected_fields_are_normalised() {
        let invoice = &invoices(1, 5)[0];
        let fields: HashMap<&str, String> = invoice.expected_fields().into_iter().collect();
        assert_eq!(fields["Iban"], invoice.iban);
        assert_eq!(fields["GrossTotal"], invoice.gross_total);
        assert_eq!(fields["InvoiceDate"].len(), 10);
        for band in &invoice.vat_breakdown {
            assert_eq!(fields[format!("VatBase:{}", band.rate).as_str()], band.base);
            assert_eq!(
                fields[format!("VatAmount:{}", band.rate).as_str()],
                band.amount
            );
        }
        let address = invoice.supplier_address.join(", ");
        assert_eq!(fields["SupplierAddress"], address);
        assert_eq!(fields.len(), 15 + 2 * invoice.vat_breakdown.len());
    }
}
