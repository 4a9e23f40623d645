//! The engine's I/O: polling Genesys into the store (and, with the retry-engine issue, the
//! background worker). Knows nothing of the UI.

pub mod engine;
pub mod poll;
pub mod routes;
pub mod service;
