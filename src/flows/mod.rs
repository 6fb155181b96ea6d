//! The flows a request or a job starts: sending (with its retry queue, status polling
//! and the sweep), the contingency drain, the dashboard, the printed TED and the published
//! vocabulary. A flow checks its input, then does its store work through the owners of
//! the tables in one blocking task; SII calls happen between transactions, never inside
//! one.

pub mod alert_checks;
pub mod dashboard;
pub mod drain;
pub mod gauges;
pub mod registration;
pub mod retry;
pub mod send;
pub mod status;
pub mod status_view;
pub mod sweep;
pub mod ted_barcode;
pub mod upload;
pub mod vocabulary;
