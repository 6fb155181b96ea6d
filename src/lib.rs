//! dte-sidecar: stamps, signs and sends Chilean tax documents (DTE) to the SII for Odoo,
//! and makes sure none is lost and none is sent twice.
//!
//! Layers, each importing only its own layer and the ones below (`tests/it/layers.rs` checks
//! it, and that no files import one another in a circle):
//!
//! ```text
//! server                                   HTTP wiring
//! rpc, jobs                                the Odoo-compatible doors; apalis jobs and crons
//! flows                                    business flows
//! context, keys                            what every flow receives; loaded keys and schemas
//! sii, store, archive, mail                the SII, PostgreSQL, the backup copy, SMTP
//! dte                                      the engine (no database, no HTTP)
//! error, clock, settings, secrets,         ground floor
//! telemetry, metrics (counters)
//! ```

pub mod archive;
pub mod clock;
pub mod context;
pub mod dte;
pub mod error;
pub mod flows;
pub mod input;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod message;
pub mod metrics;
pub mod owners;
pub mod rpc;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod sii;
pub mod store;
pub mod telemetry;
