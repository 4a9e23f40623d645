//! The Genesys Cloud platform, as `../shared/genesys-api.md` describes it. Knows nothing of the UI.

pub mod region;

pub use region::Region;
