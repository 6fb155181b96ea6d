//! The signature verifier (`dte-sidecar verify`, `verify-file`): any bytes give a report or
//! an error; and the signed getToken requests the SII simulator checks.
#![no_main]

mod common;

use dte_sidecar::dte::{verify_document, verify_get_token_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = verify_document(data, common::schemas(), common::trust()) {
        let _ = (report.is_valid(), report.problems());
    }
    let _ = verify_get_token_request(data);
});
