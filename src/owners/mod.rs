//! The owners of the tables: one module per record and its lifecycle. Each writes its
//! tables and nobody else does (a test in `tests/it/layers.rs` holds that); the flows
//! above call them. An owner may use another owner, never a flow.

pub mod alerts;
pub mod audit;
pub mod backup;
pub mod company;
pub mod contingency;
pub mod credentials;
pub mod document;
pub mod envelope;
pub mod failed_queue;
pub mod folios;
pub mod health;
pub mod queue_stats;
pub mod retry_history;
