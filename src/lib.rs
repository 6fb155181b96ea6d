//! dte-sidecar: stamps, signs and sends Chilean tax documents (DTE) to the SII for Odoo,
//! and makes sure none is lost and none is sent twice.
//!
//! Layers: `rpc` (the Odoo-compatible face) → `flows` (business flows) → `dte` (the
//! engine) and `store` (PostgreSQL); `settings`, `clock` and `context` hold them together.

pub mod archive;
pub mod clock;
pub mod context;
pub mod dte;
pub mod error;
pub mod flows;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod rpc;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod sii;
pub mod store;
pub mod telemetry;
