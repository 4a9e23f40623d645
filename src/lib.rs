//! redrive: a terminal console and headless engine for Genesys Cloud's failed outbound
//! webhook calls. See README.md for what works today.

pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod genesys;
pub mod relay;
pub mod retry;
pub mod sim;
pub mod store;
pub mod text;
pub mod time;
pub mod transfer;
pub mod ui;
pub mod worker;
