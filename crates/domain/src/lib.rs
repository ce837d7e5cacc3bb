//! Domain types: task and integration statuses, the task state machine, validated values,
//! workspace templates, tenants, people and roles, review edits, tasks and jobs as stored, recognised text and the export model.
//! No I/O here.

pub mod credentials;
pub mod export;
pub mod job;
pub mod learning;
pub mod lifecycle;
pub mod links;
pub mod people;
pub mod review;
pub mod status;
pub mod task;
pub mod tenant;
pub mod text;
pub mod understanding;
pub mod values;
pub mod webhook;
pub mod workspace;

pub use status::{IntegrationStatus, TaskStatus};
pub use values::{ExternalId, ExternalIntegrationStatus, Invalid, Priority, Timestamp};
pub use workspace::WorkspaceTemplate;
