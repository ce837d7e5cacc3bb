//! docket: a self-hosted IDP server speaking the SmartDocumentor External API.
//!
//! Layers: `api` (HTTP) → `domain` (types, state machine, export model) ← `pipeline` (stages and
//! workers) → `store` (SQLite and files). `app` wires them together for `docket serve`, and
//! `server` serves the router under connection limits.

pub mod api;
pub mod app;
pub mod bench;
pub mod corpus;
pub mod domain;
pub mod eval;
pub mod extract;
pub mod pipeline;
pub mod scale;
pub mod server;
pub mod store;
