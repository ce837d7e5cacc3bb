//! End-to-end tests of the HTTP API: a real docket on a real SQLite file, driven over HTTP.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod browser;
mod catalog;
mod connections;
mod create;
mod docs;
mod einvoices;
mod errors;
mod export;
mod folders;
mod integration_status;
mod lifecycle;
mod lists;
mod openapi;
mod ops;
mod originals;
mod people;
mod process;
mod reprocess;
mod review;
mod routes;
mod sandbox;
mod storage;
mod understanding;
mod web;
mod webhooks;
