//! docket: a self-hosted IDP server speaking the SmartDocumentor External API.
//!
//! The layers are crates, and their graph is the layering: `api` (HTTP) → `pipeline` (stages and
//! workers) → `extract` (understanding) / `store` (SQLite or PostgreSQL, and files) → `domain`.
//! This crate wires them together: `app` for `docket serve` and `docket worker`, `server` serves
//! the router under connection limits, `eval` measures extraction on real documents. The layers
//! are re-exported under their short names.

pub use docket_api as api;
pub use docket_domain as domain;
pub use docket_extract as extract;
pub use docket_pipeline as pipeline;
pub use docket_store as store;

pub mod app;
pub mod eval;
pub mod server;
