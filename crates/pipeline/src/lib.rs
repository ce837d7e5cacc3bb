//! The extraction pipeline: the stages a task goes through (download, format detection, page
//! count, recognition) and the workers that claim them as jobs from the store.

pub mod barcodes;
pub mod detect;
pub mod export;
pub mod fetch;
pub mod folders;
pub mod image_pdf;
pub mod ocr;
pub mod pdf;
pub mod recognize;
pub mod rulings;
pub mod sandbox;
pub mod sweeper;
pub mod webhooks;
mod worker;

pub use worker::{Pipeline, PipelineConfig, Workers};
