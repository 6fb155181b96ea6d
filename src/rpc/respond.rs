//! Odoo's error shapes. Internal causes go to the log with a reference, never to the
//! caller.

use serde_json::{json, Value};

use crate::error::AppError;
use crate::message::Message;

/// `error.data` as Odoo 19 serialises an exception, with the message's code and parameters
/// beside it (`code`, `params`): what a caller shows a person comes from those, never from
/// the English `message`.
pub fn error_data(error: &AppError) -> Value {
    let message = said(error);
    let english = message.english();
    json!({
        "name": error.odoo_name().python_name(),
        "message": english,
        "arguments": [english],
        "context": {},
        "debug": "",
        "code": message.code(),
        "params": message.params(),
        "retryable": matches!(error, AppError::Unavailable(_)),
    })
}

/// What the caller is told. A cause kept from the caller goes to the log here, with the
/// reference the caller gets.
pub fn said(error: &AppError) -> Message {
    let reference = format!("{:08x}", rand::random::<u32>());
    match error {
        AppError::Internal(cause) => {
            tracing::error!(reference = %reference, error = %format!("{cause:#}"), "internal error");
        }
        AppError::Unavailable(cause) => {
            tracing::warn!(reference = %reference, error = %format!("{cause:#}"), "database unavailable");
        }
        _ => {}
    }
    error.message(&reference)
}

/// A JSON-RPC 2.0 error envelope, as `/jsonrpc` answers (always HTTP 200).
pub fn jsonrpc_error(id: Value, error: &AppError) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": 0, "message": "Odoo Server Error", "data": error_data(error)},
    })
}
