//! docket: a self-hosted IDP server speaking the SmartDocumentor External API.

pub mod domain;
pub mod pipeline;
pub mod store;
