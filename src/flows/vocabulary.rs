//! The sidecar's whole vocabulary, published so that a caller (the addon) takes its
//! selections from it and can check it knows every code: the states of each lifecycle,
//! the error types, contingency reasons, alert kinds, DTE types, and every message code
//! with its parameters.

use serde_json::{json, Value};

use crate::dte::DteType;
use crate::message::CATALOGUE;
use crate::owners::alerts::RULES;
use crate::owners::contingency::REASONS;
use crate::owners::failed_queue::ErrorType;
use crate::store::state::{DocState, EnvelopeState, PendingState, QueueState};

/// Raised when a published list changes in a way a caller must notice.
pub const VERSION: u32 = 1;

pub fn vocabulary() -> Value {
    json!({
        "version": VERSION,
        "states": {
            "document": DocState::ALL.map(DocState::as_str),
            "queue": QueueState::ALL.map(QueueState::as_str),
            "envelope": EnvelopeState::ALL.map(EnvelopeState::as_str),
            "contingency_pending": PendingState::ALL.map(PendingState::as_str),
        },
        "error_types": ErrorType::ALL.map(ErrorType::as_str),
        "contingency_reasons": REASONS,
        "alert_kinds": RULES,
        "dte_types": DteType::ALL.map(DteType::as_str),
        "messages": CATALOGUE,
    })
}
