//! Document understanding on recognised pages: value normalisation, key-values, tables, the
//! Portuguese fiscal QR code, invoice and receipt fields and their line items, and the
//! e-invoice XML a PDF may carry. Pure functions over `domain::text` pages.
pub mod atqr;
pub mod einvoice;
pub mod embedded;
mod fields;
pub mod ids;
pub mod invoice;
pub mod keyvalues;
pub mod language;
pub mod lattice;
pub mod learning;
mod lexicon;
pub mod line_items;
pub mod normalize;
mod parties;
mod qrfields;
pub mod receipt;
pub mod tables;

/// One file per language (`lexicons/*.json`): labels, titles, month names, payment words.
/// Adding a language is adding a file here.
const LEXICON_FILES: [&str; 7] = [
    include_str!("../lexicons/pt.json"),
    include_str!("../lexicons/en.json"),
    include_str!("../lexicons/es.json"),
    include_str!("../lexicons/fr.json"),
    include_str!("../lexicons/de.json"),
    include_str!("../lexicons/nl.json"),
    include_str!("../lexicons/it.json"),
];
