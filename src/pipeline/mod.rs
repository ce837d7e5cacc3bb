//! The extraction pipeline: the stages a task goes through (download, format detection, page
//! count, recognition) and the workers that claim them as jobs from the store.

pub mod detect;
pub mod fetch;
pub mod pdf;
mod worker;

pub use worker::{Pipeline, PipelineConfig, Workers};
