//! Odoo's error shapes. Internal causes go to the log with a reference, never to the
//! caller.

use serde_json::{json, Value};

use crate::error::AppError;

/// `error.data` as Odoo 19 serialises an exception.
pub fn error_data(error: &AppError) -> Value {
    let message = match error {
        AppError::Internal(cause) => {
            let reference = format!("{:08x}", rand::random::<u32>());
            tracing::error!(reference = %reference, error = %format!("{cause:#}"), "internal error");
            format!("Internal error (reference {reference}); the sidecar's log has the details.")
        }
        other => other.to_string(),
    };
    json!({
        "name": error.odoo_name().python_name(),
        "message": message,
        "arguments": [message],
        "context": {},
        "debug": "",
    })
}

/// A JSON-RPC 2.0 error envelope, as `/jsonrpc` answers (always HTTP 200).
pub fn jsonrpc_error(id: Value, error: &AppError) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": 0, "message": "Odoo Server Error", "data": error_data(error)},
    })
}
