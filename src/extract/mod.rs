//! Document understanding on recognised pages: value normalisation, key-values, tables, the
//! Portuguese fiscal QR code, invoice and receipt fields, and the e-invoice XML a PDF may
//! carry. Pure functions over `domain::text` pages.
pub mod atqr;
pub mod einvoice;
pub mod embedded;
mod fields;
pub mod ids;
pub mod invoice;
pub mod keyvalues;
pub mod lattice;
pub mod normalize;
mod qrfields;
pub mod receipt;
pub mod tables;
