//! Document understanding on recognised pages: value normalisation, key-values, tables, the
//! Portuguese fiscal QR code, and invoice and receipt fields. Pure functions over `domain::text` pages.
pub mod atqr;
mod fields;
pub mod ids;
pub mod invoice;
pub mod keyvalues;
pub mod lattice;
pub mod normalize;
pub mod tables;
