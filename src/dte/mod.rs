//! The DTE engine: pure functions over documents, keys and XML. No database, no HTTP.

pub mod rut;
