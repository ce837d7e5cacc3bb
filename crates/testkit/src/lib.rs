//! What docket is measured and tested with, kept out of the server: the generated corpus
//! (invoices, receipts, scans and hostile files, each with its ground truth), hand-built
//! recognised text (`text`), `bench`
//! (recognition speed and accuracy) and `scale` (the API and workers at a million tasks). The
//! `docket-bench` program runs the two benchmarks.

pub mod bench;
pub mod corpus;
pub mod scale;
pub mod text;
