#![allow(dead_code)]

pub mod fixtures;
pub mod receiver;
pub mod server;
