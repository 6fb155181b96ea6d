//! The counters and the SII latency histogram of `/metrics`, kept as things happen. The
//! gauges that read the database at scrape time are `flows::gauges`.

/// Counts one document transition.
pub fn transition(to: &'static str) {
    metrics::counter!("dte_document_transitions_total", "to" => to).increment(1);
}

/// Counts one failed upload by the retry queue's error type and the SII error class.
pub fn upload_failure(error_type: &'static str, class: &'static str) {
    metrics::counter!("dte_upload_failures_total", "error_type" => error_type, "class" => class).increment(1);
}

/// Counts retries and how they went.
pub fn retries(outcome: &'static str, count: usize) {
    metrics::counter!("dte_retries_total", "outcome" => outcome).increment(count as u64);
}

/// Times one SII call.
pub fn sii_call(operation: &'static str, outcome: &'static str, seconds: f64) {
    metrics::histogram!("dte_sii_call_seconds", "operation" => operation, "outcome" => outcome).record(seconds);
}

/// Counts one SQL statement sent on a pooled connection.
pub fn sql_statement() {
    metrics::counter!("dte_sql_statements_total").increment(1);
}

/// Counts a call to the SII held back by the cap on calls per minute: `waited` for a
/// slot, or `not_made` when none came in time.
pub fn sii_call_held(operation: &'static str, outcome: &'static str) {
    metrics::counter!("dte_sii_calls_held_total", "operation" => operation, "outcome" => outcome).increment(1);
}

/// The cap on calls per minute to the SII (0: none).
pub fn sii_call_cap(per_minute: u32) {
    metrics::gauge!("dte_sii_call_cap_per_minute").set(f64::from(per_minute));
}
