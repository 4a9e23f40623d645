//! The Genesys Cloud platform, as `../shared/genesys-api.md` describes it. Knows nothing of the
//! UI or of the store.

pub mod client;
pub mod error;
pub mod execdata;
pub mod model;
pub mod permissions;
pub mod ratelimit;
pub mod region;

pub use client::{Client, ClientOptions};
pub use error::GenesysError;
pub use region::Region;
