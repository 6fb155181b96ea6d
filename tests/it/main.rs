//! The integration tests, one binary: each file beside this one was a test binary of its
//! own, and each linked the whole crate again. Run one part with a filter, e.g.
//! `cargo test --test it send::` (the module path prefixes every test's name).

// A test fails by panicking: the harness and its helpers unwrap and index as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

mod aggregates;
mod company_binding;
mod contingency;
mod dte_engine;
mod folios;
mod hostile_input;
mod layers;
mod odoo_conventions;
mod operations;
mod printing;
mod process_exit;
mod real_world_forms;
mod records;
mod rpc_face;
mod send;
mod sii;
mod store;
