//! `xml_content` as `backup_dte`/`add_failed_dte` (text) and the pending documents (base64
//! bytes) hand it in: refused with a `ValidationError` naming the field, or accepted as
//! bytes the engine reads again without a DTD, whatever the declared encoding.
#![no_main]

use dte_sidecar::dte::check_xml;
use dte_sidecar::error::{AppError, AppResult};
use dte_sidecar::input::xml_content::{accept_bytes, accept_text, check_identity};
use libfuzzer_sys::fuzz_target;

fn judged(outcome: AppResult<Vec<u8>>) {
    match outcome {
        Ok(stored) => {
            assert!(check_xml(&stored).is_ok(), "accepted bytes the engine refuses");
            let _ = check_identity("xml_content", &stored, "33", "7");
        }
        Err(AppError::Validation(message)) => assert!(message.english().starts_with("xml_content: "), "{message}"),
        Err(other) => panic!("xml_content gave {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        judged(accept_text("xml_content", text, 1 << 22));
    }
    judged(accept_bytes("xml_content", data.to_vec(), 1 << 22));
});
