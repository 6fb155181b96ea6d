//! Business flows of the specification: sending (with its retry queue, status polling and
//! the sweep), backups, contingency, companies with their certificates and folios, the
//! audit log and alerts. Each flow checks its input, then does its store work in one
//! blocking task; SII calls happen between transactions, never inside one.

pub mod alert_checks;
pub mod alerts;
pub mod args;
pub mod audit;
pub mod backup;
pub mod company;
pub mod contingency;
pub mod credentials;
pub mod dashboard;
pub mod document;
pub mod drain;
pub mod envelope;
pub mod failed_queue;
pub mod folios;
pub mod gauges;
pub mod health;
pub mod queue_stats;
pub mod retry;
pub mod retry_history;
pub mod send;
pub mod status;
pub mod status_view;
pub mod sweep;
pub mod ted_barcode;
pub mod upload;
pub mod vocabulary;
pub mod xml_content;
