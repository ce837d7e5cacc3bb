//! The language files (`lexicons/*.json`), parsed once: labels per category, role words,
//! document titles, number marks, date links, payment words, legal forms, month names and common
//! words.
//! Key-values, dates and language detection each read what they need from here.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One language's file.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Lexicon {
    /// Its Tesseract language code ("deu").
    #[serde(default)]
    pub(super) tesseract: String,
    /// Labels per category.
    pub(super) labels: BTreeMap<String, Vec<String>>,
    /// Words that make a tax id the customer's or the supplier's ("NIF do cliente").
    pub(super) customer: Vec<String>,
    pub(super) supplier: Vec<String>,
    /// The little words that go with them ("do", "des").
    pub(super) connectors: Vec<String>,
    /// Names of documents that carry a number ("Rechnung", "Credit note"), also as the end of
    /// a compound ("Handelsrechnung").
    #[serde(default)]
    pub(super) titles: Vec<String>,
    /// Words that introduce a document's number ("Nr.", "No.", "Nº").
    #[serde(default)]
    pub(super) number_marks: Vec<String>,
    /// Words between a document's number and its date ("vom", "du", "dated").
    #[serde(default)]
    pub(super) date_links: Vec<String>,
    /// How a receipt was paid ("Cash", "Card", "Transfer") and the words tills print for it.
    #[serde(default)]
    pub(super) payment_methods: BTreeMap<String, Vec<String>>,
    /// Column headers of an item table per column (`Description`, `Quantity`, `UnitPrice`,
    /// `VatRate`, `Amount`).
    #[serde(default)]
    pub(super) line_items: BTreeMap<String, Vec<String>>,
    /// Labels inside a party's block: `Name` ("Name:", "Firma:") and `Address` ("Anschrift:").
    #[serde(default)]
    pub(super) party_lines: BTreeMap<String, Vec<String>>,
    /// Words that stand before a person's name in an address ("Herrn", "Mme").
    #[serde(default)]
    pub(super) salutations: Vec<String>,
    /// Legal forms a company's registered name ends with ("GmbH", "S.A.", "Sdn Bhd").
    #[serde(default)]
    pub(super) legal_forms: Vec<String>,
    /// Word stems of a VAT summary's column headers and labels, folded: `Rate` ("taxa", "%"),
    /// `Base` ("incid", "netto") and `Amount` ("iva", "mwst"). A header mentions a column
    /// when it contains one.
    #[serde(default)]
    pub(super) vat_columns: BTreeMap<String, Vec<String>>,
    /// Month names, January first.
    #[serde(default)]
    pub(super) months: Vec<Vec<String>>,
    /// Words common in the language's documents, to tell which language a page is in.
    #[serde(default)]
    pub(super) common_words: Vec<String>,
}

/// Every language's file, in [`super::LEXICON_FILES`] order.
pub(super) fn all() -> &'static [Lexicon] {
    static PARSED: OnceLock<Vec<Lexicon>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // The files are part of the binary and checked by a test: a broken one is a build bug.
        super::LEXICON_FILES
            .iter()
            .filter_map(|file| serde_json::from_str(file).ok())
            .collect()
    })
}
