//! The dailies server as a library: the `dailies` binary is a thin shell around it, and the
//! integration tests drive the same modules.

pub mod api;
pub mod app;
pub mod cli;
pub mod commands;
pub mod comments;
pub mod config;
pub mod db;
pub mod events;
pub mod ids;
pub mod ingest;
pub mod jobs;
pub mod layout;
pub mod metrics;
pub mod node;
pub mod passwords;
pub mod storage;
pub mod torrents;
